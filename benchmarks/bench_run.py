"""Benchmark `reportlib run` against the floor of the same work (DESIGN.md "Performance budgets").

In one process, for 1 and for 2 workers:

(a) the floor: per node, start a kernel and execute a one-cell notebook with papermill, then
    load the node's figures, draw the same charts (charts.all_charts) and render the same pack
    (render.render_html + write_pdf) directly in Python, in already-imported worker processes;
(b) `reportlib run --force` for every node (run.run: scorecard notebook, then one
    board-pack notebook per node).

Prints both, the ratio (b)/(a) (goal: at most 1.25) and the packs' pages and size.
The project (the default 5000-customer, 24-month sample) lives in benchmarks/_data/.

    .venv/bin/python benchmarks/bench_run.py [--customers N] [--months M] [--workers 1 2] [--fresh]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
EMPTY_NOTEBOOK = "empty.ipynb"


def make_project(root: Path, customers: int, months: int) -> Path:
    """The sample company under `root` (generated once) and its reportlib.toml."""
    from reportlib.sample import generate_sample

    config = root / "reportlib.toml"
    marker = root / f".sample-{customers}-{months}"
    if not marker.is_file():
        generate_sample(
            root / "data" / "sample", customers=customers, months=months, config_dir=root / "data"
        )
        config.write_text(
            'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\n', encoding="utf-8"
        )
        marker.touch()
    return config


def _floor_init(scratch: str) -> None:
    """Import everything the floor work needs, once per worker process."""
    import papermill  # noqa: F401

    from reportlib import charts, commentary, render  # noqa: F401

    os.environ["REPORTLIB_BENCH_SCRATCH"] = scratch
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the kernels' start-up warnings


def _warm(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _floor_node(config: str, period: str, node: str) -> dict[str, float]:
    """The floor of one node's pack: a kernel start, and the pack's charts and PDF in Python."""
    import papermill

    from reportlib import charts, commentary, render
    from reportlib.config import load_project

    scratch = Path(os.environ["REPORTLIB_BENCH_SCRATCH"])
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(scratch / EMPTY_NOTEBOOK),
        str(scratch / f"{os.getpid()}.ipynb"),
        kernel_name="python3",
        progress_bar=False,
    )
    t1 = time.perf_counter()
    project = load_project(config)
    ctx = render.load_context(project, period, node)
    t2 = time.perf_counter()
    figures = charts.all_charts(ctx)
    t3 = time.perf_counter()
    html = render.render_html(ctx, figures, commentary.load(project, period, node))
    render.write_pdf(html, scratch / (node.replace("/", "_") + ".pdf"), ctx=ctx)
    t4 = time.perf_counter()
    return {"kernel": t1 - t0, "load": t2 - t1, "charts": t3 - t2, "render": t4 - t3}


def floor(
    config: Path, period: str, nodes: list[str], workers: int, scratch: Path
) -> tuple[float, list[dict]]:
    """Wall time of the floor work for every node on `workers` warm processes."""
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_floor_init, initargs=(str(scratch),)
    ) as pool:
        assert len(set(pool.map(_warm, [1.0] * workers))) == workers, "workers did not all start"
        t = time.perf_counter()
        parts = list(
            pool.map(_floor_node, [str(config)] * len(nodes), [period] * len(nodes), nodes)
        )
        return time.perf_counter() - t, parts


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
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--fresh", action="store_true", help="also time the run with a fresh kernel per node"
    )
    parser.add_argument("--root", type=Path, default=HERE / "_data" / "run")
    args = parser.parse_args(argv)

    from reportlib import notebook, pipeline
    from reportlib import run as runner
    from reportlib.config import load_project

    config = make_project(args.root, args.customers, args.months)
    project = load_project(config)
    t = time.perf_counter()
    period = pipeline.resolve_period(project, None)
    result = notebook.scorecard_step(project, period)
    compute_s = time.perf_counter() - t
    nodes = list(result.tree.ids)
    print(
        f"project {args.root}: {args.customers} customers, {args.months} months, period {period}, {len(nodes)} nodes"
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
        rows = []
        for k in args.workers:
            floor_s, parts = floor(config, period, nodes, k, scratch)
            per = {key: statistics.fmean(p[key] for p in parts) for key in parts[0]}
            print(
                f"\n[{k} worker{'s' if k > 1 else ''}] floor {floor_s:.1f}s; per node: kernel start + empty notebook "
                f"{per['kernel']:.2f}s, load {per['load']:.2f}s, charts {per['charts']:.2f}s, "
                f"HTML+PDF {per['render']:.2f}s"
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
                node_mean = statistics.fmean(o.seconds for o in run.nodes)
                print(
                    f"  {label}: total {total:.1f}s = scorecard step {run.scorecard_seconds:.1f}s + packs "
                    f"{run.packs_seconds:.1f}s (+{total - run.scorecard_seconds - run.packs_seconds:.1f}s other); "
                    f"mean per node {node_mean:.2f}s"
                )
                print(
                    f"  ratio packs/floor {run.packs_seconds / floor_s:.2f}; "
                    f"whole run/(floor + compute) {total / (floor_s + compute_s):.2f}; "
                    f"whole run/floor {total / floor_s:.2f}  (goal <= 1.25)"
                )
                rows.append((k, label, floor_s, total, run.packs_seconds))
    sizes = pdf_sizes(project.settings.period_dir(period), nodes)
    pages = [r[1] for r in sizes]
    kib = [r[2] for r in sizes]
    print(
        f"\npacks: {len(sizes)} PDFs, {min(pages)}-{max(pages)} pages (median {statistics.median(pages):g}), "
        f"{min(kib):.0f}-{max(kib):.0f} KiB (median {statistics.median(kib):.0f} KiB)"
    )
    for node, n_pages, size in sizes:
        print(f"  {node:<22} {n_pages:>3} pages {size:>6.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
