"""Compute on PostgreSQL in the warehouse vs streamed into the embedded DuckDB (docs/warehouse.md).

Generates the sample company (`--customers`, default 20 000), loads it into a PostgreSQL
database with native column types, then runs `compute` twice: `compute = "warehouse"`
and `compute = "local"`. Prints the wall time of each step and the rows that crossed the
connection (every fetch of psycopg's cursors is counted). No assertions.

    .venv/bin/python benchmarks/bench_warehouse.py [--customers 20000] [--url postgresql://...]
        [--compute both|warehouse|local]

Without `--url` a private PostgreSQL server is started in a temporary folder (Debian's
server programs, as the tests do) and removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reportlib import pipeline  # noqa: E402
from reportlib.config import load_project  # noqa: E402
from reportlib.sample import generate_sample  # noqa: E402
from tests.warehouse.conftest import load_postgres, write_config  # noqa: E402


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    """initdb + pg_ctl in a temporary folder (as the `postgres` user under root); its URL."""
    found = shutil.which("initdb") or max(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(found).resolve().parent
    base = Path(tempfile.mkdtemp(prefix="reportlib-bench-pg-"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--no-locale")  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "log"), "-o", options,
        "-w", "start")  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def counting() -> Iterator[list[int]]:
    """Rows fetched through psycopg while the block runs: [rows, statements]."""
    import psycopg

    counts = [0, 0]
    saved = []
    for cls in (psycopg.Cursor, psycopg.ServerCursor):
        for method in ("fetchall", "fetchmany", "fetchone"):
            fetch = getattr(cls, method)
            saved.append((cls, method, fetch))

            def counted(self: object, *a: object, _f=fetch, **k: object) -> object:
                out = _f(self, *a, **k)
                counts[0] += len(out) if isinstance(out, list) else int(out is not None)
                return out

            setattr(cls, method, counted)
        execute = cls.execute
        saved.append((cls, "execute", execute))

        def run(self: object, *a: object, _e=execute, **k: object) -> object:
            counts[1] += 1
            return _e(self, *a, **k)

        cls.execute = run  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        for cls, method, fn in saved:
            setattr(cls, method, fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--url", help="a PostgreSQL server URL (a database is created on it)")
    parser.add_argument(
        "--compute",
        choices=("both", "warehouse", "local"),
        default="both",
        help="which path(s) to time (default: both)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportlib-bench-wh-"))
    t = time.perf_counter()
    report = generate_sample(
        work / "data" / "sample",
        customers=args.customers,
        months=args.months,
        config_dir=work / "data",
    )
    print(f"sample: {args.customers} customers, {report.tables} ({time.perf_counter() - t:.1f} s)")
    with contextlib.ExitStack() as stack:
        server = args.url or stack.enter_context(private_server())
        t = time.perf_counter()
        url = load_postgres(server, work / "data" / "sample", f"bench_{os.getpid()}")
        print(f"loaded into PostgreSQL in {time.perf_counter() - t:.1f} s")
        total = sum(v for k, v in report.tables.items() if k != "kpi_values")
        paths = ("warehouse", "local") if args.compute == "both" else (args.compute,)
        for compute in paths:
            config = write_config(work, url, f'compute = "{compute}"\n')
            with counting() as counts:
                t = time.perf_counter()
                result = pipeline.compute_scorecard(load_project(config))
                wall = time.perf_counter() - t
            steps = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
            print(
                f"compute = {compute:9s}: {wall:6.1f} s ({steps}); rows fetched {counts[0]:,} "
                f"of {total:,} input rows ({counts[0] / total:.1%}); statements {counts[1]:,}"
            )
    shutil.rmtree(work, ignore_errors=True)
    print("note: wall times on a machine whose 2 cores are shared with other jobs")


if __name__ == "__main__":
    main()
