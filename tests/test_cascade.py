"""The cascade surfaced: change decomposition by hand, the heat-map's order and caps, findings below.

The frames here are scorecards written by hand (the columns `reportlib compute` writes),
so every expected figure can be checked with a pencil.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reportlib import cascade, decomposition, explain
from reportlib import scorecard as sc
from reportlib.config import Project, load_project
from reportlib.hierarchy import Hierarchy, Node
from reportlib.packdata import PackContext

from .conftest import write_project

PERIOD = "2026-03"
BEFORE = "2026-02"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project's configuration (its KPIs, perspectives and settings); nothing computed."""
    return load_project(write_project(tmp_path_factory.mktemp("cascade")))


def node(node_id: str, name: str | None = None) -> Node:
    level = 0 if node_id == "all" else node_id.count("/") + 1
    parent = None if level == 0 else ("all" if level == 1 else node_id.rsplit("/", 1)[0])
    keys = () if level == 0 else tuple(node_id.split("/"))
    return Node(id=node_id, name=name or node_id.upper(), level=level, keys=keys, parent=parent)


def tree(*ids: str) -> Hierarchy:
    return Hierarchy(levels=("segment", "region"), nodes=tuple(node(i) for i in ids))


def card(rows: list[dict]) -> pd.DataFrame:
    """A scorecard frame from a few hand-written rows (other columns empty)."""
    frame = pd.DataFrame(rows)
    for col in sc.COLUMNS:
        if col not in frame.columns:
            frame[col] = math.nan if col not in ("status", "node_name", "perspective") else None
    frame["node_name"] = frame["node"].str.upper()
    return frame[list(sc.COLUMNS)]


def context(project: Project, t: Hierarchy, history: pd.DataFrame, at: str = "all") -> PackContext:
    current = history[history["period"] == PERIOD].reset_index(drop=True)
    return PackContext(
        project=project,
        period=PERIOD,
        node=t.node(at),
        tree=t,
        current=current,
        history=history,
        escalations=sc.escalations(
            history[history["node"] == at], PERIOD, project.settings.escalate_after
        ),
        manual_values=pd.DataFrame(),
        quality=None,
        as_of=None,
    )


# --- change decomposition (rate and mix), by hand ------------------------------------------

# CSAT of a parent P with two children A and B:
#   February: A 80% of 100, B 60% of 100 -> P 70% of 200; weights 0.5 and 0.5
#   March:    A 72% of 50,  B 60% of 150 -> P (3600 + 9000) / 200 = 63% of 200; weights 0.25, 0.75
# P's change is -7.0 pp. A: w1 r1 - w0 r0 = 0.25*72 - 0.5*80 = 18 - 40 = -22;
#   rate = mean(w) * dr = 0.375 * -8 = -3; mix = mean(r) * dw = 76 * -0.25 = -19.
# B: 0.75*60 - 0.5*60 = 15; rate = 0.625 * 0 = 0; mix = 60 * 0.25 = 15. -22 + 15 = -7.
TWO_CHILDREN = [
    {"period": BEFORE, "node": "all", "kpi": "csat", "value": 70.0, "n": 200},
    {"period": BEFORE, "node": "a", "kpi": "csat", "value": 80.0, "n": 100},
    {"period": BEFORE, "node": "b", "kpi": "csat", "value": 60.0, "n": 100},
    {"period": PERIOD, "node": "all", "kpi": "csat", "value": 63.0, "n": 200},
    {"period": PERIOD, "node": "a", "kpi": "csat", "value": 72.0, "n": 50},
    {"period": PERIOD, "node": "b", "kpi": "csat", "value": 60.0, "n": 150},
]


def test_two_children_split_exactly_into_rate_and_mix() -> None:
    d = decomposition.decompose(card(TWO_CHILDREN), tree("all", "a", "b"), "all", "csat", PERIOD)
    assert d is not None
    assert d.delta == pytest.approx(-7.0)
    a, b = d.contributions  # largest absolute contribution first
    assert (a.node.id, b.node.id) == ("a", "b")
    assert (a.w0, a.w1, b.w0, b.w1) == (0.5, 0.25, 0.5, 0.75)
    assert a.rate == pytest.approx(-3.0)
    assert a.mix == pytest.approx(-19.0)
    assert a.total == pytest.approx(-22.0)
    assert b.rate == pytest.approx(0.0)
    assert b.mix == pytest.approx(15.0)
    assert a.total + b.total == pytest.approx(d.delta, abs=1e-12)


