"""The f-divergences of the f-GAN paper, the numeric CustomDivergence and the one registry of their names.

Modules: :mod:`~fgan.divergences.base` (the :class:`Divergence` base class: what a new divergence implements),
:mod:`~fgan.divergences.closed_forms` (the paper's divergences), :mod:`~fgan.divergences.custom` (the numeric
:class:`CustomDivergence` from any convex f), :mod:`~fgan.divergences.expression` (the safe ``f:EXPR`` compiler),
:mod:`~fgan.divergences.registry` (names: ``tv, kl, reverse-kl, pearson, neyman, hellinger, jeffrey,
jeffrey-ratio, js, gan, js-weighted:PI, alpha:A, f:EXPR`` and your own) and :mod:`~fgan.divergences.table` (the
docs table).
"""

from fgan.divergences.base import Divergence, interval_text
from fgan.divergences.closed_forms import (
    GAN,
    Alpha,
    Jeffrey,
    JeffreyRatio,
    JensenShannon,
    JensenShannonWeighted,
    KullbackLeibler,
    Neyman,
    Pearson,
    ReverseKL,
    SquaredHellinger,
    TotalVariation,
)
from fgan.divergences.custom import CustomDivergence
from fgan.divergences.expression import parse_f_expression
from fgan.divergences.registry import (
    BUILTIN_ENTRIES,
    EXAMPLE_DIVERGENCES,
    PAPER_DIVERGENCES,
    NamedEntry,
    ParametricEntry,
    describe_divergences,
    get_divergence,
    list_divergences,
    number_parameter,
    register_divergence,
    register_parametric_divergence,
)
from fgan.divergences.table import markdown_table

__all__ = [
    "BUILTIN_ENTRIES",
    "EXAMPLE_DIVERGENCES",
    "GAN",
    "PAPER_DIVERGENCES",
    "Alpha",
    "CustomDivergence",
    "Divergence",
    "Jeffrey",
    "JeffreyRatio",
    "JensenShannon",
    "JensenShannonWeighted",
    "KullbackLeibler",
    "NamedEntry",
    "Neyman",
    "ParametricEntry",
    "Pearson",
    "ReverseKL",
    "SquaredHellinger",
    "TotalVariation",
    "describe_divergences",
    "get_divergence",
    "interval_text",
    "list_divergences",
    "markdown_table",
    "number_parameter",
    "parse_f_expression",
    "register_divergence",
    "register_parametric_divergence",
]
