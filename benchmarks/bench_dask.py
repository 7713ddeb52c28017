"""Benchmark the board packs on local worker processes against a Dask LocalCluster.

The sample company (`generate_sample`, 16 nodes) under benchmarks/_data/dask/, then for
each executor `reportlib run --force` of one period (run.run in this process: scorecard
notebook, then one board-pack notebook per node): local with N worker processes, and
`--executor dask` on a `distributed.LocalCluster` of N worker processes of one thread each,
started before the timing (its start-up is not counted). Prints the total and the packs'
wall time of each and the ratio dask / local, and checks that both runs made the same PDFs.

    .venv/bin/python benchmarks/bench_dask.py [--customers N] [--months M] [--workers N]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


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


def digests(root: Path, period: str) -> dict[str, str]:
    """sha256 of every pack PDF of the period, by node folder."""
    folder = root / "output" / period
    return {
        str(p.parent.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.pdf"))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from distributed import LocalCluster

    from reportlib import run as runner
    from reportlib.config import load_project

    root = HERE / "_data" / "dask"
    config = make_project(root, args.customers, args.months)
    figures: dict[str, tuple[float, float, int]] = {}
    pdfs: dict[str, dict[str, str]] = {}
    with LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        for name, executor, scheduler in (
            ("local", "local", None),
            ("dask", "dask", cluster.scheduler_address),
        ):
            result = runner.run(
                load_project(config),
                workers=args.workers,
                force=True,
                executor=executor,
                scheduler=scheduler,
            )
            if result.failed:
                print(f"{name}: failed packs: {[o.node for o in result.failed]}", file=sys.stderr)
                return 1
            figures[name] = (result.seconds, result.packs_seconds, len(result.nodes))
            pdfs[name] = digests(root, result.period)
    print(f"{args.customers} customers, {args.months} months, {args.workers} workers")
    for name, (total, packs, nodes) in figures.items():
        print(f"{name:>5}: total {total:6.1f} s, packs {packs:6.1f} s ({nodes} nodes)")
    ratio = figures["dask"][1] / figures["local"][1]
    print(f"packs, dask / local: {ratio:.2f}")
    same = pdfs["dask"] == pdfs["local"]
    print(f"same PDF bytes: {same} ({len(pdfs['local'])} packs)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
