"""The table of divergences in docs/divergences.md, written from the classes' formula strings."""

from __future__ import annotations

from fgan.divergences.registry import describe_divergences

#: The columns of the table: key of :func:`describe_divergences` and heading.
TABLE_COLUMNS = {
    "name": "name",
    "f": "f(u)",
    "activation": "g_f(v)",
    "conjugate": "f*(t)",
    "domain": "dom f*",
    "fused": "f*(g_f(v)) as computed",
    "f_prime_one": "f'(1)",
}


def _markdown_cell(text: str) -> str:
    return text.replace("|", r"\|").replace("*", r"\*")


def markdown_table() -> str:
    """The Markdown table of every registered divergence with formulas, one row per name form."""
    rows = describe_divergences()
    lines = [
        "| " + " | ".join(_markdown_cell(title) for title in TABLE_COLUMNS.values()) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    for row in rows:
        cells = [f"`{row['name']}`", *(_markdown_cell(row[key]) for key in list(TABLE_COLUMNS)[1:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