def test_the_sentence_names_the_children_with_rate_and_mix(project: Project) -> None:
    history = card(TWO_CHILDREN)
    ctx = context(project, tree("all", "a", "b"), history)
    d = decomposition.decompose(history, ctx.tree, "all", "csat", PERIOD)
    assert d is not None
    text = explain.change_sentence(ctx, d, "CSAT", "percent")
    assert text == "CSAT −7.0 pp: A −22.0 pp (rate −3.0 pp, mix −19.0 pp), B +15.0 pp."


def test_the_rest_is_summed_and_the_parts_add_up(project: Project) -> None:
    # Four children; C carries most of the change, the other three are "the rest".
    rows = [
        {"period": BEFORE, "node": "all", "kpi": "fcr", "value": 50.0, "n": 400},
        {"period": PERIOD, "node": "all", "kpi": "fcr", "value": 45.0, "n": 400},
    ]
    for child, (r0, r1) in {"a": (50, 49), "b": (50, 50), "c": (50, 30), "d": (50, 51)}.items():
        rows += [
            {"period": BEFORE, "node": child, "kpi": "fcr", "value": float(r0), "n": 100},
            {"period": PERIOD, "node": child, "kpi": "fcr", "value": float(r1), "n": 100},
        ]
    history = card(rows)
    ctx = context(project, tree("all", "a", "b", "c", "d"), history)
    d = decomposition.decompose(history, ctx.tree, "all", "fcr", PERIOD)
    assert d is not None
    # Equal weights throughout: all rate, no mix; C: 0.25 * -20 = -5, A -0.25, D +0.25, B 0.
    assert [c.node.id for c in d.contributions][:1] == ["c"]
    assert d.contributions[0].total == pytest.approx(-5.0)
    assert all(c.mix == pytest.approx(0.0) for c in d.contributions)
    assert sum(c.total for c in d.contributions) == pytest.approx(-5.0)
    assert [c.node.id for c in decomposition.leaders(d)] == ["c"]
    text = explain.change_sentence(ctx, d, "FCR", "percent")
    assert text == "FCR −5.0 pp: C −5.0 pp, the rest ±0.0 pp."


def test_a_child_entering_the_mix_is_all_mix() -> None:
    # February: only A (80% of 100). March: A 80% of 100 and new child B 40% of 100 -> P 60%.
    rows = [
        {"period": BEFORE, "node": "all", "kpi": "csat", "value": 80.0, "n": 100},
        {"period": BEFORE, "node": "a", "kpi": "csat", "value": 80.0, "n": 100},
        {"period": PERIOD, "node": "all", "kpi": "csat", "value": 60.0, "n": 200},
        {"period": PERIOD, "node": "a", "kpi": "csat", "value": 80.0, "n": 100},
        {"period": PERIOD, "node": "b", "kpi": "csat", "value": 40.0, "n": 100},
    ]
    d = decomposition.decompose(card(rows), tree("all", "a", "b"), "all", "csat", PERIOD)
    assert d is not None
    by = {c.node.id: c for c in d.contributions}
    # A: weight 1 -> 0.5 at 80%: 40 - 80 = -40, all mix. B: weight 0 -> 0.5 at 40%: +20, all mix.
    assert by["a"].rate == pytest.approx(0.0) and by["a"].mix == pytest.approx(-40.0)
    assert by["b"].rate == pytest.approx(0.0) and by["b"].mix == pytest.approx(20.0)
    assert by["a"].total + by["b"].total == pytest.approx(d.delta) == pytest.approx(-20.0)


def test_a_sum_splits_into_the_childrens_changes() -> None:
    rows = [
        {"period": BEFORE, "node": "all", "kpi": "revenue", "value": 300.0, "n": 3},
        {"period": BEFORE, "node": "a", "kpi": "revenue", "value": 100.0, "n": 1},
        {"period": BEFORE, "node": "b", "kpi": "revenue", "value": 200.0, "n": 2},
        {"period": PERIOD, "node": "all", "kpi": "revenue", "value": 250.0, "n": 3},
        {"period": PERIOD, "node": "a", "kpi": "revenue", "value": 130.0, "n": 1},
        {"period": PERIOD, "node": "b", "kpi": "revenue", "value": 120.0, "n": 2},
    ]
    d = decomposition.decompose(
        card(rows), tree("all", "a", "b"), "all", "revenue", PERIOD, additive=True
    )
    assert d is not None
    assert [(c.node.id, c.total, c.mix) for c in d.contributions] == [
        ("b", -80.0, 0.0),
        ("a", 30.0, 0.0),
    ]


