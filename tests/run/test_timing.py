"""Where a pack's seconds went: cells split by what they call, the rest is the kernel's."""

from __future__ import annotations

import nbformat
import pytest

from reportlib.run import timing
from reportlib.run.timing import Split

PACK_CELLS = {
    "render": "html = rl.render_html(ctx, figures, notes, pages)\npdf = rl.write_pdf(html, out, ctx=ctx)",
    "charts": "figures = rl.all_charts(ctx)\nshown = list(figures.trends)[:2]",
    "notebook": "ctx = rl.pack_context(project, period, node)\nprint(ctx.node.name)",
}


@pytest.mark.parametrize(("part", "source"), list(PACK_CELLS.items()))
def test_a_cell_counts_by_what_it_calls(part: str, source: str) -> None:
    assert timing.cell_part(source) == part


def test_adjusting_a_chart_counts_as_charts_and_drawing_it_into_the_pdf_as_render() -> None:
    assert timing.cell_part('fig = rl.trend_figure(ctx, "nps")') == "charts"
    assert timing.cell_part('figures = rl.replace_chart(figures, "nps", fig)') == "charts"
    # A cell that both draws and renders is the render's: WeasyPrint is what it waits on.
    assert timing.cell_part(
        "rl.write_pdf(rl.render_html(ctx, rl.all_charts(ctx), n), p, ctx=ctx)"
    ) == ("render")
    assert timing.cell_part("# figures = rl.all_charts\nx = 1") == "notebook"


def _executed(durations: dict[str, float | None]) -> list[dict]:
    cells: list[dict] = [nbformat.v4.new_markdown_cell("# a pack")]
    for part, seconds in durations.items():
        cell = nbformat.v4.new_code_cell(PACK_CELLS[part])
        cell.metadata["papermill"] = {"duration": seconds, "status": "completed"}
        cells.append(cell)
    return cells


def test_split_sums_the_cells_and_leaves_the_rest_to_the_kernel() -> None:
    cells = _executed({"notebook": 0.5, "charts": 1.25, "render": 3.0})
    s = timing.split(cells, elapsed=5.0, started=2.0)
    assert s == Split(kernel=2.25, notebook=0.5, charts=1.25, render=3.0)
    assert s.total == pytest.approx(7.0)
    assert s.as_dict() == {"kernel": 2.25, "notebook": 0.5, "charts": 1.25, "render": 3.0}
    assert s.describe() == "kernel 2.25 s, notebook 0.50 s, charts 1.25 s, render 3.00 s"


def test_a_cell_that_never_ran_counts_nothing() -> None:
    # After a failure papermill leaves the later cells pending: no duration.
    cells = _executed({"notebook": 0.5, "charts": None, "render": None})
    assert timing.split(cells, elapsed=1.0) == Split(kernel=0.5, notebook=0.5)
    assert timing.split([], elapsed=1.0) == Split(kernel=1.0)


def test_total_adds_the_parts_of_several_packs() -> None:
    packs = [Split(1.0, 0.5, 2.0, 3.0), Split(0.25, 0.5, 1.0, 2.0)]
    assert timing.total(packs) == Split(1.25, 1.0, 3.0, 5.0)
    assert timing.total([]) == Split()
