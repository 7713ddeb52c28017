"""The Dask executor: packs rendered on a real `distributed.LocalCluster` are the local run's.

One cluster (processes, 2 workers, 1 thread each) is shared by the module. The scheduler
gives up on a task at its first dead worker (allowed-failures 0), so a worker killed mid-task
fails that item at once. The address checks at the end need no cluster.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reportlib import fileio, manifest
from reportlib.config import load_project
from reportlib.errors import ConfigError
from reportlib.layout import PeriodOutput
from reportlib.run import choose_executor, executor, executor_record, fanout
from reportlib.run import dask as dask_executor
from reportlib.run.dask import DaskExecutor, parse_address
from reportlib.run.events import NodeOutcome
from reportlib.run.kernel import KernelSession
from reportlib.run.local import LocalExecutor
from reportlib.run.plan import PackTask
from reportlib.run.protocol import Event, Failed, Finished, Started

from ..conftest import write_project

PERIOD = "2026-03"
NODES = ("ent/eu", "smb")
REPORTLIB = Path(sys.executable).with_name("reportlib")

# What a notebook's metadata says about when and where it ran, not what it shows: the
# clock (papermill's start/end/duration, nbclient's message times) and the hidden file
# papermill wrote before the run moved it into place. Besides, papermill gives the cell it
# injects (tagged injected-parameters) a new random id in every run, local or not.
VOLATILE_NOTEBOOK = {"start_time", "end_time", "duration", "execution", "output_path"}
# What a pack's entry in the manifest says about the run, not the pack: its time and worker.
VOLATILE_STAMP = {"seconds", "worker"}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a LocalCluster: 2 worker processes with 1 thread each."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        yield cluster.scheduler_address


def _square(_session: object, x: int) -> int:
    return x * x


def _fragile(_session: object, x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    if x == 3:
        os._exit(7)  # the worker process dies mid-task
    return x


def _events(scheduler: str, task: Any, items: list[int], session: Any = None) -> list[Event]:
    with DaskExecutor(2, session or contextlib.nullcontext, scheduler=scheduler) as ex:
        assert ex.workers >= 1
        return list(ex.map(task, items))


@pytest.mark.slow
def test_every_item_runs_once_and_is_started_first(scheduler: str) -> None:
    events = _events(scheduler, _square, [1, 2, 3, 4])
    finished = {e.index: e.result for e in events if isinstance(e, Finished)}
    assert finished == {0: 1, 1: 4, 2: 9, 3: 16}
    started = [e.index for e in events if isinstance(e, Started)]
    assert sorted(started) == [0, 1, 2, 3]
    for e in events:
        if isinstance(e, Finished):
            assert e.index in started[: started.index(e.index) + 1]
            assert e.worker in (1, 2, 3, 4)


@pytest.mark.slow
def test_a_raising_task_fails_only_its_item_naming_the_worker(scheduler: str) -> None:
    events = _events(scheduler, _fragile, [1, 2, 4])
    failed = {e.index: e.message for e in events if isinstance(e, Failed)}
    done = {e.index: e.result for e in events if isinstance(e, Finished)}
    assert done == {0: 1, 2: 4}
    assert list(failed) == [1]
    assert failed[1].startswith("ValueError: two is not allowed (on dask worker tcp://127.0.0.1:")


@pytest.mark.slow
def test_a_dying_worker_fails_its_item_and_the_cluster_goes_on(scheduler: str) -> None:
    events = _events(scheduler, _fragile, [3])
    assert [type(e) for e in events if not isinstance(e, Started)] == [Failed]
    failed = next(e for e in events if isinstance(e, Failed))
    assert failed.message.startswith("dask worker tcp://127.0.0.1:")
    assert "died while running it" in failed.message
    # The nanny restarts the worker; the next run gets a session there again.
    again = _events(scheduler, _square, [5, 6])
    assert {e.index: e.result for e in again if isinstance(e, Finished)} == {0: 25, 1: 36}


@pytest.mark.slow
def test_a_worker_without_the_kernel_fails_each_item_with_the_reason(
    scheduler: str, tmp_path: Path
) -> None:
    session = functools.partial(KernelSession, tmp_path, kernel_name="no-such-kernel")
    events = _events(scheduler, _square, [1, 2], session=session)
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 2
    for e in failed:
        assert e.message.startswith("dask worker tcp://127.0.0.1:")
        assert "could not start its session" in e.message
        assert "could not start the Jupyter kernel 'no-such-kernel'" in e.message


# --------------------------------------------------------------------------- a whole run


def _stable_notebook(path: Path) -> Any:
    """The executed notebook without the metadata that records when and where it ran."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_NOTEBOOK}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    notebook = strip(json.loads(path.read_text(encoding="utf-8")))
    injected = [
        cell
        for cell in notebook["cells"]
        if "injected-parameters" in cell["metadata"].get("tags", [])
    ]
    assert len(injected) == 1
    del injected[0]["id"]
    return notebook


