"""The notebook API: everything scorecard.ipynb and board_pack.ipynb call, in one module.

The notebooks import only this (`from reportlib import notebook as rl`), so what an
analyst can do from a notebook is listed here and nowhere else:

- `open_project`, `resolve_period`, `pack_period`: the project and the month;
- `scorecard_step`: compute and write the scorecard (and record it in the manifest);
- `summary_table`, `quality_summary`: the tables `reportlib compute`/`validate` print;
- `pack_context`, `all_charts`, `commentary`, `render_html`, `write_pdf`, `pdf_path`: one pack;
- `trend_figure` (and `sparkline_`, `comparison_`, `overview_figure`): a chart to adjust;
- `replace_chart`, `chart_style`, `add_page`: change a chart, or add a page, for this pack.

Records are frozen: changing a chart or adding a page returns a new record instead of
changing one in place. `restore_module_state` is what `reportlib run` calls between two
notebooks in one warm kernel, so a pack never depends on the notebook run before it.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any, cast

import pandas as pd

from . import commentary as commentary_files
from . import layout, manifest, pipeline, quality, tables
from .charts import (
    ChartKind,
    Charts,
    all_charts,
    comparison_figure,
    overview_figure,
    replace_chart,
    sparkline_figure,
    trend_figure,
)
from .chartstyle import DEFAULT_STYLE, ChartStyle, to_svg
from .config import Project
from .packdata import PackContext, load_context
from .periods import long_name as period_name
from .pipeline import ComputeResult, open_project, resolve_period
from .render import Page, add_page, default_out, render_html, render_section, write_pdf

__all__ = [
    "DEFAULT_STYLE",
    "ChartKind",
    "ChartStyle",
    "Charts",
    "ComputeResult",
    "PackContext",
    "Page",
    "add_page",
    "all_charts",
    "chart_style",
    "commentary",
    "commentary_path",
    "comparison_figure",
    "default_out",
    "open_project",
    "overview_figure",
    "pack_context",
    "pack_period",
    "pdf_path",
    "period_name",
    "quality_summary",
    "render_html",
    "render_section",
    "replace_chart",
    "resolve_period",
    "restore_module_state",
    "scorecard_step",
    "sparkline_figure",
    "summary_table",
    "to_svg",
    "trend_figure",
    "write_pdf",
]

log = logging.getLogger(__name__)


# --- the scorecard ------------------------------------------------------------------------


def scorecard_step(
    project: Project, period: str | None = None, accept_quality: str | None = None
) -> ComputeResult:
    """Compute and write the scorecard files, and record the computation in manifest.json."""
    t = time.perf_counter()
    result = pipeline.compute(project, period, accept_quality)
    manifest.record_compute(project, result, seconds=time.perf_counter() - t)
    return result


def pack_period(project: Project, period: str | None) -> str:
    """The period a board pack is for; computes the scorecard first when it is not on disk yet."""
    period = resolve_period(project, period)
    out = layout.PeriodOutput(project.settings.output_path, period)
    if not all(f.is_file() for f in out.scorecard_files):
        log.info("no scorecard for %s yet: computing it", period)
        scorecard_step(project, period)
    return period


def summary_table(project: Project, current: pd.DataFrame) -> pd.DataFrame:
    """Nodes × perspective scores, overall score and status (as `reportlib compute` prints it)."""
    return tables.summary_by_node(project, current)


def quality_summary(project: Project, period: str) -> tuple[str, pd.DataFrame] | None:
    """The quality gate's outcome and rows in/kept/quarantined per table (None without a report)."""
    out = layout.PeriodOutput(project.settings.output_path, period)
    if not out.quality_report.is_file():
        return None
    report = quality.read(out)
    return tables.gate_line(report), tables.quality_table(report)


# --- one board pack -------------------------------------------------------------------------


def pack_context(project: Project, period: str, node: str) -> PackContext:
    """A node's figures for `period`, read from output/<period>/ (what the pack is made of)."""
    return load_context(project, period, node)


def commentary(ctx: PackContext) -> commentary_files.Commentary:
    """The node's commentary for the pack's period (`data/commentary/<period>/<node>.md`)."""
    return commentary_files.load(ctx.project, ctx.period, ctx.node.id)


def commentary_path(ctx: PackContext) -> Path:
    """Where the node's commentary file for the pack's period is (or would be)."""
    return commentary_files.path_for(ctx.project, ctx.period, ctx.node.id)


def chart_style(**changes: Any) -> ChartStyle:
    """The pack's chart style with some colours or sizes changed, e.g. `chart_style(series="#7b2d26")`.

    Pass it to `all_charts(ctx, style)`: the style travels with the call, so it changes
    this pack only.
    """
    return dataclasses.replace(DEFAULT_STYLE, **changes)


def pdf_path(ctx: PackContext) -> Path:
    """`output/<period>/<node>/board-pack.pdf`: where the pack of this context is written."""
    return default_out(ctx.project, ctx.period, ctx.node.id)


# --- warm kernels -----------------------------------------------------------------------------

_BASELINE: dict[str, dict[str, object]] = {}
_RC_BASELINE: dict[str, object] = {}


def _reportlib_modules() -> dict[str, Any]:
    return {
        name: module
        for name, module in list(sys.modules.items())
        if module is not None and (name == "reportlib" or name.startswith("reportlib."))
    }


def _globals(module: Any) -> dict[str, object]:
    return {k: v for k, v in vars(module).items() if not k.startswith("__")}


def remember_module_state() -> None:
    """Record the globals of every loaded reportlib module, and matplotlib's settings.

    Called once when this module is imported (a warm kernel imports it before any
    notebook runs); a module loaded later is recorded the first time `restore_module_state`
    sees it.
    """
    for name, module in _reportlib_modules().items():
        _BASELINE.setdefault(name, _globals(module))
    if not _RC_BASELINE and "matplotlib" in sys.modules:
        import matplotlib

        _RC_BASELINE.update({k: v for k, v in matplotlib.rcParams.items() if k != "backend"})


def restore_module_state() -> None:
    """Put reportlib's module globals and matplotlib's settings back as they were remembered.

    A notebook cell that sets `charts.SOMETHING = ...` or changes `matplotlib.rcParams`
    changes the kernel it runs in; `reportlib run` reuses a kernel for several packs, so
    before each notebook it calls this (the namespace itself is reset by IPython).
    Names a notebook added to a module are removed, names it changed are set back.
    """
    for name, module in _reportlib_modules().items():
        saved = _BASELINE.get(name)
        if saved is None:
            _BASELINE[name] = _globals(module)
            continue
        current = vars(module)
        added = [k for k, v in current.items() if not k.startswith("__") and k not in saved]
        for key in added:
            if not isinstance(current[key], types.ModuleType):  # a submodule imported since
                delattr(module, key)
        for key, value in saved.items():
            if current.get(key, dataclasses.MISSING) is not value:
                setattr(module, key, value)
    if _RC_BASELINE and "matplotlib" in sys.modules:
        import matplotlib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matplotlib.rcParams.update(cast(Any, _RC_BASELINE))


remember_module_state()
