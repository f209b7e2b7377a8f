"""The critic's objective: its terms' values, their declared properties against autograd, and the route of the
generator's gradient derived from them."""

from __future__ import annotations

import inspect
import itertools

import pytest
import torch
from torch import Tensor

from fgan.critic_objective import CriticBatch, CriticObjective, ObjectiveTerm, generator_gradient_route
from fgan.divergences import EXAMPLE_DIVERGENCES, get_divergence
from fgan.models import MLPCritic
from fgan.objectives import GENERATOR_OBJECTIVES, generator_loss, variational_bound

#: The weight keywords of CriticObjective, one per optional term, and every subset of them (the one-pass tests of
#: tests/test_step.py enumerate these too).
TERM_WEIGHTS = [
    name
    for name, parameter in inspect.signature(CriticObjective).parameters.items()
    if parameter.kind is parameter.KEYWORD_ONLY
]
TERM_SETS = [subset for size in range(len(TERM_WEIGHTS) + 1) for subset in itertools.combinations(TERM_WEIGHTS, size)]


def every_term(divergence: str) -> CriticObjective:
    return CriticObjective(get_divergence(divergence), **dict.fromkeys(TERM_WEIGHTS, 0.1))


def test_every_objective_term_of_fgan_is_enumerated() -> None:
    built = {
        type(term)
        for weights in TERM_SETS
        for term in CriticObjective(get_divergence("kl"), **dict.fromkeys(weights, 0.1)).terms
    }
    declared = {term for term in ObjectiveTerm.__subclasses__() if term.__module__.startswith("fgan.")}
    assert declared and built == declared and type(every_term("kl").terms[0]).__name__ == "NegatedBound"


def outputs(seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(64, generator=generator, dtype=torch.float64), torch.randn(
        64, generator=generator, dtype=torch.float64
    )


def of_outputs(real: Tensor, fake: Tensor) -> CriticBatch:
    """A batch of the critic outputs alone (no inputs: for the terms that read only the outputs)."""
    return CriticBatch(torch.empty(0), torch.empty(0), real, fake)


def critic_batch(seed: int = 0) -> CriticBatch:
    """A small float64 critic's batch on 64 real and 64 generated 2-D samples (inputs that require gradients)."""
    generator = torch.Generator().manual_seed(seed)
    real, fake = (torch.randn(64, 2, generator=generator, dtype=torch.float64).requires_grad_(True) for _ in "rf")
    torch.manual_seed(seed)
    critic = MLPCritic(2, 16).double()
    return CriticBatch(real, fake, critic(real), critic(fake))


def test_the_objective_is_minus_the_bound_plus_the_output_penalty_bit_for_bit() -> None:
    divergence = get_divergence("js")
    real, fake = outputs()
    bound, loss = CriticObjective(divergence)(of_outputs(real, fake))
    assert torch.equal(bound, variational_bound(divergence, real, fake)) and torch.equal(loss, -bound)
    bound, loss = CriticObjective(divergence, output_penalty=0.3)(of_outputs(real, fake))
    assert torch.equal(loss, -bound + 0.5 * 0.3 * (real.square().mean() + fake.square().mean()))
    assert [term.name for term in CriticObjective(divergence, output_penalty=0.3).terms] == [
        "variational bound",
        "output penalty",
    ]
    assert len(CriticObjective(divergence, output_penalty=0.0).terms) == 1


@pytest.mark.parametrize("objective", GENERATOR_OBJECTIVES)
@pytest.mark.parametrize("divergence", EXAMPLE_DIVERGENCES)
def test_each_term_declares_what_autograd_finds(divergence: str, objective: str) -> None:
    """``negated_by``: the generator's loss has minus the term's gradient at the generated outputs; ``none``: the
    term has no gradient at the generated samples (nor at their outputs)."""
    batch = critic_batch(1)
    fake = batch.critic_fake
    for term in every_term(divergence).terms:
        term_gradient, input_gradient = torch.autograd.grad(
            term(batch), [fake, batch.fake], allow_unused=True, retain_graph=True
        )
        if term.generated == "none":
            assert term_gradient is None or not term_gradient.any()
            assert input_gradient is None or not input_gradient.any()
        if objective in term.negated_by:
            loss = generator_loss(get_divergence(divergence), fake, objective)
            (generator_gradient,) = torch.autograd.grad(loss, fake)
            torch.testing.assert_close(generator_gradient, -term_gradient)


class RealOnly(ObjectiveTerm):
    """A term on the real samples alone (as R1 would be)."""

    name = "real-only term"
    generated = "none"
    negated_by = frozenset()

    def __call__(self, batch: CriticBatch) -> Tensor:
        return batch.critic_real.square().mean()


class BeyondOutputs(ObjectiveTerm):
    """A term that depends on the generated samples other than through the critic outputs (as R2 would)."""

    name = "beyond-outputs term"
    generated = "other"
    negated_by = frozenset()

    def __call__(self, batch: CriticBatch) -> Tensor:
        return batch.critic_fake.mean()


def route(objective: CriticObjective, generator_objective: str, couples_samples: bool) -> str:
    return generator_gradient_route(objective, generator_objective, couples_samples).kind


@pytest.mark.parametrize("couples", [False, True])
def test_the_route_follows_from_the_declarations(couples: bool) -> None:
    kl = get_divergence("kl")
    plain, penalised = CriticObjective(kl), CriticObjective(kl, output_penalty=0.1)
    assert route(plain, "minimax", couples) == "reversal"
    one_pass_or_second = "second pass" if couples else "rescaling"
    assert route(plain, "alternative", couples) == one_pass_or_second
    assert route(penalised, "minimax", couples) == one_pass_or_second
    with_real_only, beyond = CriticObjective(kl), CriticObjective(kl)
    with_real_only.terms = (*with_real_only.terms, RealOnly())
    beyond.terms = (*beyond.terms, BeyondOutputs())
    assert route(with_real_only, "minimax", couples) == "reversal"  # no term but the bound on the generated samples
    assert route(beyond, "minimax", couples) == "second pass"
    assert route(beyond, "alternative", couples) == "second pass"
    assert "beyond-outputs term" in generator_gradient_route(beyond, "alternative", couples).reason
