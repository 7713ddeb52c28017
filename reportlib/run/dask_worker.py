"""The Dask executor's side on the workers: one warm session per worker, and the task.

A `WarmSession` worker plugin opens the run's session (a Jupyter kernel) when the run
registers it, on a thread of its own, runs the run's tasks on it one at a time, and closes
it when the run unregisters it (or the worker stops). `run_on_worker` is the Dask task that
hands an item to it. This module is imported on the workers (and by `dask` when a run
starts there), never with the package: it needs `distributed`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from contextlib import ExitStack
from typing import Any

from distributed import Worker, WorkerPlugin, get_worker

from .protocol import SessionFactory, Task, describe

log = logging.getLogger(__name__)

TEARDOWN_SECONDS = 60.0
"""How long a worker waits for its session (kernel) to close at the end of a run."""


class WarmSession(WorkerPlugin):
    """A worker plugin: one session per Dask worker, opened at set-up, used by every task.

    The session is opened and used on a thread of the plugin's own, so a kernel client
    stays on the thread that made it whatever thread Dask runs a task on; tasks queue for
    it (a kernel runs one notebook at a time). A session that cannot be opened makes every
    task sent to that worker fail with the reason, naming the worker.
    """

    def __init__(self, session: SessionFactory) -> None:
        self.open_session = session

    def setup(self, worker: Worker) -> None:
        self.worker = worker
        self.requests: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self.serve, name="reportlib-session", daemon=True)
        self.thread.start()

    async def teardown(self, worker: Worker) -> None:
        self.requests.put(None)
        await asyncio.to_thread(self.thread.join, TEARDOWN_SECONDS)

    def serve(self) -> None:
        """The session's thread: open it, then run each request until None; then close it."""
        address = self.worker.address
        with ExitStack() as stack:
            broken = None
            try:
                session = stack.enter_context(self.open_session())
            except Exception as e:
                broken = f"dask worker {address} could not start its session: {describe(e)}"
                log.error("%s", broken)
            while (request := self.requests.get()) is not None:
                topic, index, task, item, reply = request
                if broken is not None:
                    reply.put(("failed", broken))
                    continue
                self.worker.log_event(topic, {"index": index, "worker": address})
                try:
                    reply.put(("done", task(session, item)))
                except Exception as e:
                    reply.put(("failed", f"{describe(e)} (on dask worker {address})"))

    def run(self, topic: str, index: int, task: Task, item: Any) -> tuple[str, str, Any]:
        """Run `task(session, item)` on the session's thread: (kind, worker address, value)."""
        reply: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self.requests.put((topic, index, task, item, reply))
        kind, value = reply.get()
        return kind, self.worker.address, value


def run_on_worker(
    plugin: str, topic: str, index: int, task: Task, item: Any
) -> tuple[str, str, Any]:
    """The Dask task: hand `item` to this worker's warm session (runs on a worker)."""
    worker = get_worker()
    session = worker.plugins.get(plugin)
    if not isinstance(session, WarmSession):
        return "failed", worker.address, f"dask worker {worker.address} has no reportlib session"
    return session.run(topic, index, task, item)
