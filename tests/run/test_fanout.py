"""The fan-out: a node that fails, times out or loses its worker stops only itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportlib import cli
from reportlib import notebook as rl
from reportlib.config import load_project
from reportlib.run import NodeOutcome, fanout
from reportlib.run.executor import Failed, Finished
from reportlib.run.plan import PackTask

from ..conftest import write_project
from .test_kernel import notebook

PERIOD = "2026-03"
NODES = ("all", "ent", "ent/eu", "ent/us", "smb", "smb/eu", "smb/us")
SLOW = "smb/us"


def _task(tmp_path: Path) -> PackTask:
    return PackTask(
        node="ent",
        notebook=tmp_path / "board_pack.ipynb",
        executed=tmp_path / "ent" / "board_pack.ipynb",
        pdf=tmp_path / "ent" / "board-pack.pdf",
        parameters={"node": "ent"},
        stamp={"status": "done", "fingerprint": "f" * 64, "inputs": {"node": "d"}},
        reason="not run before",
    )


def test_a_dead_worker_fails_its_node_with_the_reason(tmp_path: Path) -> None:
    task = _task(tmp_path)
    outcome = fanout.outcome(task, Failed(0, 2, "worker process died (exit code 9)"))
    assert (outcome.node, outcome.status, outcome.worker) == ("ent", "failed", 2)
    assert outcome.failure is not None
    assert outcome.failure.describe() == "WorkerError: worker process died (exit code 9)"
    assert outcome.stamp() == {
        "fingerprint": "f" * 64,
        "inputs": {"node": "d"},
        "status": "failed",
        "seconds": 0.0,
        "worker": 2,
        "error": {
            "cell_index": None,
            "execution_count": None,
            "source": "",
            "ename": "WorkerError",
            "evalue": "worker process died (exit code 9)",
        },
    }


def test_a_finished_node_keeps_its_outcome_and_gets_its_worker(tmp_path: Path) -> None:
    task = _task(tmp_path)
    task.pdf.parent.mkdir(parents=True)
    task.pdf.write_bytes(b"%PDF-1.7\n")  # the worker wrote it where this machine sees it
    sent = NodeOutcome("ent", "done", 1.5, task.pdf, task.executed, task.stamp)
    outcome = fanout.outcome(task, Finished(0, 3, sent))
    assert outcome == NodeOutcome("ent", "done", 1.5, task.pdf, task.executed, task.stamp, None, 3)


@pytest.mark.slow
@pytest.mark.long
def test_a_cell_over_the_timeout_fails_only_its_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project's own notebooks/ with a board pack that hangs for one node; 2 s per cell.

    The scorecard is computed beforehand, so the project's scorecard.ipynb has nothing to do
    and no cell but the hanging one comes near the 2 s.
    """
    config = write_project(
        tmp_path,
        settings='timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\ncell_timeout_seconds = 2\n',
    )
    params = 'period = None\nnode = "all"\nconfig = None\noutput_dir = None'
    rl.scorecard_step(load_project(config), PERIOD)
    notebook(tmp_path / "notebooks" / "scorecard.ipynb", params + "\naccept_quality = None")
    notebook(
        tmp_path / "notebooks" / "board_pack.ipynb",
        params,
        "import time\n"
        "from reportlib import pipeline, render\n"
        "project = pipeline.open_project(config, output_dir)",
        f"if node == {SLOW!r}:\n    time.sleep(60)",
        "render.default_out(project, period, node).write_bytes(b'%PDF-1.4 stub')",
    )
    code = cli.main(["run", "--period", PERIOD, "--workers", "2", "--config", str(config)])
    out = capsys.readouterr()
    assert code == 1, out.err
    failed = [line for line in out.out.splitlines() if line.startswith("FAILED")]
    assert failed == [
        f"FAILED {SLOW}: cell 3 (In [4]) `if node == '{SLOW}':`: "
        "CellTimeoutError: timed out after 2 s"
    ]
    assert f"error: 1 of {len(NODES)} board packs failed: {SLOW}" in out.err
    assert "6 done, 1 failed" in out.out
    m = json.loads((tmp_path / "output" / PERIOD / "manifest.json").read_text())
    status = {n: s["status"] for n, s in m["steps"]["nodes"].items()}
    assert status == {n: "failed" if n == SLOW else "done" for n in NODES}
    assert m["steps"]["nodes"][SLOW]["error"]["evalue"] == "timed out after 2 s"
