"""Real `send` processes against a real SMTP server: two at once, and one killed mid-DATA.

The server holds its reply to DATA until the test releases it, so the first process is
known to be inside DATA (the message stored, no reply yet) while the test acts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib import deliver
from reportlib.config import load_project
from reportlib.layout import PeriodOutput

from .conftest import PERIOD, Misbehaving, use_server

pytestmark = [pytest.mark.slow, pytest.mark.long]

ANN = "board@example.com"
BOB = "bob@example.com"
WAIT = 180
"""Seconds to wait for a process to start and reach DATA (imports are slow on a busy machine)."""


def _start(root: Path) -> subprocess.Popen[str]:
    args = ["-m", "reportlib.cli", "send", "--config", str(root / "reportlib.toml")]
    return subprocess.Popen(
        [sys.executable, *args, "--period", PERIOD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture
def project(delivery_run: Path, server: tuple[Misbehaving, int], tmp_path: Path) -> Path:
    _, port = server
    # The first send waits on its held DATA reply for as long as the second takes to start
    # and stop: on a busy machine that is longer than the 10 s other delivery tests allow.
    return use_server(delivery_run, tmp_path / "project", port, timeout=WAIT)


def test_two_sends_at_once_give_one_copy_each_and_the_second_names_the_holder(
    project: Path, server: tuple[Misbehaving, int]
) -> None:
    handler, _ = server
    handler.hold = True
    first = _start(project)
    try:
        assert handler.holding.wait(WAIT), "the first send never reached DATA"
        second = _start(project)
        _, err = second.communicate(timeout=WAIT)
        assert second.returncode == 2
        (line,) = err.strip().splitlines()
        assert f"pid {first.pid} on " in line and "send" in line and "since" in line
    finally:
        handler.release.set()
        out, err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, err
    assert f"sent     {ANN}" in out and f"sent     {BOB}" in out
    assert handler.copies(ANN) == 1 and handler.copies(BOB) == 1


def test_kill_9_mid_data_then_a_rerun_gives_at_most_one_copy_reported_unknown(
    project: Path, server: tuple[Misbehaving, int]
) -> None:
    handler, _ = server
    handler.hold = True
    proc = _start(project)
    try:
        assert handler.holding.wait(WAIT), "send never reached DATA"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)
    assert proc.returncode == -signal.SIGKILL
    log = PeriodOutput(project / "output", PERIOD).deliveries
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(e["recipient"], e["outcome"]) for e in entries] == [(ANN, "intent")]
    handler.hold = False
    handler.release.set()
    rerun = _start(project)
    out, err = rerun.communicate(timeout=WAIT)
    assert rerun.returncode == 1, err
    assert f"unknown  {ANN}: " in out and f"sent     {BOB}" in out
    assert "1 of 2 recipients unknown" in err
    assert handler.copies(ANN) == 1 and handler.copies(BOB) == 1
    result = deliver.send(load_project(project / "reportlib.toml"), PERIOD)
    assert {o.email: o.status for o in result.outcomes} == {ANN: "unknown", BOB: "skipped"}
    assert handler.copies(ANN) == 1
