"""The Dask executor: the board packs fanned out over the workers of a Dask cluster.

`reportlib run --executor dask --scheduler tcp://host:8786` sends each pack to a worker of
the cluster behind that scheduler. Like the local executor, each worker keeps one warm
session (a Jupyter kernel) for every pack it renders: a `WarmSession` worker plugin opens
it when the run starts (so kernels warm up while the scorecard computes) on a thread of
its own, runs the run's tasks on it one at a time, and closes it when the run ends. The
run sees the same Started / Finished / Failed events as with local processes, so progress,
manifest and audit trail do not depend on where the packs were made.

Workers read the project and write the packs at the same paths as the machine that starts
the run (a shared filesystem, docs/operations.md). `distributed` is imported only when a
run chooses this executor; the workers' side is `dask_worker`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from .protocol import Event, Failed, Finished, SessionFactory, Started, Task, describe

if TYPE_CHECKING:  # distributed is imported when a run uses the executor, not with the package
    from distributed import Client, Future

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10.0
"""How long reaching the scheduler, and finding at least one worker on it, may take."""
SCHEMES = ("tcp", "tls")
NO_SCHEDULER = (
    "the dask executor needs a scheduler address: give --scheduler tcp://host:8786, "
    "or `scheduler` in the settings"
)


def parse_address(scheduler: str) -> tuple[str, int]:
    """`tcp://host:port` (or `tls://`) as (host, port); ConfigError for anything else."""
    example = "give tcp://host:port, e.g. tcp://10.0.0.5:8786"
    try:
        parts = urlsplit(scheduler)
        port = parts.port
    except ValueError:
        raise ConfigError(f"scheduler address {scheduler!r}: not an address; {example}") from None
    if scheduler != scheduler.strip() or parts.scheme not in SCHEMES:
        raise ConfigError(f"scheduler address {scheduler!r}: not an address; {example}")
    if not parts.hostname or port is None or parts.path.strip("/") or parts.query:
        raise ConfigError(f"scheduler address {scheduler!r}: needs a host and a port; {example}")
    return parts.hostname, port


def _connect(scheduler: str) -> Client:
    """A client of the scheduler; ConfigError naming the address when it cannot be reached."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
    except (TimeoutError, OSError) as e:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler} ({describe(e)}): start it with "
            "`dask scheduler`, or correct --scheduler / the `scheduler` setting"
        ) from None


async def _count_workers(scheduler: str) -> int:
    """Ask the scheduler who it is: how many workers it has (waiting a little for one)."""
    from distributed import Security
    from distributed.core import rpc

    args = Security().get_connection_args("client") if scheduler.startswith("tls://") else {}
    deadline = time.monotonic() + CONNECT_SECONDS
    async with rpc(scheduler, timeout=CONNECT_SECONDS, connection_args=args) as remote:
        while True:
            answer = await asyncio.wait_for(remote.identity(), CONNECT_SECONDS)
            if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
                raise TypeError(f"not a Dask scheduler (it says it is {answer.get('type')!r})")
            workers = answer.get("n_workers", len(answer.get("workers") or ()))
            if workers or time.monotonic() > deadline:
                return int(workers)
            await asyncio.sleep(0.5)


def _worker_addresses(client: Client) -> list[str]:
    """The addresses of the workers connected to the scheduler now, sorted."""
    return sorted(client.nthreads())


