"""One process at a time per period: `run` and `compute` hold the period's lock (real processes).

Two `reportlib run --force` on one period at once: one succeeds, the other exits 2 at once with
one line naming the holder (pid, command), and the packs are built from the one scorecard the
winner computed. A `compute` while another process holds the lock is refused the same way, and
writes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportlib import fileio, manifest
from reportlib.layout import PeriodOutput

from ..conftest import write_project

pytestmark = [pytest.mark.slow, pytest.mark.long]

PERIOD = "2026-03"
REPORTLIB = Path(sys.executable).with_name("reportlib")

# Holds the period's lock as `reportlib` would, until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from reportlib import lock
from reportlib.layout import PeriodOutput
out = PeriodOutput(Path(sys.argv[1]), sys.argv[2])
with lock.hold(out.lock, out.lock_holder, command="reportlib send --period " + sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _wait_for_holder(out: PeriodOutput, process: subprocess.Popen[str]) -> dict[str, object]:
    """The holder record once `process` holds the lock (it is written just after the lock is taken)."""
    while process.poll() is None:
        if out.lock_holder.is_file():
            try:
                return dict(json.loads(out.lock_holder.read_text()))
            except ValueError:  # written atomically, but be safe
                pass
        time.sleep(0.05)
    raise AssertionError(f"the first process ended before holding the lock: {process.returncode}")


def test_compute_is_refused_while_the_period_is_locked(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    out = PeriodOutput(tmp_path / "output", PERIOD)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out.root), PERIOD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = subprocess.run(
            [str(REPORTLIB), "compute", "--period", PERIOD, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"pid {holder.pid}" in lines[0]
    assert f"reportlib send --period {PERIOD}" in lines[0]
    # Nothing was written to the period folder by the refused compute.
    assert not any(p.is_file() for p in out.scorecard_files)
    assert not out.manifest.exists()
    # Once the lock is free, compute runs, and its manifest does not list the lock files.
    again = subprocess.run(
        [str(REPORTLIB), "compute", "--period", PERIOD, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    listed = manifest.output_files(out)
    assert listed and not {out.lock.name, out.lock_holder.name} & set(listed)


def test_two_runs_at_once_one_wins_the_other_names_it(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    out = PeriodOutput(tmp_path / "output", PERIOD)
    argv = [str(REPORTLIB), "run", "--period", PERIOD, "--force", "--node", "all"]
    argv += ["--workers", "1", "--config", str(config)]
    env = {**os.environ, "NO_COLOR": "1"}
    first = subprocess.Popen(
        argv, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        holder = _wait_for_holder(out, first)
        assert holder["pid"] == first.pid
        # The second run starts while the first holds the lock (it runs a kernel for seconds).
        second = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        still_running = first.poll() is None
        _, first_err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert still_running, "the first run ended before the second tried: nothing was tested"
    assert first.returncode == 0, first_err
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"pid {first.pid}" in lines[0] and "reportlib run --period" in lines[0]
    # One consistent scorecard: the manifest (written by the winner alone) lists the files on
    # disk with their hashes, and the pack's stamp names that scorecard.
    recorded = json.loads(out.manifest.read_text())
    for rel in ("scorecard.parquet", "history.parquet", "all/board-pack.pdf"):
        p = out.dir / rel
        assert recorded["files"][rel]["sha256"] == fileio.sha256(p), rel
    stamp = manifest.stamp(manifest.load(out), "all")
    assert stamp["status"] == "done"
    figures = {p.name: fileio.sha256(p) for p in (out.scorecard_parquet, out.history)}
    assert (
        stamp["inputs"]["scorecard"] == manifest.input_digests({"scorecard": figures})["scorecard"]
    )
    assert not {out.lock.name, out.lock_holder.name} & set(recorded["files"])
    assert not out.lock_holder.exists()
