"""The output-folder lock, with real processes: one holder, a clear refusal, take-over after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reportlib import lock
from reportlib.errors import LockError

pytestmark = pytest.mark.slow

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reportlib import lock
    d = Path(sys.argv[1])
    with lock.hold(d / ".lock", d / ".lock.json", command="reportlib send --period 2026-10"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _holder(folder: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_is_refused_naming_the_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with (
            pytest.raises(LockError) as err,
            lock.hold(tmp_path / ".lock", tmp_path / ".lock.json"),
        ):
            pytest.fail("the lock was taken twice")
        message = str(err.value)
        assert f"pid {proc.pid}" in message
        assert "(reportlib send --period 2026-10)" in message
        assert str(tmp_path) in message
        assert "\n" not in message
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (tmp_path / ".lock.json").is_file()  # kill -9 left its record behind
    with lock.hold(tmp_path / ".lock", tmp_path / ".lock.json", command="reportlib run") as me:
        assert me.pid == os.getpid()
        assert lock.read_holder(tmp_path / ".lock.json") == me
    assert f"took over the lock of pid {proc.pid}" in caplog.text
    assert "that process is gone" in caplog.text
    assert not (tmp_path / ".lock.json").exists()


def test_the_lock_is_free_again_after_the_block(tmp_path: Path) -> None:
    for _ in range(2):
        with lock.hold(tmp_path / ".lock", tmp_path / ".lock.json"):
            pass
    # And another process can take it at once.
    proc = _holder(tmp_path)
    proc.kill()
    proc.wait()


def test_two_processes_at_once_exactly_one_holds(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from reportlib import lock
        from reportlib.errors import LockError
        d = Path(sys.argv[1])
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        try:
            with lock.hold(d / ".lock", d / ".lock.json"):
                time.sleep(3)
            print("held")
        except LockError as e:
            print("refused", e)
        """
    )
    start = str(time.time() + 4.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), start], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = sorted(p.communicate(timeout=60)[0].split(" ")[0].strip() for p in procs)
    assert outs == ["held", "refused"]