class DaskExecutor:
    """The workers of the Dask cluster at `scheduler`, each with one open session.

    `workers` (the run's --workers) is not used: the cluster's own workers and threads
    decide how many packs render at once; `self.workers` is how many workers it had.
    """

    def __init__(
        self, workers: int, session: SessionFactory, *, scheduler: str | None = None
    ) -> None:
        if scheduler is None:
            raise ConfigError(NO_SCHEDULER)
        parse_address(scheduler)
        self.scheduler = scheduler
        self.workers = 0
        self._session = session
        self._token = secrets.token_hex(6)
        self._plugin = f"reportlib-session-{self._token}"
        self._client: Client | None = None
        self._numbers: dict[str, int] = {}

    @staticmethod
    def check(scheduler: str | None) -> None:
        """The address is well formed, the scheduler answers and has at least one worker."""
        if scheduler is None:
            raise ConfigError(NO_SCHEDULER)
        host, port = parse_address(scheduler)
        unreachable = (
            f"cannot reach the Dask scheduler at {scheduler} ({{}}): start it with "
            "`dask scheduler`, or correct --scheduler / the `scheduler` setting"
        )
        try:  # a refused or unroutable address fails here at once, before any Dask retry loop
            socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
        except OSError as e:
            raise ConfigError(unreachable.format((e.strerror or describe(e)).lower())) from None
        try:
            workers = asyncio.run(_count_workers(scheduler))
        except (TimeoutError, OSError) as e:
            raise ConfigError(unreachable.format(f"no answer: {describe(e)}")) from None
        except Exception:  # garbage from something else listening there (a proxy, a web server)
            raise ConfigError(
                unreachable.format("what answers there is not a Dask scheduler")
            ) from None
        if not workers:
            raise ConfigError(
                f"the Dask scheduler at {scheduler} has no workers: start them on each host "
                f"with `dask worker {scheduler}`"
            )

    def __enter__(self) -> DaskExecutor:
        from .dask_worker import WarmSession

        client = _connect(self.scheduler)
        try:
            client.register_plugin(WarmSession(self._session), name=self._plugin)
            addresses = _worker_addresses(client)
        except BaseException:
            client.close()
            raise
        self._client = client
        self._numbers = {address: n for n, address in enumerate(addresses, start=1)}
        self.workers = len(addresses)
        log.debug("dask: %d workers at %s", self.workers, self.scheduler)
        return self

    def __exit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.unregister_worker_plugin(self._plugin)  # each worker closes its session
        except Exception as e:  # a worker that is gone must not hide the run's outcome
            log.warning("dask: closing the workers' sessions: %s", describe(e))
        finally:
            client.close()

    def _number(self, address: str) -> int:
        """A worker's number in this run: 1.. by address, then in order of first appearance."""
        return self._numbers.setdefault(address, len(self._numbers) + 1)

    def map(self, task: Task, items: Sequence[Any]) -> Iterator[Event]:
        from .dask_worker import run_on_worker

        client = self._client
        if client is None:
            raise RuntimeError("DaskExecutor.map outside its `with` block")
        topic = f"reportlib-started-{self._token}-{secrets.token_hex(4)}"
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        client.subscribe_topic(topic, lambda event: events.put(("start", event[1])))
        futures: list[Future] = []
        try:
            for index, item in enumerate(items):
                future = client.submit(
                    run_on_worker,
                    self._plugin,
                    topic,
                    index,
                    task,
                    item,
                    key=f"reportlib-{self._token}-{topic[-8:]}-{index}",
                    pure=False,
                )
                future.add_done_callback(functools.partial(_done, events, index))
                futures.append(future)
            started: set[int] = set()
            pending = set(range(len(items)))
            while pending:
                kind, value = events.get()
                if kind == "start":
                    index = value["index"]
                    if index in pending and index not in started:
                        started.add(index)
                        yield Started(index, self._number(value["worker"]))
                    continue
                index = value
                if index not in pending:
                    continue
                pending.discard(index)
                event = self._outcome(index, futures[index])
                if index not in started and event.worker is not None:
                    yield Started(index, event.worker)
                yield event
        finally:
            client.unsubscribe_topic(topic)
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                client.cancel(unfinished)

    def _outcome(self, index: int, future: Future) -> Finished | Failed:
        """A finished Dask future as the run's event; a lost worker as the item's failure."""
        from distributed import KilledWorker

        if future.status == "finished":
            kind, address, value = future.result()
            worker = self._number(address)
            return (
                Finished(index, worker, value) if kind == "done" else Failed(index, worker, value)
            )
        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                last = getattr(error.last_worker, "address", None) or str(error.last_worker)
                return Failed(
                    index,
                    self._number(last),
                    f"dask worker {last} died while running it (the scheduler allows "
                    f"{error.allowed_failures} retries on other workers)",
                )
            return Failed(index, None, f"{describe(error)} (dask scheduler {self.scheduler})")
        return Failed(index, None, f"lost the task on the dask scheduler {self.scheduler}")


def _done(events: queue.Queue[tuple[str, Any]], index: int, _future: Future) -> None:
    """A future's done callback: tell the run's loop that item `index` has an outcome."""
    events.put(("done", index))