def _stable_stamps(out: PeriodOutput) -> dict[str, dict[str, object]]:
    recorded = manifest.load(out)
    assert recorded is not None
    return {
        node: {k: v for k, v in manifest.stamp(recorded, node).items() if k not in VOLATILE_STAMP}
        for node in NODES
    }


def _run(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`reportlib run` of the module's nodes, as the reporting lead types it."""
    nodes = [arg for node in NODES for arg in ("--node", node)]
    args = [str(REPORTLIB), "run", "--period", PERIOD, *nodes, "--workers", "2"]
    return subprocess.run(
        [*args, "--config", str(config), *extra], capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def runs(
    scheduler: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PeriodOutput, PeriodOutput, subprocess.CompletedProcess[str]]:
    """The same project and period run locally, then (its packs removed) on the cluster.

    The scorecard step runs where `reportlib run` is typed whatever the executor, so the
    second run finds it current and renders only the packs, on the cluster's workers.
    Returns a copy of the local run's output, the Dask run's output and its process.
    """
    root = tmp_path_factory.mktemp("project")
    config = write_project(root)
    out = PeriodOutput(root / "output", PERIOD)
    local = _run(config)
    assert local.returncode == 0, local.stderr
    kept = PeriodOutput(tmp_path_factory.mktemp("local"), PERIOD)
    shutil.copytree(out.dir, kept.dir)
    for node in NODES:
        out.pack_pdf(node).unlink()
        out.executed_notebook(node).unlink()
    on_dask = _run(config, "--executor", "dask", "--scheduler", scheduler)
    assert on_dask.returncode == 0, on_dask.stderr
    assert "scorecard: skipped, its inputs are unchanged" in on_dask.stderr
    return kept, out, on_dask


@pytest.mark.slow
@pytest.mark.long
def test_the_dask_run_renders_the_same_pdf_bytes(
    runs: tuple[PeriodOutput, PeriodOutput, subprocess.CompletedProcess[str]],
) -> None:
    local, on_dask, process = runs
    assert "on 2 workers" in process.stdout
    for node in NODES:
        assert on_dask.pack_pdf(node).read_bytes() == local.pack_pdf(node).read_bytes()
        assert fileio.sha256(on_dask.pack_pdf(node)) == fileio.sha256(local.pack_pdf(node))


@pytest.mark.slow
@pytest.mark.long
def test_the_dask_run_keeps_the_same_executed_notebooks(
    runs: tuple[PeriodOutput, PeriodOutput, subprocess.CompletedProcess[str]],
) -> None:
    local, on_dask, _ = runs
    for node in NODES:
        assert _stable_notebook(on_dask.executed_notebook(node)) == _stable_notebook(
            local.executed_notebook(node)
        )


@pytest.mark.slow
@pytest.mark.long
def test_the_dask_run_records_the_same_pack_entries(
    runs: tuple[PeriodOutput, PeriodOutput, subprocess.CompletedProcess[str]],
) -> None:
    local, on_dask, _ = runs
    stamps = _stable_stamps(on_dask)
    assert stamps == _stable_stamps(local)
    assert {node: stamp["status"] for node, stamp in stamps.items()} == dict.fromkeys(NODES, "done")
    recorded = manifest.load(on_dask)
    assert recorded is not None
    assert {manifest.stamp(recorded, n)["worker"] for n in NODES} <= {1, 2}
    # The run's parameters say where the packs rendered.
    assert recorded.parameters["executor"] == "dask"
    assert str(recorded.parameters["scheduler"]).startswith("tcp://127.0.0.1:")
    on_this_machine = manifest.load(local)
    assert on_this_machine is not None
    assert on_this_machine.parameters["executor"] == "local"
    assert on_this_machine.parameters["scheduler"] is None


def test_a_pack_this_machine_does_not_see_fails_naming_the_shared_filesystem(
    tmp_path: Path,
) -> None:
    """A worker on a host without the shared output folder writes the PDF on its own disk."""
    pdf = tmp_path / "ent" / "board-pack.pdf"
    task = PackTask("ent", tmp_path / "nb.ipynb", tmp_path / "ent" / "x.ipynb", pdf, {}, {}, "")
    sent = NodeOutcome("ent", "done", 1.5, pdf, task.executed, task.stamp)
    outcome = fanout.outcome(task, Finished(0, 2, sent))
    assert (outcome.status, outcome.worker) == ("failed", 2)
    assert outcome.failure is not None
    assert outcome.failure.describe() == (
        f"WorkerError: the worker wrote {pdf}, which this machine does not see: workers must "
        "see the project and output folders at the same paths (a shared filesystem)"
    )


# --------------------------------------------------------------------------- choosing it


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "address",
    ["tcp//127.0.0.1:8786", "127.0.0.1:8786", "http://h:8786", "tcp://h", "tcp://h:99999",
     " tcp://h:8786", "tcp://:8786", "tcp://h:8786/x"],
)  # fmt: skip
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(ConfigError, match=r"^scheduler address .*tcp://host:port"):
        parse_address(address)
    with pytest.raises(ConfigError, match=r"^scheduler address "):
        executor.choose("dask", address)


def test_a_well_formed_address() -> None:
    assert parse_address("tcp://10.0.0.5:8786") == ("10.0.0.5", 8786)
    assert parse_address("tls://sched.example.com:8786") == ("sched.example.com", 8786)


def test_an_unreachable_scheduler_is_one_config_error_naming_it() -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ConfigError) as caught:
        executor.choose("dask", address)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Dask scheduler at {address} (")
    assert "dask scheduler" in message
    assert "\n" not in message


def test_a_server_that_is_not_a_scheduler_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 2.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def answer() -> None:
            for _ in range(2):  # the reachability check, then the question
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n" + b"\xff" * 64)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(ConfigError) as caught:
            executor.choose("dask", address)
        thread.join(timeout=5)
    assert str(caught.value).startswith(f"cannot reach the Dask scheduler at {address} (")


@pytest.mark.slow
def test_a_scheduler_without_workers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 1.0)
    with LocalCluster(
        n_workers=0, processes=False, protocol="tcp", dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ConfigError) as caught:
            executor.choose("dask", address)
    assert str(caught.value) == (
        f"the Dask scheduler at {address} has no workers: start them on each host "
        f"with `dask worker {address}`"
    )


