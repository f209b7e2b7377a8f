"""What every experiment of ``fgan reproduce NAME`` is: a name, a one-line summary, an ``Options`` dataclass whose
fields are the user's options (declared with :func:`fgan.options.option`; a nested config such as ``TrainConfig``
is a field too), ``run(options, out)`` that does all the work and writes every output, ``format(result)`` (the
printed table) and ``to_json(result)``.

An experiment's output folder holds ``config.json`` = ``{"experiment": NAME, ...settings}``; a folder that holds a
run or another experiment is refused unless forced, and an experiment that resumes continues only with the
settings it started with (:func:`open_experiment_folder`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from fgan.errors import UsageError
from fgan.runs import CONFIG_FILE, default_out, prepare_run_dir, read_config, write_json

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

OptionsT = TypeVar("OptionsT")
#: A row of an experiment's table: a dataclass instance.
RowT = TypeVar("RowT", bound="DataclassInstance")
#: Receives one line of progress (or a note about the data) at a time.
Progress = Callable[[str], None]
#: Settings that may change when an experiment resumes: the device and the progress display of its training.
RESUME_MAY_CHANGE = ("quiet", "device")


@dataclass
class ExperimentResult(Generic[RowT]):
    """The rows of an experiment (each a dataclass) and the folder of its outputs (None for one that writes none)."""

    rows: list[RowT]
    out: Path | None = None

    @property
    def folder(self) -> Path:
        """``out``, of an experiment that writes its outputs into a folder (:attr:`Experiment.writes_folder`)."""
        assert self.out is not None, "an experiment that writes a folder returns it in its result"
        return self.out


class Experiment(ABC, Generic[OptionsT, RowT]):
    """One experiment of ``fgan reproduce``.

    Attributes:
        name: the subcommand, e.g. ``gaussian-mixture``.
        summary: one line for ``--help``.
        Options: the dataclass of its options; ``Options()`` holds the defaults.
        writes_folder: False for an experiment that writes no files (its ``out`` is ignored).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Options: ClassVar[type]
    #: Whether ``run`` writes its outputs into a folder (``out``).
    writes_folder: ClassVar[bool] = True

    @abstractmethod
    def run(
        self, options: OptionsT, out: Path | None = None, progress: Progress | None = None
    ) -> ExperimentResult[RowT]:
        """Run the experiment with ``options`` into the folder ``out`` (None: a new folder under runs/, for the
        experiments that write files), writing every output; ``progress`` receives a line before each fit."""

    @abstractmethod
    def format(self, result: ExperimentResult[RowT]) -> str:
        """The table the command line prints (and where the outputs were written)."""

    def to_json(self, result: ExperimentResult[RowT]) -> Any:
        """The rows of ``result`` as JSON values."""
        return [asdict(row) for row in result.rows]


def quiet(message: str) -> None:
    """A :data:`Progress` that says nothing."""


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    """The settings of an experiment's config.json that must match on resume (the divergences, and the variants of
    ``fgan reproduce mnist``, may grow)."""
    train = {key: value for key, value in values.get("train", {}).items() if key not in RESUME_MAY_CHANGE}
    return {**{key: value for key, value in values.items() if key not in ("divergences", "variants")}, "train": train}


def check_same_experiment(out: Path, name: str, settings: dict[str, Any]) -> None:
    """Raise UsageError unless ``out`` holds experiment ``name`` started with ``settings`` (more divergences and
    variants may be added, and the device and progress display may change)."""
    saved = read_config(out)
    if saved.get("experiment") != name:
        held = f"the {saved['experiment']} experiment" if "experiment" in saved else "a training run"
        raise UsageError(f"{out} holds {held}, not {name}; give its own command, or a new --out")
    current = _comparable(json.loads(json.dumps({"experiment": name, **settings})))
    changed = [key for key, value in current.items() if _comparable(saved).get(key) != value]
    if changed:
        raise UsageError(
            f"the experiment in {out} was started with other settings ({', '.join(changed)}); "
            "give the same options, or a new --out"
        )


def open_experiment_folder(
    name: str,
    out: Path | None,
    settings: dict[str, Any],
    force: bool = False,
    resume: bool = False,
    prefix: str | None = None,
) -> Path:
    """The prepared output folder of experiment ``name``, with ``config.json`` = ``{"experiment": name,
    **settings}`` written.

    ``out`` None is a new folder ``runs/PREFIX-TIME`` (``prefix`` defaults to the name). A folder that holds a run
    or an experiment is refused unless ``force``; with ``resume`` it must hold this experiment with the same
    settings (:func:`check_same_experiment`).
    """
    if resume:
        if out is None:
            raise UsageError("--resume needs the --out folder of the experiment to continue")
        check_same_experiment(out, name, settings)
    folder = prepare_run_dir(out or default_out(prefix or name), force=force or resume)
    write_json(folder / CONFIG_FILE, {"experiment": name, **settings})
    return folder


def written(out: Path, *names: str) -> str:
    """The line that names the files an experiment wrote into ``out``."""
    return "written: " + ", ".join(str(out / name) for name in names)
