"""Benchmark `reportlib run` against the render floor of the same packs (DESIGN.md "Performance budgets").

In one process, for each number of workers (default 1 and 2):

(a) the render floor: per node, start a kernel and execute a one-cell notebook with
    papermill, then WeasyPrint the pack's own HTML (charts already drawn, HTML already
    made, neither timed) to PDF, on already-imported worker processes. The floor of k
    workers is the busiest worker's timed seconds;
(b) `reportlib run --force` for every node (run.run: scorecard notebook, then one
    board-pack notebook per node), with the split of each pack as the run itself records
    it (kernel, notebook, charts, render: reportlib/run/timing.py).

Prints the per-pack split (mean, median, max), the charts of a pack (how many, and their
CPU seconds drawn in Python, for packs with and without children), the floor, the ratio
of the run's packs to the floor (goal: at most 1.15 on 2 workers; charts at most 0.3 s a
pack) and the cost per node (worker-seconds a node), which must stay flat as the company
grows. `--svg-cost N` also renders N packs with children with and without their chart
images and prints the CPU seconds WeasyPrint spends drawing the charts. At the sample's
16 nodes on 2 workers it takes a few minutes:

    .venv/bin/python benchmarks/bench_run.py [--customers N] [--months M] [--workers 2]
        [--levels 3 --branches N] [--fresh] [--svg-cost 3]

`--levels 3 --branches N` makes a three-level company (segment / region / branch) with N
branches per region (the sample generator's options). The project lives in benchmarks/_data/.
"""

from __future__ import annotations

import argparse
import inspect
import multiprocessing as mp
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import nbformat

HERE = Path(__file__).resolve().parent
EMPTY_NOTEBOOK = "empty.ipynb"
GOAL_RATIO = 1.15
GOAL_CHARTS = 0.3


class GeneratorTooOld(RuntimeError):
    """The installed sample generator cannot make the company asked for."""


def sample_options(levels: int, branches: int) -> dict[str, int]:
    """The generator's `levels`/`branches` arguments, when a company other than today's is asked for."""
    if levels == 2 and branches == 0:
        return {}  # today's two-level company: any generator makes it
    from reportlib.sample import generate_sample

    known = inspect.signature(generate_sample).parameters
    if "levels" not in known or "branches" not in known:
        raise GeneratorTooOld(
            "this reportlib's sample generator has no `levels`/`branches` options: "
            "--levels/--branches need the generator that makes three-level companies"
        )
    return {"levels": levels, "branches": branches}


def make_project(root: Path, customers: int, months: int, options: dict[str, int]) -> Path:
    """The sample company under `root` (generated once) and its reportlib.toml."""
    from reportlib.sample import generate_sample

    config = root / "reportlib.toml"
    marker = root / ".generated"
    if not marker.is_file():
        generate_sample(
            root / "data" / "sample",
            customers=customers,
            months=months,
            config_dir=root / "data",
            **options,
        )
        config.write_text(
            'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\n', encoding="utf-8"
        )
        marker.touch()
    return config


_started: Any = None
"""The pool's barrier, in each worker: `_warm` returns once every worker has started."""


def _floor_init(scratch: str, started: Any) -> None:
    """Import everything the floor work needs, once per worker process."""
    global _started
    import papermill  # noqa: F401

    from reportlib import charts, commentary, render  # noqa: F401

    _started = started
    os.environ["REPORTLIB_BENCH_SCRATCH"] = scratch
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the kernels' start-up warnings


def _warm(seconds: float) -> int:
    """Wait (up to `seconds`) until every worker has started: each takes one task."""
    _started.wait(seconds)
    return os.getpid()


def _html_file(node: str) -> str:
    return node.replace("/", "_") + ".html"


def _prepare_html(config: str, period: str, node: str) -> tuple[int, float, bool]:
    """The pack's HTML, with its charts drawn, saved for the floor.

    Returns how many charts the pack has, the CPU seconds they took, and whether the node
    has children (a comparison page).
    """
    from reportlib import charts, commentary, render
    from reportlib.config import load_project

    scratch = Path(os.environ["REPORTLIB_BENCH_SCRATCH"])
    project = load_project(config)
    ctx = render.load_context(project, period, node)
    t = time.process_time()
    figures = charts.all_charts(ctx)
    seconds = time.process_time() - t
    count = sum(
        1 for m in (figures.trends, figures.sparklines, figures.comparison) for v in m.values() if v
    )
    html = render.render_html(ctx, figures, commentary.load(project, period, node))
    (scratch / _html_file(node)).write_text(html, encoding="utf-8")
    return count + bool(figures.overview), seconds, bool(ctx.tree.children(node))


