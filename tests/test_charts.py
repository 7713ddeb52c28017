"""Charts: valid, deterministic SVG with the target line, status bands, intervals and hollow months."""

from __future__ import annotations

import dataclasses
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.text import Text

from reportlib import charts, chartstyle, resources
from reportlib.config import load_project
from reportlib.packdata import PackContext, load_context
from reportlib.pipeline import compute

from .conftest import write_project

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """The tiny project with its March 2026 scorecard computed and written."""
    config = write_project(tmp_path_factory.mktemp("charts"))
    p = load_project(config)
    compute(p, "2026-03", accept_quality="tiny fixture: the rows are planted on purpose")
    return p


@pytest.fixture(scope="module")
def ctx(project) -> PackContext:
    return load_context(project, "2026-03", "all")


def ids(svg: str) -> set[str]:
    """Every element id of an SVG document (artists carry their gid as id)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {el.get("id") for el in root.iter() if el.get("id")}


@pytest.mark.parametrize("kpi", ["nps", "fcr", "revenue", "first_response_hours", "enps"])
def test_each_chart_is_valid_and_deterministic_svg(ctx: PackContext, kpi: str) -> None:
    for make in (charts.trend_chart, charts.sparkline, charts.comparison_chart):
        first, second = make(ctx, kpi), make(ctx, kpi)
        assert first == second, make.__name__
        ids(first)
        assert "<dc:date>" not in first
    ids(charts.overview_chart(ctx))


def test_trend_has_stepped_target_and_status_bands(ctx: PackContext) -> None:
    # fcr's company target drops from 60 to 45 in March 2026 (targets.csv in conftest).
    svg = charts.trend_chart(ctx, "fcr")
    found = ids(svg)
    assert {"target-line", "band-red", "band-amber", "band-green", "series", "latest"} <= found
    fig = charts.trend_figure(ctx, "fcr")
    (target,) = [line for line in fig.axes[0].get_lines() if line.get_gid() == "target-line"]
    ys = np.asarray(target.get_ydata(), dtype=float)
    assert set(ys[np.isfinite(ys)]) == {60.0, 45.0}


def test_months_below_min_n_are_hollow(ctx: PackContext) -> None:
    # NPS has 1 response in February and 7 in March, both below min n 30.
    fig = charts.trend_figure(ctx, "nps")
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines()}
    hollow = lines["below-min-n"]
    assert len(hollow.get_xdata()) == 2
    assert hollow.get_markerfacecolor() == "white"
    # The main line skips them; a faint line still joins every month.
    assert np.isnan(np.asarray(lines["series"].get_ydata(), dtype=float)[-2:]).all()
    assert np.isfinite(np.asarray(lines["series-all"].get_ydata(), dtype=float)[-2:]).all()
    assert "below-min-n" in ids(charts.trend_chart(ctx, "nps"))
    assert "ci-band" in ids(charts.trend_chart(ctx, "nps"))
    # A census KPI has neither.
    assert not {"below-min-n", "ci-band"} & ids(charts.trend_chart(ctx, "fcr"))


def test_sparkline_marks_low_n_and_target(ctx: PackContext) -> None:
    assert {"below-min-n", "latest"} <= ids(charts.sparkline(ctx, "nps"))
    assert "target-line" in ids(charts.sparkline(ctx, "fcr"))


def test_definition_change_is_marked_in_the_trend(ctx: PackContext) -> None:
    history = ctx.history.copy()
    history.loc[(history["kpi"] == "fcr") & (history["period"] >= "2026-02"), "kpi_version"] = "2"
    changed = dataclasses.replace(ctx, history=history)
    assert "version-break-v1-v2" in ids(charts.trend_chart(changed, "fcr"))


def test_comparison_shows_children_and_parent_reference(ctx: PackContext, project) -> None:
    found = ids(charts.comparison_chart(ctx, "nps"))
    assert {"child-ent", "child-smb", "parent-line", "intervals"} <= found
    # Revenue at the parent is the children's sum: no reference line.
    assert "parent-line" not in ids(charts.comparison_chart(ctx, "revenue"))
    leaf = load_context(project, "2026-03", "ent/eu")
    assert charts.comparison_chart(leaf, "nps") == ""
    assert charts.all_charts(leaf).comparison == {}


def test_all_charts_cover_the_catalogue(ctx: PackContext) -> None:
    made = charts.all_charts(ctx)
    kpis = {k.id for k in ctx.project.kpis}
    assert set(made.trends) == set(made.sparklines) == set(made.comparison) == kpis
    assert made.overview.startswith("<?xml")


def test_chart_text_uses_the_pack_font(ctx: PackContext) -> None:
    assert "IBM Plex Sans" in charts.trend_chart(ctx, "fcr")
    assert resources.packaged("fonts").joinpath(chartstyle.FONT_FILES[0]).is_file()


@pytest.mark.parametrize(
    ("unit", "ticks", "labels"),
    [
        ("percent", [97.5, 98.0, 98.5, 99.0], ["97.5%", "98.0%", "98.5%", "99.0%"]),
        ("percent", [20, 40, 60], ["20%", "40%", "60%"]),
        ("currency", [0, 5e6, 10e6, 15e6], ["$0", "$5m", "$10m", "$15m"]),
        ("currency", [2.5e5, 5e5], ["$250k", "$500k"]),
        ("points", [-20, 0, 20], ["\u221220", "0", "20"]),
        ("hours", [2.5, 3.0], ["2.5 h", "3.0 h"]),
    ],
)
def test_tick_labels_tell_ticks_apart(unit: str, ticks: list[float], labels: list[str]) -> None:
    assert chartstyle.UnitFormatter(unit, "USD").format_ticks(ticks) == labels


def test_font_cache_is_written_once(ctx: PackContext) -> None:
    families = chartstyle.font_families()
    assert families[0] == chartstyle.FONT_FAMILY
    cached = list(Path(tempfile.gettempdir()).glob("reportlib-fonts-*/IBMPlexSans-Regular.ttf"))
    assert cached


def test_charts_record_is_read_only_and_replace_chart_returns_a_new_one(ctx: PackContext) -> None:
    made = charts.all_charts(ctx)
    with pytest.raises(TypeError):
        made.trends["nps"] = "<svg/>"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.overview = ""  # type: ignore[misc]
    fig = charts.trend_figure(ctx, "nps")
    fig.axes[0].set_title("adjusted in the notebook")
    changed = charts.replace_chart(made, "nps", fig)
    assert "adjusted in the notebook" in changed.trends["nps"]
    assert "adjusted in the notebook" not in made.trends["nps"]
    assert changed.trends["fcr"] == made.trends["fcr"] and changed.sparklines == made.sparklines
    spark = charts.replace_chart(made, "fcr", "<svg>spark</svg>", kind="sparkline")
    assert spark.sparklines["fcr"] == "<svg>spark</svg>" and spark.trends == made.trends
    assert (
        charts.replace_chart(made, "", "<svg>o</svg>", kind="overview").overview == "<svg>o</svg>"
    )
    with pytest.raises(ValueError, match="unknown chart kind"):
        charts.replace_chart(made, "nps", "<svg/>", kind="pie")  # type: ignore[arg-type]


def test_chart_style_travels_with_the_call(ctx: PackContext) -> None:
    plain = charts.trend_chart(ctx, "fcr")
    red = chartstyle.ChartStyle(series="#ff0000")
    styled = charts.trend_chart(ctx, "fcr", red)
    assert "#ff0000" in styled and "#ff0000" not in plain
    # The default is bound at definition: reassigning a module name changes nothing.
    assert charts.trend_chart(ctx, "fcr") == plain


# --- text from data or configuration is drawn literally, never as mathtext ----------------

DOLLAR_NAMES = {"ent": r"Promo $\x$ 2026", "smb": "$5k-$10k"}
DOLLAR_COMPANY = r"Dollar $\frac$ Co"
DOLLAR_PERSPECTIVE = r"Money $\y$ talks"


@pytest.fixture(scope="module")
def dollar_ctx(tmp_path_factory: pytest.TempPathFactory) -> PackContext:
    """The tiny project with dollar signs in segment, company and perspective names."""
    segments = (
        f"company: '{DOLLAR_COMPANY}'\nlevels: [segment, region]\n"
        f"names:\n  segment: {{ent: '{DOLLAR_NAMES['ent']}', smb: '{DOLLAR_NAMES['smb']}'}}\n"
        "perspectives:\n"
        f"  - {{id: financial, name: '{DOLLAR_PERSPECTIVE}', weight: 1}}\n"
        "  - {id: customer, name: Customer, weight: 1}\n"
        "  - {id: process, name: Internal process, weight: 1}\n"
        "  - {id: learning, name: Learning and growth, weight: 1}\n"
    )
    config = write_project(tmp_path_factory.mktemp("dollars"), segments=segments)
    p = load_project(config)
    compute(p, "2026-03", accept_quality="tiny fixture: the rows are planted on purpose")
    return load_context(p, "2026-03", "all")


def texts(fig: Figure) -> list[str]:
    """Every piece of text the figure draws (tick labels, legend, titles)."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_rc_and_the_process_keep_chart_text_literal() -> None:
    assert chartstyle.rc()["text.parse_math"] is False
    assert chartstyle.rc()["text.usetex"] is False
    chartstyle.literal_text()
    assert matplotlib.rcParams["text.parse_math"] is False


