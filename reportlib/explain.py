"""Sentences that say where a change came from and what is happening below a node.

Used by the pack's executive summary and by the draft commentary, so both say the same
thing in the same words: "CSAT −3.1 pp: SMB · LATAM −2.4 pp, the rest −0.7 pp".
"""

from __future__ import annotations

from dataclasses import dataclass

from .comparison import ADDITIVE_UNITS
from .decomposition import Decomposition, decompose, leaders
from .formatting import format_delta
from .packdata import Mover, PackContext, movers


@dataclass(frozen=True)
class ChangeSource:
    """A mover of a parent with its split over the children and the sentence that says it."""

    mover: Mover
    split: Decomposition
    sentence: str


def _delta(ctx: PackContext, value: float, unit: str) -> str:
    return format_delta(value, unit, ctx.project.settings.currency, ctx.project.settings.locale)


def change_sentence(ctx: PackContext, split: Decomposition, name: str, unit: str) -> str:
    """`CSAT −3.1 pp: SMB · LATAM −2.4 pp (rate −2.0, mix −0.4), the rest −0.7 pp.`

    The named children are `decomposition.leaders`; each carries its rate and mix effects
    when both show at the printed precision, and "the rest" sums the others, so the figures add up to the change
    (up to rounding of the printed figures).
    """
    named = leaders(split)
    parts = []
    for c in named:
        text = f"{c.node.name} {_delta(ctx, c.total, unit)}"
        rate, mix = _delta(ctx, c.rate, unit), _delta(ctx, c.mix, unit)
        if unit not in ADDITIVE_UNITS and not rate.startswith("±") and not mix.startswith("±"):
            text += f" (rate {rate}, mix {mix})"
        parts.append(text)
    rest = split.contributions[len(named) :]
    if rest:
        others = sum(c.total for c in rest)
        label = "the rest" if len(rest) > 1 else rest[0].node.name
        parts.append(f"{label} {_delta(ctx, others, unit)}")
    return f"{name} {_delta(ctx, split.delta, unit)}: " + ", ".join(parts) + "."


def change_sources(ctx: PackContext) -> tuple[ChangeSource, ...]:
    """For each of the node's movers, its split over the children (DOMAIN.md §9), when it splits.

    Empty for a node without children; a mover whose children do not reproduce it (a
    median, a ratio of two bases, a manual value) is left out rather than guessed.
    """
    if not ctx.tree.children(ctx.node.id):
        return ()
    out = []
    for m in movers(ctx):
        split = decompose(
            ctx.history,
            ctx.tree,
            ctx.node.id,
            m.kpi.id,
            ctx.period,
            additive=m.kpi.unit in ADDITIVE_UNITS,
        )
        if split is None or not split.contributions:
            continue
        out.append(ChangeSource(m, split, change_sentence(ctx, split, m.kpi.name, m.kpi.unit)))
    return tuple(out)


WITHHELD = (
    "not split: the figures below do not combine into it "
    "(a median, a ratio of two counts or a manual value)"
)
"""Why a mover's change is not split (DOMAIN.md §9: a result that does not meet its rule is
not shown as a finding, but its absence is said)."""


def split_sentences(ctx: PackContext) -> tuple[str, ...]:
    """For each of the node's movers, in order: its split over the children (as
    `change_sources`), or `KPI −3.1 pp: not split ...` when the split is withheld.

    Empty for a node without children.
    """
    if not ctx.tree.children(ctx.node.id):
        return ()
    found = {s.mover.kpi.id: s.sentence for s in change_sources(ctx)}
    return tuple(
        found.get(m.kpi.id) or f"{m.kpi.name} {_delta(ctx, m.delta, m.kpi.unit)}: {WITHHELD}."
        for m in movers(ctx)
    )


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 escalation`, `9 escalations`."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def where_line(counts: list[tuple[str, int]], most: int = 3) -> str:
    """`9 in SMB · LATAM, 2 in Enterprise · LATAM and 1 elsewhere` (largest first)."""
    counts = sorted((c for c in counts if c[1]), key=lambda c: -c[1])
    named = [f"{n} in {name}" for name, n in counts[:most]]
    rest = sum(n for _, n in counts[most:])
    if rest:
        named.append(f"{rest} elsewhere")
    if len(named) <= 1:
        return "".join(named)
    return ", ".join(named[:-1]) + " and " + named[-1]
