"""Sweep stabilisers and their weights per divergence on the ring and the grid, scored as ``fgan reproduce modes``
(10,000 samples: modes covered within 3 std, at least 20 samples a mode, and the share of high-quality samples).

A setting is ``none`` or stabilisers joined by ``+``, each with an optional weight after a colon (``roth:0.5``,
``r1:1+ema``, ``noise:0.2+sn``; see fgan.stabilizers). One JSON line per run is appended to ``--out``; a rerun skips
the runs already there, so an interrupted sweep resumes where it stopped.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/stabilizer_sweep.py --out sweep.jsonl \\
        [--datasets ring grid] [--divergences kl js ...] [--settings none roth:0.1 r1:1 ...] [--seeds 0 1 2] \\
        [--steps 3000] [--networks 256x3,128x3] [--latent-dim 2]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from fgan.datasets import synthetic_mixture
from fgan.experiments.mode_coverage import DATASETS, MODE_DIVERGENCES, default_config, train_one
from fgan.runner import ModelConfig
from fgan.stabilizers import STABILIZERS, WEIGHT_DEFAULTS
from fgan.training import TrainConfig

DEFAULT_SETTINGS = ("none", "roth:0.1", "roth:1", "r1:0.1", "r1:1", "r2:0.1", "sn", "noise:0.1", "ema")


def setting_options(setting: str) -> dict[str, Any]:
    """The TrainConfig changes of a setting (``roth:0.5+ema`` -> stabilizer ("roth", "ema"), roth_gamma 0.5)."""
    if setting == "none":
        return {"stabilizer": ("none",)}
    names, weights = [], {}
    for part in setting.split("+"):
        name, _, weight = part.partition(":")
        if name not in STABILIZERS:
            raise SystemExit(f"unknown stabiliser {name!r} in {setting!r}; valid: {', '.join(STABILIZERS)}")
        names.append(name)
        if weight:
            weights[WEIGHT_DEFAULTS[name][0]] = float(weight)
    return {"stabilizer": tuple(names), **weights}


#: ``fgan train``'s networks for synthetic data, as ``--networks`` writes them.
_DEFAULT_MODEL = ModelConfig()
DEFAULT_NETWORKS = (
    f"{_DEFAULT_MODEL.generator_hidden}x{_DEFAULT_MODEL.generator_depth},"
    f"{_DEFAULT_MODEL.critic_hidden}x{_DEFAULT_MODEL.critic_depth}"
)


def network_sizes(networks: str, latent_dim: int | None = None) -> ModelConfig:
    """The ModelConfig of ``--networks`` (``256x3,128x3``: generator units x hidden layers, critic likewise) and
    ``--latent-dim`` (None: the model's default)."""
    try:
        (g_hidden, g_depth), (c_hidden, c_depth) = (map(int, part.split("x")) for part in networks.split(","))
    except ValueError:
        raise SystemExit(f"--networks {networks!r}: expected GENERATOR_UNITSxLAYERS,CRITIC_UNITSxLAYERS") from None
    return ModelConfig(
        latent_dim=latent_dim,
        generator_hidden=g_hidden,
        generator_depth=g_depth,
        critic_hidden=c_hidden,
        critic_depth=c_depth,
    )


def done_keys(out: Path) -> set[tuple[str, str, str, int, int, str, int]]:
    """The (data set, divergence, setting, seed, steps, networks, latent size) of the runs ``out`` already holds."""
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {
        (
            row["dataset"],
            row["divergence"],
            row["setting"],
            row["seed"],
            row["steps_asked"],
            row.get("networks", DEFAULT_NETWORKS),
            row["latent_dim"],
        )
        for row in rows
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file, appended to")
    parser.add_argument("--datasets", nargs="+", default=["ring"], choices=DATASETS)
    parser.add_argument("--divergences", nargs="+", default=list(MODE_DIVERGENCES))
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=default_config().steps)
    parser.add_argument("--networks", default=DEFAULT_NETWORKS, help="generator and critic sizes, UNITSxLAYERS each")
    parser.add_argument(
        "--latent-dim", type=int, default=None, help="size of z (default: the model's, the data's dimension)"
    )
    args = parser.parse_args()
    model = network_sizes(args.networks, args.latent_dim)
    done = done_keys(args.out)
    for setting in args.settings:  # a setting over every divergence first, so a partial sweep compares settings
        changes = setting_options(setting)
        for dataset in args.datasets:
            for divergence in args.divergences:
                for seed in args.seeds:
                    latent_dim = model.resolved(dataset, synthetic_mixture(dataset).dim).latent_dim
                    if (dataset, divergence, setting, seed, args.steps, args.networks, latent_dim) in done:
                        continue
                    config: TrainConfig = replace(default_config(steps=args.steps, seed=seed), **changes)
                    row, _ = train_one(dataset, divergence, config, model=model)
                    line = {
                        "setting": setting,
                        "steps_asked": args.steps,
                        "networks": args.networks,
                        "latent_dim": latent_dim,
                        **asdict(row),
                    }
                    with open(args.out, "a") as file:
                        file.write(json.dumps(line) + "\n")
                    print(
                        f"{dataset} {row.divergence} {setting} seed {seed}: {row.modes_covered}/{row.n_modes} modes, "
                        f"{row.high_quality_share} high quality, {row.seconds:.0f} s ({row.status})",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
