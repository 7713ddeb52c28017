"""Benchmark `compute` at scale: ~10 million survey responses and ~5 million tickets.

Generates a scaled sample (Parquet) once under benchmarks/_data/, then runs the whole
`reportlib compute` (load, validation, all nodes × the trend window, writing the files)
in a fresh process and prints its wall time and peak RSS. Budget (DESIGN.md
"Performance budgets"): under 30 s and under 2 GiB on 2 cores.

    python benchmarks/bench_compute.py [--customers 400000] [--surveys 10000000] [--tickets 5000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from reportlib.config import load_project
from reportlib.pipeline import compute
project = load_project(sys.argv[1])
result = compute(project, "2026-10")
print(json.dumps({"wall": time.perf_counter() - t0, "steps": result.timings,
                  "rows": int(len(result.scorecard.frame))}))
"""


def prepare(folder: Path, customers: int, surveys: int, tickets: int, months: int) -> dict:
    """Generate the scaled sample once; reuse it when the parameters are unchanged."""
    from reportlib.sample import generate_sample

    stamp = folder / "params.json"
    params = {
        "customers": customers,
        "surveys": surveys,
        "tickets": tickets,
        "months": months,
        "calibration": 2,
    }
    if stamp.is_file() and json.loads(stamp.read_text()).get("params") == params:
        return json.loads(stamp.read_text())
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    # Share of customer-months that are active and answer surveys / open tickets, as
    # measured on the generator (400k customers, 24 months: rates 1.9 and 0.87 give
    # 10.09M responses and 4.98M tickets).
    survey_months = customers * months * 0.553
    ticket_months = customers * months * 0.596
    t0 = time.perf_counter()
    report = generate_sample(
        folder / "data" / "sample",
        customers=customers,
        months=months,
        fmt="parquet",
        config_dir=folder / "data",
        surveys_per_customer=surveys / survey_months,
        tickets_per_customer=tickets / ticket_months,
    )
    info = {"params": params, "generate_seconds": time.perf_counter() - t0, "rows": report.tables}
    (folder / "reportlib.toml").write_text(
        'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\ntimezone = "UTC"\n'
        "[quality]\nallow_credit_notes = true\n"
    )
    stamp.write_text(json.dumps(info))
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=400_000)
    ap.add_argument("--surveys", type=int, default=10_000_000)
    ap.add_argument("--tickets", type=int, default=5_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2, help="runs of compute; the best is reported")
    ap.add_argument("--data", type=Path, default=HERE / "_data" / "compute")
    args = ap.parse_args()

    info = prepare(args.data, args.customers, args.surveys, args.tickets, args.months)
    rows = info["rows"]
    print(f"data: {args.data}")
    print(
        f"  survey_responses {rows['survey_responses']:,}  tickets {rows['tickets']:,}  "
        f"revenue {rows['revenue']:,}  customers {rows['customers']:,}"
    )
    print(f"  generated in {info['generate_seconds']:.1f} s (cached after the first run)")

    best = None
    for i in range(args.repeat):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.data / "reportlib.toml")],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        # ru_maxrss of children is the largest child so far (KiB on Linux).
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child = json.loads(out.stdout.strip().splitlines()[-1])
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in child["steps"].items())
        print(
            f"run {i + 1}: process wall {wall:.1f} s (compute {child['wall']:.1f} s: {steps}); "
            f"peak RSS of the largest run so far {peak_kib / 1024:.0f} MiB"
        )
        if best is None or wall < best[0]:
            best = (wall, peak_kib)
    wall, peak = best
    ok = wall < 30 and peak < 2 * 1024 * 1024
    print(
        f"compute, all nodes × {args.months} months: best wall {wall:.1f} s, peak RSS {peak / 1024:.0f} MiB "
        f"(budget 30 s, 2048 MiB): {'within budget' if ok else 'OVER BUDGET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