@pytest.mark.parametrize(
    ("what", "march_parent"),
    [
        # A median (or any figure) the children's weighted mean does not reproduce.
        ("value", {"value": 65.0, "n": 200}),
        # Counts that do not add up (a child's rows missing, or a manual n at a child).
        ("n", {"value": 63.0, "n": 210}),
    ],
)
def test_withheld_when_the_children_do_not_reproduce_the_parent(
    what: str, march_parent: dict
) -> None:
    rows = [dict(r) for r in TWO_CHILDREN]
    rows[3].update(march_parent)
    assert decomposition.decompose(card(rows), tree("all", "a", "b"), "all", "csat", PERIOD) is None


def test_no_split_for_a_leaf_or_a_missing_month() -> None:
    t = tree("all", "a", "b")
    assert decomposition.decompose(card(TWO_CHILDREN), t, "a", "csat", PERIOD) is None
    march_only = card([r for r in TWO_CHILDREN if r["period"] == PERIOD])
    assert decomposition.decompose(march_only, t, "all", "csat", PERIOD) is None


# --- the heat-map -----------------------------------------------------------------------------


def scores(node_id: str, overall: float | None, status: str, period: str = PERIOD) -> list[dict]:
    """Score rows of a node: every perspective and the overall at the same score."""
    keys = ["score:financial", "score:customer", "score:process", "score:learning", "score:overall"]
    return [
        {
            "period": period,
            "node": node_id,
            "kpi": k,
            "value": math.nan if overall is None else overall,
            "status": "insufficient" if overall is None else status,
        }
        for k in keys
    ]


def test_heatmap_worst_first_with_grandchildren_under_their_parent(project: Project) -> None:
    t = tree("all", "a", "a/x", "a/y", "b", "b/x", "c")
    rows = (
        scores("all", 6.0, "amber")
        + scores("a", 7.0, "green")
        + scores("a/x", 8.0, "green")
        + scores("a/y", 2.0, "red")
        + scores("b", 4.0, "amber")
        + scores("b/x", 4.0, "amber")
        + scores("c", None, "insufficient")
    )
    hm = cascade.heatmap(context(project, t, card(rows)))
    assert hm is not None
    assert [(r.node.id, r.depth) for r in hm.rows] == [
        ("b", 1),
        ("b/x", 2),
        ("a", 1),
        ("a/y", 2),
        ("a/x", 2),
        ("c", 1),  # no overall score: after the scored ones
    ]
    assert [title for _, title in hm.columns][-1] == "Overall"
    assert len(hm.columns) == len(project.hierarchy.perspectives) + 1
    assert hm.rows[0].overall.score == 4.0 and hm.rows[0].overall.status == "amber"
    assert hm.rows[-1].overall.score is None
    assert hm.omitted == () and hm.omitted_children == 0 and hm.deeper == 0
    assert cascade.heatmap(context(project, t, card(rows), at="a/x")) is None


def test_heatmap_stays_one_page_at_300_nodes(project: Project) -> None:
    """A segment with 4 regions of 24 branches each (a 3-level company's segment pack)."""
    ids = ["all", "s"]
    rows = scores("all", 6.0, "amber") + scores("s", 6.0, "amber")
    for r in range(4):
        region = f"s/r{r}"
        ids.append(region)
        rows += scores(region, 5.0 + r, "amber")
        for b in range(24):
            ids.append(f"{region}/b{b:02d}")
            rows += scores(f"{region}/b{b:02d}", b / 3, "red" if b < 10 else "amber")
    t = Hierarchy(levels=("segment", "region", "branch"), nodes=tuple(node(i) for i in ids))
    ctx = context(project, t, card(rows), at="s")
    hm = cascade.heatmap(ctx)
    assert hm is not None
    assert len(hm.rows) == 4 + 4 * cascade.GRANDCHILDREN_PER_CHILD <= cascade.HEATMAP_ROWS
    # Under each region, its five worst branches (b00..b04), worst first.
    first = [r.node.id for r in hm.rows[:6]]
    assert first == ["s/r0", "s/r0/b00", "s/r0/b01", "s/r0/b02", "s/r0/b03", "s/r0/b04"]
    assert [(n.id, k) for n, k in hm.omitted] == [(f"s/r{r}", 19) for r in range(4)]
    # From the top: the segment and its regions; the 96 branches are further down.
    top = cascade.heatmap(context(project, t, card(rows), at="all"))
    assert top is not None
    assert [r.node.id for r in top.rows] == ["s", "s/r0", "s/r1", "s/r2", "s/r3"]
    assert top.deeper == 96
    # A node with more children than a page holds shows the worst and counts the others.
    small = cascade.heatmap(ctx, max_rows=3)
    assert small is not None
    assert [r.node.id for r in small.rows] == ["s/r0", "s/r1", "s/r2"]
    assert small.omitted_children == 1