@pytest.mark.parametrize("kind", ["trend", "sparkline", "comparison", "overview"])
def test_every_chart_kind_draws_dollar_names_literally(dollar_ctx: PackContext, kind: str) -> None:
    # Even where a notebook turned mathtext back on, the pack's charts are literal.
    with matplotlib.rc_context({"text.parse_math": True}):
        if kind == "overview":
            fig = charts.overview_figure(dollar_ctx)
            svg = charts.overview_chart(dollar_ctx)
        elif kind == "comparison":
            fig = charts.comparison_figure(dollar_ctx, "nps")
            svg = charts.comparison_chart(dollar_ctx, "nps")
        else:
            make_fig = charts.trend_figure if kind == "trend" else charts.sparkline_figure
            make_svg = charts.trend_chart if kind == "trend" else charts.sparkline
            fig = make_fig(dollar_ctx, "nps")
            svg = make_svg(dollar_ctx, "nps")
        assert fig is not None
        ids(svg)  # valid SVG
        with tempfile.TemporaryFile() as fh:
            fig.savefig(fh, format="png")
    drawn = texts(fig)
    if kind == "comparison":
        assert set(DOLLAR_NAMES.values()) <= set(drawn)
        for name in DOLLAR_NAMES.values():
            assert name in svg
    if kind == "overview":
        assert DOLLAR_PERSPECTIVE in drawn and DOLLAR_PERSPECTIVE in svg
    # Names were drawn inside the pack's style, so they stay literal even when the figure
    # is drawn again where mathtext is on (the savefig above).
    assert all(not t.get_parse_math() for t in fig.findobj(Text) if t.get_text().count("$") > 1)