def test_dask_needs_a_scheduler_and_local_takes_none() -> None:
    with pytest.raises(ConfigError, match="the dask executor needs a scheduler address"):
        executor.choose("dask", None)
    with pytest.raises(ConfigError, match="given, but the local executor takes none"):
        executor.choose("local", "tcp://127.0.0.1:8786")


def test_the_settings_choose_the_executor_and_the_command_line_overrides(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    settings = f'as_of = "2026-03-31T12:00:00"\nexecutor = "dask"\nscheduler = "{address}"\n'
    project = load_project(write_project(tmp_path, settings=settings))
    assert project.settings.executor == "dask"
    with pytest.raises(ConfigError, match=f"cannot reach the Dask scheduler at {address}"):
        choose_executor(project, None, None)
    # Another executor on the command line leaves the settings' scheduler out.
    local = choose_executor(project, "local", None)
    assert isinstance(local, functools.partial)
    assert local.func is LocalExecutor
    assert local.keywords == {"scheduler": None}
    with pytest.raises(ConfigError, match="unknown executor 'daks'; the known executors are"):
        choose_executor(project, "daks", None)
    # What manifest.json records as where the packs rendered follows the same choice.
    assert executor_record(project, None, None) == {"executor": "dask", "scheduler": address}
    assert executor_record(project, "local", None) == {"executor": "local", "scheduler": None}
    assert executor_record(project, LocalExecutor, None) == {
        "executor": "LocalExecutor",
        "scheduler": None,
    }