CHART_IMAGE = re.compile(r'src="data:image/svg\+xml;base64,[^"]*"')


def _svg_cost(config: str, period: str, node: str) -> tuple[float, float]:
    """CPU seconds of WeasyPrint for the pack's saved HTML, with and without its chart images."""
    from reportlib import render
    from reportlib.config import load_project

    scratch = Path(os.environ["REPORTLIB_BENCH_SCRATCH"])
    ctx = render.load_context(load_project(config), period, node)
    html = (scratch / _html_file(node)).read_text(encoding="utf-8")
    seconds = []
    for text in (html, CHART_IMAGE.sub('src=""', html)):
        t = time.process_time()
        render.write_pdf(text, scratch / "svg-cost.pdf", ctx=ctx)
        seconds.append(time.process_time() - t)
    return seconds[0], seconds[1]


def _floor_node(config: str, period: str, node: str) -> tuple[int, float, float]:
    """One node's floor, timed: a kernel start, and WeasyPrint of the pack's saved HTML.

    Returns the worker's pid, the kernel's and the render's seconds.
    """
    import papermill

    from reportlib import render
    from reportlib.config import load_project

    scratch = Path(os.environ["REPORTLIB_BENCH_SCRATCH"])
    ctx = render.load_context(load_project(config), period, node)  # not timed: not the floor's
    html = (scratch / _html_file(node)).read_text(encoding="utf-8")
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(scratch / EMPTY_NOTEBOOK),
        str(scratch / f"{os.getpid()}.ipynb"),
        kernel_name="python3",
        progress_bar=False,
    )
    t1 = time.perf_counter()
    render.write_pdf(html, scratch / (node.replace("/", "_") + ".pdf"), ctx=ctx)
    return os.getpid(), t1 - t0, time.perf_counter() - t1


def _pool(workers: int, scratch: Path) -> ProcessPoolExecutor:
    context = mp.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_floor_init,
        initargs=(str(scratch), context.Barrier(workers)),
    )
    # Under load a worker can take a while to import: the barrier makes each take one task.
    assert len(set(pool.map(_warm, [600.0] * workers))) == workers, "workers did not all start"
    return pool


def prepare(
    config: Path, period: str, nodes: list[str], workers: int, scratch: Path, svg_cost: int = 0
) -> tuple[list[tuple[int, float, bool]], list[tuple[float, float]]]:
    """Every pack's HTML for the floor (charts drawn in Python): each pack's (charts, CPU-s,
    has children); and, for the first `svg_cost` packs with children, WeasyPrint's CPU
    seconds with and without the chart images."""
    with _pool(workers, scratch) as pool:
        n = len(nodes)
        made = list(pool.map(_prepare_html, [str(config)] * n, [period] * n, nodes))
        parents = [node for node, m in zip(nodes, made, strict=True) if m[2]][:svg_cost]
        k = len(parents)
        costs = list(pool.map(_svg_cost, [str(config)] * k, [period] * k, parents))
    return made, costs


def floor(
    config: Path, period: str, nodes: list[str], workers: int, scratch: Path
) -> tuple[float, list[tuple[float, float]]]:
    """The render floor on `workers` warm processes: the busiest worker's timed seconds.

    Also each node's (kernel, render) seconds.
    """
    with _pool(workers, scratch) as pool:
        n = len(nodes)
        parts = list(pool.map(_floor_node, [str(config)] * n, [period] * n, nodes))
    busy: dict[int, float] = defaultdict(float)
    for pid, kernel, render in parts:
        busy[pid] += kernel + render
    return max(busy.values()), [(k, r) for _, k, r in parts]


def stats(values: Sequence[float]) -> str:
    """`mean 1.23 median 1.20 max 1.50` (seconds)."""
    return (
        f"mean {statistics.fmean(values):5.2f} median {statistics.median(values):5.2f} "
        f"max {max(values):5.2f}"
    )


