"""Headlines: each page of the pack states its point in one sentence written from the figures.

Every function here is pure: it takes the records a page prints (already formatted, so a
headline never formats a number differently from the page beneath it) or a few plain
`Figure`s, and returns one sentence. The rules that keep a headline honest:

- significance is claimed only where the scorecard records a tested, significant change
  (`Cell.significant`, DOMAIN.md §4); a census change is never called significant;
- a score without enough of its weight scored says "not scored" with its coverage (§6),
  a KPI with too few responses says "insufficient", never "on target";
- a status whose 95% interval crosses the line it was judged against says "uncertain".

Section names stay short (bookmarks, contents); the headline sits under the name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .render.records import Escalations, KpiView, PerspectiveView, Score

MAX_NAMES = 3
"""At most this many names listed in one clause; the rest are counted."""

_BRACKETS = re.compile(r"\s*\(([^()]*)\)")
_ACRONYM = re.compile(r"^[a-z]?[A-Z]{2,}$")

STATUS_WORDS = {
    "green": "on target",
    "amber": "below target",
    "red": "off target",
}
"""How a status reads in a sentence (amber: between the red line and the target, §5)."""


@dataclass(frozen=True)
class Figure:
    """A node's or channel's figure for a comparison headline: its number (to rank) and text."""

    name: str
    value: float | None
    text: str
    status: str = ""
    low: float | None = None
    high: float | None = None
    """The 95% interval, when the figure is a survey estimate."""


def short_name(name: str) -> str:
    """`CSAT` for "Customer satisfaction (CSAT)"; "Revenue growth" for "Revenue growth (YoY)"."""
    acronyms = [a.strip() for a in _BRACKETS.findall(name) if _ACRONYM.match(a.strip())]
    return acronyms[0] if acronyms else _BRACKETS.sub("", name).strip() or name


OWN_PHRASES = ("all KPIs", "no KPI", "not scored")


def sentence_case(text: str) -> str:
    """`All KPIs with a target on target`; `eNPS off target` left as it is."""
    return text[:1].upper() + text[1:] if text.startswith(OWN_PHRASES) else text


def names(items: Sequence[str], most: int = MAX_NAMES) -> str:
    """`A`, `A and B`, `A, B and C`, `A, B, C and 2 more`."""
    items = list(items)
    if len(items) <= most:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return ", ".join(items[:most]) + f" and {len(items) - most} more"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else words or word + 's'}"


def score_phrase(score: Score) -> str:
    """`6.8, below target`; `not scored (1 of 4 perspectives scored)`; `no score`."""
    if score.status_id == "insufficient":
        return f"not scored ({score.coverage})" if score.coverage else "not scored"
    if score.status_id in STATUS_WORDS:
        return f"{score.score}, {STATUS_WORDS[score.status_id]}"
    return "no score"


def summary(
    overall: Score,
    escalations: int,
    below: int = 0,
    below_top: tuple[str, int] | None = None,
    overdue: int = 0,
) -> str:
    """`Overall 6.8, below target; 3 KPIs escalated; 9 below, 7 in SMB · LATAM`."""
    text = f"Overall {score_phrase(overall)}"
    if escalations:
        text += f"; {plural(escalations, 'KPI')} escalated"
        if overdue:
            text += f", {plural(overdue, 'action')} overdue"
    elif below:
        text += "; no escalation here"
    else:
        text += "; no escalations"
    return text + below_clause(below, below_top)


def _status_clause(kpis: Sequence[KpiView], status: str) -> str:
    hit = [k for k in kpis if k.status_id == status]
    if not hit:
        return ""
    text = f"{names([short_name(k.name) for k in hit])} {STATUS_WORDS[status]}"
    unsure = [short_name(k.name) for k in hit if k.uncertain]
    if unsure:
        text += " (uncertain)" if len(unsure) == len(hit) else f" ({names(unsure)} uncertain)"
    return text


def notable_change(kpis: Sequence[KpiView], change: str = "MoM") -> str:
    """`NPS +7.8 MoM, significant`: the first significant change, unfavourable first, on the
    previous period (`change`: "MoM", "QoQ", "vs last year") before year on year; "" when
    the scorecard records none as significant. A KPI with fewer responses than its minimum
    is not judged, so its change is not news either (the movers table's rule)."""
    judged = [k for k in kpis if not k.low_n and k.status_id != "insufficient"]
    for which, label in (("mom", change), ("yoy", "YoY")):
        for tone in ("bad", "good"):
            for k in judged:
                cell = k.mom if which == "mom" else k.yoy
                if cell.significant and cell.tone == tone:
                    return f"{short_name(k.name)} {cell.text} {label}, significant"
    return ""


def kpi_judgement(kpis: Sequence[KpiView]) -> list[str]:
    """The clauses on a set of KPIs: off target, below target, insufficient, or all on target."""
    parts = [c for c in (_status_clause(kpis, "red"), _status_clause(kpis, "amber")) if c]
    if not parts:
        judged = [k for k in kpis if k.status_id == "green"]
        if judged:
            parts.append(
                "all KPIs with a target on target"
                if len(judged) > 1
                else f"{short_name(judged[0].name)} on target"
            )
    few = [short_name(k.name) for k in kpis if k.status_id == "insufficient"]
    if few:
        parts.append(f"{names(few)} insufficient (too few responses)")
    if not parts:
        parts.append("no KPI judged against a target")
    return parts


def _perspective_parts(g: PerspectiveView, with_score: bool, change: str) -> list[str]:
    parts = kpi_judgement(g.kpis)
    if with_score and g.score.status_id == "insufficient":
        parts.insert(0, score_phrase(g.score))
    moved = notable_change(g.kpis, change)
    return [*parts, moved] if moved else parts


def perspective(g: PerspectiveView, change: str = "MoM") -> str:
    """`CSAT and CES below target; NPS +7.8 YoY, significant`: the point of a perspective's
    page, printed under its name and score (where a perspective without a score already
    says why, so the sentence does not repeat it; `perspective_sentence` does)."""
    text = "; ".join(_perspective_parts(g, with_score=False, change=change))
    # Only this module's own phrases start lower case; a KPI name such as eNPS stays as it is.
    return sentence_case(text)


def perspective_sentence(g: PerspectiveView, change: str = "MoM") -> str:
    """`Customer: CSAT and CES below target; NPS +7.8 YoY, significant`, or `People: not
    scored (1 of 3 KPIs scored); ...` when too little of its weight is scored (§6)."""
    return f"{g.name}: " + "; ".join(_perspective_parts(g, with_score=True, change=change))


def scorecard(groups: Sequence[PerspectiveView]) -> str:
    """`2 of 15 KPIs off target (Reopen rate and SLA compliance), 4 below target`."""
    kpis = [k for g in groups for k in g.kpis]
    total = len(kpis)
    red = [short_name(k.name) for k in kpis if k.status_id == "red"]
    amber = [k for k in kpis if k.status_id == "amber"]
    green = [k for k in kpis if k.status_id == "green"]
    if red:
        text = f"{len(red)} of {total} KPIs off target ({names(red)})"
    elif amber:
        text = f"No KPI off target; {len(amber)} of {total} below target"
        amber = []
    elif green:
        text = f"No KPI off target or below target; {len(green)} of {total} on target"
    else:
        text = f"None of the {total} KPIs is judged against a target"
    if amber:
        text += f", {len(amber)} below target"
    few = sum(k.status_id == "insufficient" for k in kpis)
    if few:
        text += f"; {plural(few, 'KPI')} with too few responses to judge"
    return text


def weakest(figures: Sequence[Figure], level: str, levels: str | None = None) -> str:
    """`SMB · LATAM is the weakest of 12 regions (3.1, off target); 4 regions off target`.

    Ranked on the figures' values (overall scores); those without a score are counted
    as not scored, never ranked.
    """
    scored = [f for f in figures if f.value is not None]
    total = plural(len(figures), level, levels)
    if not scored:
        return f"None of the {total} has an overall score"
    worst = min(scored, key=lambda f: (f.value, f.name))
    status = STATUS_WORDS.get(worst.status, "")
    text = f"{worst.name} is the weakest of {total} ({worst.text}" + (
        f", {status})" if status else ")"
    )
    off = sum(f.status == "red" for f in figures)
    text += f"; {plural(off, level, levels)} off target" if off else "; none off target"
    unscored = len(figures) - len(scored)
    if unscored:
        text += f", {unscored} not scored"
    return text


def ranking(figures: Sequence[Figure], what: str = "overall") -> str:
    """`Enterprise leads on overall score (7.2, on target); SMB trails (4.1, off target)`."""
    scored = sorted(
        (f for f in figures if f.value is not None), key=lambda f: (-(f.value or 0.0), f.name)
    )
    unscored = [f.name for f in figures if f.value is None]
    tail = f"; {names(unscored)} not scored" if unscored else ""
    if not scored:
        return f"No {what} score to compare" + tail

    def said(f: Figure) -> str:
        status = STATUS_WORDS.get(f.status, "")
        return f"{f.text}, {status}" if status else f.text

    if len(scored) == 1:
        return f"{scored[0].name} is the only one scored ({said(scored[0])})" + tail
    top, bottom = scored[0], scored[-1]
    if top.value == bottom.value:
        return f"All at the same {what} score ({said(top)})" + tail
    return (
        f"{top.name} leads on {what} score ({said(top)}); {bottom.name} trails ({said(bottom)})"
        + tail
    )


def channels(kpi: str, figures: Sequence[Figure]) -> str:
    """`NPS from +12.0 (Chat) to +35.0 (Email); the intervals do not overlap`.

    Only channels with enough responses are given; whether the gap is real is read off
    the 95% intervals (apart or overlapping), never claimed otherwise.
    """
    ranked = sorted(
        (f for f in figures if f.value is not None), key=lambda f: (f.value or 0.0, f.name)
    )
    if len(ranked) < 2:
        return f"{kpi}: too few responses in the channels to compare them"
    low, high = ranked[0], ranked[-1]
    text = f"{kpi} from {low.text} ({low.name}) to {high.text} ({high.name})"
    if None in (low.high, high.low):
        return text
    assert low.high is not None and high.low is not None
    return text + (
        "; their 95% intervals do not overlap"
        if low.high < high.low
        else "; their 95% intervals overlap, so the gap may be chance"
    )


def verbatims(detractors: int, promoters: int, when: str) -> str:
    """`12 detractors and 30 promoters left a comment in March 2026`."""
    if not detractors and not promoters:
        return f"No detractor or promoter left a comment in {when}"
    return (
        f"{plural(detractors, 'detractor')} and {plural(promoters, 'promoter')} "
        f"left a comment in {when}"
    )


def escalations(esc: Escalations, below: int = 0, below_top: tuple[str, int] | None = None) -> str:
    """`2 KPIs escalated: CSAT and Reopen rate; 1 action overdue, 1 without an action`, or
    `No escalations; 1 KPI off target, not yet escalated`; then the escalations below
    (`below`, the node with most of them in `below_top`)."""
    mine = [short_name(e.kpi) for e in esc.escalations]
    if mine:
        text = f"{plural(len(mine), 'KPI')} escalated: {names(mine)}"
        overdue = sum(a.overdue for e in esc.escalations if e.actions for a in e.actions.items)
        without = sum(bool(e.actions and e.actions.none) for e in esc.escalations)
        said = [plural(overdue, "action") + " overdue"] if overdue else []
        said += [f"{plural(without, 'KPI')} without an action"] if without else []
        if said:
            text += "; " + ", ".join(said)
    else:
        text = "No escalation here" if below else "No escalations"
        if esc.approaching:
            text += f"; {plural(len(esc.approaching), 'KPI')} off target, not yet escalated"
    return text + below_clause(below, below_top)


def below_clause(below: int, top: tuple[str, int] | None) -> str:
    """`; 11 below, 9 in SMB · LATAM` (or `; 2 below, in SMB · LATAM` when all are there)."""
    if not below:
        return ""
    if top is None:
        return f"; {below} below"
    name, n = top
    return f"; {below} below, in {name}" if n == below else f"; {below} below, {n} in {name}"