def test_all_charts_of_a_pack_with_dollar_names(dollar_ctx: PackContext) -> None:
    made = charts.all_charts(dollar_ctx)
    assert DOLLAR_NAMES["smb"] in made.comparison["nps"]
    assert DOLLAR_PERSPECTIVE in made.overview


def test_seaborn_titles_ticks_and_legends_honour_the_switch() -> None:
    """What the scorecard notebook draws with seaborn (legend by node name, heatmap, title)."""
    chartstyle.literal_text()  # as importing reportlib.notebook does
    names = [*DOLLAR_NAMES.values(), DOLLAR_COMPANY]
    frame = pd.DataFrame(
        {
            "period": ["2026-02", "2026-03"] * 3,
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "node_name": [n for n in names for _ in range(2)],
        }
    )
    with matplotlib.rc_context():  # set_theme changes the process: undone on exit
        sns.set_theme(style="whitegrid")  # the notebook's theme does not turn math back on
        line, heat = Figure(), Figure()
        _draw_like_the_scorecard_notebook(line, heat, frame, names)


def _draw_like_the_scorecard_notebook(
    line: Figure, heat: Figure, frame: pd.DataFrame, names: list[str]
) -> None:
    ax = sns.lineplot(data=frame, x="period", y="value", hue="node_name", ax=line.add_subplot())
    ax.legend(title=None)
    ax.set_title(DOLLAR_COMPANY)
    grid = frame.pivot(index="node_name", columns="period", values="value")
    hx = sns.heatmap(grid, annot=True, ax=heat.add_subplot(), cbar=False)
    hx.set(xlabel="", ylabel=DOLLAR_PERSPECTIVE)
    for fig in (line, heat):
        for fmt in ("png", "svg"):
            with tempfile.TemporaryFile() as fh:
                fig.savefig(fh, format=fmt)
    assert set(names) <= {t.get_text() for t in ax.get_legend().get_texts()}
    assert ax.get_title() == DOLLAR_COMPANY
    assert set(names) <= {t.get_text() for t in hx.get_yticklabels()}
    assert DOLLAR_PERSPECTIVE in texts(heat)
