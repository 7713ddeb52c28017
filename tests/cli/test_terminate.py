"""SIGTERM (a scheduler's timeout, `kill`) unwinds `reportlib run` like Ctrl-C (real processes).

Before, the signal ended the parent at once and its workers' Jupyter kernels ran on. Now the
run exits 143 with one line, and every process it started (workers, kernels) is gone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ..conftest import write_project

pytestmark = [pytest.mark.slow, pytest.mark.long]

PERIOD = "2026-03"
REPORTLIB = Path(sys.executable).with_name("reportlib")
ACCEPT = "fixture: two planted out-of-range scores"


def _kernels(parent: psutil.Process) -> list[psutil.Process]:
    """The Jupyter kernels started under `parent` (its workers' warm sessions)."""
    found = []
    for p in parent.children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()):
                found.append(p)
        except psutil.NoSuchProcess:
            continue
    return found


def test_sigterm_stops_the_run_its_workers_and_their_kernels(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    args = [str(REPORTLIB), "run", "--period", PERIOD, "--workers", "2"]
    process = subprocess.Popen(
        [*args, "--accept-quality", ACCEPT, "--force", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(process.pid)
    started: list[psutil.Process] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        kernels = _kernels(parent)
        if kernels:  # a worker's (or the scorecard's) kernel is up: the run is under way
            started = parent.children(recursive=True)
            break
        time.sleep(0.2)
    assert started, "the run ended or never started a kernel"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "terminated", stderr
    gone, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, f"left running after SIGTERM: {[p.pid for p in alive]}"
    assert len(gone) == len(started)
