"""Compute in a warehouse at 100M survey rows: a DuckDB file with `compute = "warehouse"`.

The growth table's warehouse row. A 100M-row company cannot be generated in one Python
process here, so the benchmark builds it from bench_compute's generated sample (`--base-scale
0.1`: 1M responses, 500k tickets, 40k customers, cached under benchmarks/_data/) copied
`--copies` times (default 100) into one DuckDB file, each copy with its own customer, response,
ticket, invoice and alias ids (an id gets the suffix "-<copy>"). The copies are whole
companies side by side, so the quality rules see the same share of bad rows as in one copy;
workforce and manual values stay single (they are keyed by node, not by customer).

In the same run, each in a fresh process, it times the floor (bench_compute's bare-DuckDB
aggregations, reading the same file) and `reportlib compute` with `compute = "warehouse"` on
the file, and prints wall, CPU, peak RSS and compute / floor. No assertions.

    .venv/bin/python benchmarks/bench_warehouse_rows.py [--copies 100] [--base-scale 0.1]

With REPORTLIB_MEMORY_LIMIT set (e.g. 4GB) both the floor and compute cap DuckDB's memory
at that size, so the two are compared under the same cap.

The file is kept (benchmarks/_data/warehouse-<n>m/) and reused while its parameters hold.
2 cores, shared with any other work on the machine: run it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_compute import (  # noqa: E402
    CHILD,
    FLOOR,
    PERIOD,
    default_folder,
    month_window,
    prepare,
    run_child,
)

# Each customer-keyed table and the columns that take the copy's suffix.
COPIED = {
    "customers": ("customer_id",),
    "customer_aliases": ("external_id", "customer_id"),
    "survey_responses": ("response_id", "customer_id"),
    "tickets": ("ticket_id", "customer_id"),
    "revenue": ("invoice_id", "customer_id"),
}

FLOOR_PARQUET = """def f(name):
    return "read_parquet('" + folder + "/" + name + ".parquet')"
"""
FLOOR_ATTACHED = """import os
con0 = duckdb.connect()
if os.environ.get("REPORTLIB_MEMORY_LIMIT"):
    con0.execute("SET memory_limit = '" + os.environ["REPORTLIB_MEMORY_LIMIT"] + "'")
con0.execute("ATTACH '" + folder + "' AS w (READ_ONLY)")
def f(name):
    return "w." + name
"""


def floor_on_file() -> str:
    """bench_compute's floor, reading the tables of an attached DuckDB file."""
    code = FLOOR.replace(FLOOR_PARQUET, FLOOR_ATTACHED).replace(
        "con = duckdb.connect()", "con = con0"
    )
    if "w." not in code or "con = con0" not in code:
        raise SystemExit("bench_compute's FLOOR changed shape; update floor_on_file()")
    return code


def build(base: Path, target: Path, copies: int) -> dict[str, int]:
    """The DuckDB file: every base table, the customer-keyed ones `copies` times."""
    stamp = target / "params.json"
    params = {"base": str(base), "copies": copies, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text())["params"] == params:
        return json.loads(stamp.read_text())["rows"]
    if target.exists():
        shutil.rmtree(target)
    (target / "data").mkdir(parents=True)
    for name in ("kpis.yaml", "segments.yaml", "targets.csv", "distribution.yaml"):
        if (base / "data" / name).is_file():
            shutil.copy(base / "data" / name, target / "data" / name)
    file = target / "data" / "warehouse.duckdb"
    con = duckdb.connect(str(file))
    rows: dict[str, int] = {}
    for parquet in sorted((base / "data" / "sample").glob("*.parquet")):
        table = parquet.stem
        source = f"read_parquet('{parquet}')"
        if table in COPIED:
            replaced = ", ".join(f"{c} || '-' || k AS {c}" for c in COPIED[table])
            sql = f"SELECT * EXCLUDE (k) REPLACE ({replaced}) FROM range({copies}) r(k), {source}"
        else:
            sql = f"SELECT * FROM {source}"
        t = time.perf_counter()
        con.execute(f'CREATE TABLE "{table}" AS {sql}')
        rows[table] = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        print(f"  {table}: {rows[table]:,} rows ({time.perf_counter() - t:.1f} s)")
    con.close()
    (target / "reportlib.toml").write_text(
        'data_dir = "data"\nsource = "data/warehouse.duckdb"\ncompute = "warehouse"\n'
        'output_dir = "output"\ntimezone = "UTC"\n[quality]\nallow_credit_notes = true\n'
    )
    stamp.write_text(json.dumps({"params": params, "rows": rows}))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--base-scale", type=float, default=0.1)
    ap.add_argument("--no-floor", action="store_true", help="time compute alone")
    ap.add_argument("--build-only", action="store_true", help="build the file, time nothing")
    args = ap.parse_args()
    customers, surveys, tickets = (
        round(n * args.base_scale) for n in (400_000, 10_000_000, 5_000_000)
    )
    base = default_folder(surveys)
    prepare(base, customers, surveys, tickets, 24)
    target = HERE / "_data" / f"warehouse-{surveys * args.copies / 1e6:g}m"
    t = time.perf_counter()
    rows = build(base, target, args.copies)
    print(f"data: {target} ({time.perf_counter() - t:.1f} s to build or check)")
    print(
        f"  survey_responses {rows['survey_responses']:,}  tickets {rows['tickets']:,}  "
        f"revenue {rows['revenue']:,}  customers {rows['customers']:,}"
    )
    file = target / "data" / "warehouse.duckdb"
    print(f"  file {file.stat().st_size / 2**30:.1f} GiB")
    if args.build_only:
        return 0
    lo, hi = month_window()
    runs = [("compute (warehouse)", CHILD, str(target / "reportlib.toml"), PERIOD)]
    if not args.no_floor:
        runs.insert(0, ("floor", floor_on_file(), str(file), str(lo), str(hi)))
    seen: dict[str, dict] = {}
    for what, code, *child_args in runs:
        wall, child = run_child(code, *child_args)
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in child["steps"].items())
        print(
            f"{what}: process wall {wall:.1f} s ({steps}); CPU {child['cpu']:.1f} s; "
            f"peak RSS {int(child['rss_kib']) / 1024:.0f} MiB"
        )
        seen[what] = {"wall": wall, **child}
    if "floor" in seen:
        c, f = seen["compute (warehouse)"], seen["floor"]
        print(f"compute / floor: wall {c['wall'] / f['wall']:.2f}, CPU {c['cpu'] / f['cpu']:.2f}")
    print(f"{os.cpu_count()} cores (shared with any other work on this machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