# --- escalations, reds and movers below a node ----------------------------------------------


def test_findings_below_count_escalations_and_reds_of_every_descendant(project: Project) -> None:
    t = tree("all", "a", "a/x", "b")
    rows = []
    for p in ("2026-01", BEFORE, PERIOD):
        rows += [
            # a/x: FCR red three months running (an escalation), reopen rate red only now.
            {"period": p, "node": "a/x", "kpi": "fcr", "value": 20.0, "n": 50, "status": "red"},
            {"period": p, "node": "a", "kpi": "fcr", "value": 60.0, "n": 150, "status": "amber"},
            {"period": p, "node": "all", "kpi": "fcr", "value": 60.0, "n": 300, "status": "amber"},
            {"period": p, "node": "b", "kpi": "fcr", "value": 60.0, "n": 150, "status": "amber"},
        ]
    rows.append(
        {
            "period": PERIOD,
            "node": "a/x",
            "kpi": "reopen_rate",
            "value": 30.0,
            "n": 50,
            "status": "red",
        }
    )
    ctx = context(project, t, card(rows))
    assert ctx.escalations.empty  # the company itself has none
    found = cascade.findings_below(ctx)
    assert [f.node.id for f in found] == ["a/x"]
    (ax,) = found
    assert list(ax.escalations["kpi"]) == ["fcr"]
    assert int(ax.escalations["streak"].iloc[0]) == 3
    assert ax.escalations["since"].iloc[0] == "2026-01"
    assert ax.reds == ("fcr", "reopen_rate")
    # The same from the segment's pack; nothing below the leaf.
    assert [f.node.id for f in cascade.findings_below(context(project, t, card(rows), at="a"))] == [
        "a/x"
    ]
    assert cascade.findings_below(context(project, t, card(rows), at="a/x")) == ()
    # On the company's heat-map, row A carries the escalation of A · X below it.
    hm = cascade.heatmap(context(project, t, card(rows)))
    assert hm is not None
    by = {r.node.id: r for r in hm.rows}
    assert (by["a"].escalations, by["a"].escalations_below) == (0, 1)
    assert (by["a/x"].escalations, by["a/x"].escalations_below, by["a/x"].reds) == (1, 0, 2)


def test_where_line_names_the_largest_first() -> None:
    assert explain.where_line([("A", 1), ("B", 9), ("C", 0)]) == "9 in B and 1 in A"
    assert (
        explain.where_line([("A", 1), ("B", 9), ("C", 2), ("D", 1), ("E", 1)])
        == "9 in B, 2 in C, 1 in A and 2 elsewhere"
    )
    assert explain.where_line([("A", 3)]) == "3 in A"
    assert explain.where_line([]) == ""


def test_escalations_below_are_capped_by_whole_nodes() -> None:
    from reportlib.render.cascade_views import ESCALATIONS_BELOW, escalated_below, more_below

    def found(node_id: str, n: int) -> cascade.NodeFindings:
        esc = pd.DataFrame({"kpi": [f"k{i}" for i in range(n)], "streak": 3, "since": "2026-01"})
        return cascade.NodeFindings(node(node_id), esc, (), ())

    # 12 nodes with 1..12 escalations (78): the most first, whole nodes up to the cap.
    findings = (*tuple(found(f"s/r{i:02d}", i) for i in range(1, 13)), found("s/none", 0))
    listed, rest = escalated_below(findings)
    counts = [len(f.escalations) for f in listed]
    assert counts == [12, 11] and sum(counts) <= ESCALATIONS_BELOW < sum(counts) + 10
    assert [len(f.escalations) for f in rest] == list(range(10, 0, -1))
    assert more_below(rest) == (
        "And 55 more escalations in 10 nodes below, each on its own pack's escalations page "
        "(see the heat-map for where)."
    )
    # One node with more than the cap is still listed; nothing left means no note.
    listed, rest = escalated_below((found("s/big", 40),))
    assert [f.node.id for f in listed] == ["s/big"] and rest == [] and more_below(rest) == ""