def pdf_sizes(out: Path, nodes: list[str]) -> list[tuple[str, int, float]]:
    from pypdf import PdfReader

    rows = []
    for node in nodes:
        pdf = out.joinpath(*node.split("/"), "board-pack.pdf")
        rows.append((node, len(PdfReader(pdf).pages), pdf.stat().st_size / 1024))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--levels", type=int, default=2, help="2 (segment/region) or 3 (+ branch)")
    parser.add_argument("--branches", type=int, default=0, help="branches per region (levels 3)")
    parser.add_argument(
        "--fresh", action="store_true", help="also time the run with a fresh kernel per node"
    )
    parser.add_argument("--root", type=Path, default=None, help="default: benchmarks/_data/...")
    parser.add_argument("--list-packs", action="store_true", help="print every pack's pages")
    parser.add_argument(
        "--svg-cost",
        type=int,
        default=0,
        metavar="N",
        help="time WeasyPrint with and without the chart images for N packs with children",
    )
    args = parser.parse_args(argv)

    from reportlib import notebook, pipeline
    from reportlib import run as runner
    from reportlib.config import load_project
    from reportlib.run.timing import PARTS

    try:
        options = sample_options(args.levels, args.branches)
    except GeneratorTooOld as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    root = args.root or HERE / "_data" / (
        f"run-{args.customers}c-{args.months}m-l{args.levels}-b{args.branches}"
    )
    config = make_project(root, args.customers, args.months, options)
    project = load_project(config)
    t = time.perf_counter()
    period = pipeline.resolve_period(project, None)
    result = notebook.scorecard_step(project, period)
    compute_s = time.perf_counter() - t
    nodes = list(result.tree.ids)
    print(
        f"project {root}: {args.customers} customers, {args.months} months, "
        f"{args.levels} levels, period {period}, {len(nodes)} nodes"
    )
    print(f"compute in-process (load, validate, all KPIs, write): {compute_s:.1f}s")

    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        scratch = Path(tmp)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, scratch / EMPTY_NOTEBOOK)
        t = time.perf_counter()
        made, costs = prepare(config, period, nodes, max(args.workers), scratch, args.svg_cost)
        print(f"charts drawn in Python for the floor's HTML ({time.perf_counter() - t:.1f}s wall):")
        for label, kids in (("with children", True), ("without children", False)):
            group = [m for m in made if m[2] == kids]
            if group:
                print(
                    f"  {len(group)} packs {label}: {statistics.median(m[0] for m in group):g} "
                    f"charts a pack, CPU-s a pack {stats([m[1] for m in group])}"
                )
        for with_charts, without in costs:
            print(
                f"  WeasyPrint of a pack with children: {with_charts:.2f} CPU-s, "
                f"{without:.2f} without its chart images: charts {with_charts - without:.2f} CPU-s "
                f"({(with_charts - without) / with_charts:.0%})"
            )
        for k in args.workers:
            floor_s, floor_parts = floor(config, period, nodes, k, scratch)
            print(
                f"\n[{k} worker{'s' if k > 1 else ''}] render floor {floor_s:.1f}s "
                f"({floor_s * k / len(nodes):.2f} worker-s a node); per pack: "
                f"kernel start + empty notebook {statistics.fmean(p[0] for p in floor_parts):.2f}s, "
                f"WeasyPrint {statistics.fmean(p[1] for p in floor_parts):.2f}s"
            )
            variants = [("run", False)] + ([("run --fresh-kernels", True)] if args.fresh else [])
            for label, fresh in variants:
                t = time.perf_counter()
                run = runner.run(project, period, workers=k, force=True, fresh_kernels=fresh)
                total = time.perf_counter() - t
                failed = [o.node for o in run.nodes if o.status != "done"]
                if failed:
                    print(f"  {label}: FAILED nodes {failed}", file=sys.stderr)
                    return 1
                print(
                    f"  {label}: total {total:.1f}s = scorecard step {run.scorecard_seconds:.1f}s "
                    f"+ packs {run.packs_seconds:.1f}s "
                    f"(+{total - run.scorecard_seconds - run.packs_seconds:.1f}s other); "
                    f"{run.packs_seconds * k / len(nodes):.2f} worker-s a node"
                )
                print("  per pack, as the run recorded it (s):")
                for part in PARTS:
                    print(f"    {part:<9} {stats([getattr(o.split, part) for o in run.nodes])}")
                print(f"    {'total':<9} {stats([o.split.total for o in run.nodes])}")
                charts_mean = statistics.fmean(o.split.charts for o in run.nodes)
                ratio = run.packs_seconds / floor_s
                print(
                    f"  ratio packs/floor {ratio:.2f} (goal <= {GOAL_RATIO} on 2 workers); "
                    f"charts {charts_mean:.2f}s a pack (goal <= {GOAL_CHARTS}); "
                    f"whole run/(floor + compute) {total / (floor_s + compute_s):.2f}"
                )
    sizes = pdf_sizes(project.settings.period_dir(period), nodes)
    pages = [r[1] for r in sizes]
    kib = [r[2] for r in sizes]
    print(
        f"\npacks: {len(sizes)} PDFs, {min(pages)}-{max(pages)} pages (median {statistics.median(pages):g}), "
        f"{min(kib):.0f}-{max(kib):.0f} KiB (median {statistics.median(kib):.0f} KiB)"
    )
    if args.list_packs:
        for node, n_pages, size in sizes:
            print(f"  {node:<22} {n_pages:>3} pages {size:>6.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
