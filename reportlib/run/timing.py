"""Where a notebook's seconds went: kernel, the notebook's own cells, charts, render.

A run records this split for every board pack it renders, so a slow month can be read
from the run itself (the debug log, the `node-done` events, the run's timings in
manifest.json) instead of from a benchmark. The split comes from papermill's own cell
timings (`metadata.papermill.duration` of each executed cell); a cell counts as charts or
render by what it calls, so a project's own copy of board_pack.ipynb is split the same way:

- render: a cell that calls `render_html(` or `write_pdf(` (the Jinja2 HTML and WeasyPrint);
- charts: a cell that calls `all_charts(`, `replace_chart(` or a `*_figure(` function;
- notebook: every other cell (loading the node's figures, the commentary, pages of your own);
- kernel: readying the kernel (its start, or the reset between two notebooks in a warm
  kernel) plus papermill's own work around the cells (reading, parameters, writing); the
  first notebook a worker runs also carries the start of the worker's warm kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PARTS = ("kernel", "notebook", "charts", "render")
"""The parts of a pack's seconds, in the order a pack spends them."""

_RENDER = re.compile(r"^[^#\n]*\b(render_html|write_pdf)\s*\(", re.M)
_CHARTS = re.compile(r"^[^#\n]*\b(all_charts|replace_chart|\w+_figure)\s*\(", re.M)


@dataclass(frozen=True)
class Split:
    """One notebook's seconds by part (see the module docstring); `total` is their sum."""

    kernel: float = 0.0
    notebook: float = 0.0
    charts: float = 0.0
    render: float = 0.0

    @property
    def total(self) -> float:
        return self.kernel + self.notebook + self.charts + self.render

    def as_dict(self) -> dict[str, float]:
        """The parts by name, rounded to the millisecond (for logs and the manifest)."""
        return {part: round(getattr(self, part), 3) for part in PARTS}

    def describe(self) -> str:
        """`kernel 0.21 s, notebook 0.35 s, charts 1.80 s, render 3.02 s`."""
        return ", ".join(f"{part} {getattr(self, part):.2f} s" for part in PARTS)


def cell_part(source: str) -> str:
    """The part a code cell's seconds count towards, from what it calls (comments aside)."""
    if _RENDER.search(source):
        return "render"
    if _CHARTS.search(source):
        return "charts"
    return "notebook"


def cell_seconds(cells: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """Seconds per part of executed code cells (papermill's `metadata.papermill.duration`)."""
    seconds = {"notebook": 0.0, "charts": 0.0, "render": 0.0}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        papermill = meta.get("papermill") if isinstance(meta, Mapping) else None
        duration = papermill.get("duration") if isinstance(papermill, Mapping) else None
        if isinstance(duration, int | float):
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            seconds[cell_part(text)] += float(duration)
    return seconds


def split(cells: Iterable[Mapping[str, object]], *, elapsed: float, started: float = 0.0) -> Split:
    """A notebook's split: its cells by part, and the rest of `elapsed` as the kernel's.

    `elapsed` runs from readying the kernel (start or reset) until the executed notebook
    was saved; `started` is a kernel start paid before that (a worker's warm kernel is
    started, and its imports run, before its first notebook: that notebook carries it).
    """
    parts = cell_seconds(cells)
    return Split(
        kernel=max(0.0, elapsed - sum(parts.values())) + started,
        notebook=parts["notebook"],
        charts=parts["charts"],
        render=parts["render"],
    )


def total(splits: Iterable[Split]) -> Split:
    """The parts summed over several notebooks (a run's packs)."""
    sums = dict.fromkeys(PARTS, 0.0)
    for s in splits:
        for part in PARTS:
            sums[part] += getattr(s, part)
    return Split(**sums)
