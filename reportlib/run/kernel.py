"""Jupyter kernels that execute the notebooks through papermill (DESIGN.md "Flow of data").

A `KernelSession` keeps one kernel, and one client to it, for a run of notebooks:
warm (imports done once, namespace reset between notebooks) or fresh (a new kernel
per notebook). A notebook's failure comes back as a `CellFailure` naming the cell and
the error, never as an exception, so one failed board pack does not stop the others.
A cell that runs longer than the session's cell timeout fails its notebook the same
way ("timed out after N s") and the kernel, still busy with it, is replaced.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotebookExecutionError
from .timing import Split, split

if TYPE_CHECKING:  # jupyter_client is imported when a kernel starts, not with the package
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

log = logging.getLogger(__name__)

KERNEL_NAME = "python3"
WARM_IMPORTS = (
    "import reportlib.charts, reportlib.commentary, reportlib.periods, reportlib.pipeline, "
    "reportlib.render, reportlib.notebook"
)
"""Run once in each worker's kernel so the board-pack notebooks find these modules imported
(importing reportlib.notebook remembers reportlib's module state, see `_RESET`)."""

_RESET = (
    "if 'reportlib.notebook' in __import__('sys').modules:\n"
    "    __import__('sys').modules['reportlib.notebook'].restore_module_state()\n"
    "get_ipython().reset(new_session=True)"
)
"""Between two notebooks in one kernel: reportlib's module globals and matplotlib's settings as
they were after the warm imports (a notebook may have changed them), an empty namespace, and
execution counts from 1."""

_ENGINE = "reportlib-session"
TIMEOUT_ENAME = "CellTimeoutError"
"""The error name of a cell that ran longer than the cell timeout (nbclient's)."""


@dataclass(frozen=True)
class CellFailure:
    """Where a notebook failed: cell index and first source line, and the error (like papermill's)."""

    cell_index: int | None
    execution_count: int | None
    source: str
    ename: str
    evalue: str

    def describe(self) -> str:
        where = "" if self.cell_index is None else f"cell {self.cell_index}"
        if self.execution_count is not None:
            where += f" (In [{self.execution_count}])"
        if self.source:
            where += f" `{self.source}`"
        what = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        return f"{where.strip()}: {what}" if where else what

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Execution:
    """One notebook run in a session: its failure (None when it succeeded) and its seconds by part."""

    failure: CellFailure | None
    split: Split


def _first_line(source: str, width: int = 100) -> str:
    line = next(
        (s.strip() for s in source.splitlines() if s.strip() and not s.strip().startswith("#")), ""
    )
    return line if len(line) <= width else line[: width - 1] + "…"


def _failure(e: BaseException) -> CellFailure:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(e, PapermillExecutionError):
        return CellFailure(
            cell_index=e.cell_index,
            execution_count=e.exec_count,
            source=_first_line(e.source or ""),
            ename=str(e.ename),
            evalue=" ".join(str(e.evalue).split()),
        )
    return CellFailure(None, None, "", type(e).__name__, " ".join(str(e).split()))


def _cells(executed: Path) -> list:
    """The cells of an executed notebook on disk; none when it cannot be read."""
    import nbformat

    try:
        return list(nbformat.read(executed, as_version=4).cells)
    except Exception as e:  # only the split is lost: the failure is reported anyway
        log.debug("could not read %s for its cell times: %s", executed, e)
        return []


@functools.cache
def _session_engine() -> type:
    """A papermill engine that runs in an open kernel through an open client, and leaves both open."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.exceptions import PapermillExecutionError

    class SessionClient(PapermillNotebookClient):
        def execute_cell(self, cell, cell_index, *args, **kwargs):
            """nbclient's, with a cell that times out failed like a cell that raised.

            The cell gets an error output and papermill's failed status, so the executed
            notebook shows where and why; the run sees a PapermillExecutionError.
            """
            try:
                return super().execute_cell(cell, cell_index, *args, **kwargs)
            except CellTimeoutError as e:
                evalue = f"timed out after {self.timeout:g} s"
                trace = [f"{TIMEOUT_ENAME}: the cell ran longer than {self.timeout:g} s"]
                cell.outputs.append(
                    nbformat.v4.new_output(
                        "error", ename=TIMEOUT_ENAME, evalue=evalue, traceback=trace
                    )
                )
                self.nb_man.cell_exception(cell, cell_index=cell_index, exception=e)
                raise PapermillExecutionError(
                    cell_index,
                    cell.get("execution_count"),
                    cell.source,
                    TIMEOUT_ENAME,
                    evalue,
                    trace,
                ) from e

    class SessionEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name: str,
            log_output: bool = False,
            stdout_file=None,
            stderr_file=None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            km=None,
            kc=None,
            **_kwargs: object,
        ):
            client = SessionClient(
                nb_man,
                km=km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                # A cell's prints reach the client in as many messages as the kernel's flush
                # timer cut them into, which depends on the machine's load: merged, the
                # executed notebook is the same file however busy the machine was.
                coalesce_streams=True,
            )
            client.kc = kc  # nbclient then neither starts a client nor stops the kernel
            return client.execute()

    return SessionEngine


class KernelSession:
    """One Jupyter kernel, and one client to it, that run notebooks one after another.

    Warm (default): the kernel stays up, `warm` code runs once (imports), and the
    namespace is reset before each notebook. Fresh: a new kernel for each notebook.
    `cell_timeout` (seconds, None for none) bounds each cell: a cell that runs longer
    fails its notebook, and the kernel still running it is replaced before the next one.
    """

    def __init__(
        self,
        cwd: Path,
        *,
        fresh: bool = False,
        warm: str | None = None,
        kernel_name: str = KERNEL_NAME,
        startup_timeout: float = 120,
        cell_timeout: int | None = None,
    ) -> None:
        self.cwd = Path(cwd)
        self.fresh = fresh
        self.warm = warm
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.cell_timeout = cell_timeout
        self._km: AsyncKernelManager | None = None
        self._kc: AsyncKernelClient | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._used = False
        self._started = 0.0
        """Seconds of the session's first kernel start, not yet in a notebook's split."""

    def __enter__(self) -> KernelSession:
        from papermill.engines import papermill_engines

        papermill_engines.register(_ENGINE, _session_engine())
        self._tmp = tempfile.TemporaryDirectory(prefix="reportlib-kernel-")
        t = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        self._started = time.perf_counter() - t
        log.debug("kernel %s started in %.2fs", self.kernel_name, self._started)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _start(self) -> None:
        try:
            self._launch()
        except Exception as e:
            self._stop()
            raise NotebookExecutionError(
                f"could not start the Jupyter kernel {self.kernel_name!r}: {type(e).__name__}: {e}",
                kernel=self.kernel_name,
            ) from e
        if self.warm and not self.fresh:
            self._silent(self.warm, check=False)

    def _launch(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        assert self._tmp is not None
        # IPC sockets in a private folder: no TCP ports, nothing left in the working directory.
        km = AsyncKernelManager(
            kernel_name=self.kernel_name, transport="ipc", ip=str(Path(self._tmp.name) / "k")
        )
        self._km = km
        run_sync(km.start_kernel)(
            cwd=str(self.cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"]
        )
        kc = km.client()
        kc.start_channels()
        self._kc = kc
        run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
        kc.allow_stdin = False
        self._used = False

    def _stop(self) -> None:
        from jupyter_core.utils import run_sync

        km, kc, self._km, self._kc = self._km, self._kc, None, None
        if kc is not None:
            kc.stop_channels()
        if km is None:
            return
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        except Exception as e:  # a kernel that will not stop must not hide the run's outcome
            log.warning("kernel shutdown: %s", e)
        finally:
            run_sync(km.cleanup_resources)()

    def _silent(self, code: str, *, check: bool = True) -> None:
        from jupyter_core.utils import run_sync

        kc = self._kc
        assert kc is not None, "the kernel is not running"

        async def go() -> dict:
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:
                reply = await kc.get_shell_msg(timeout=self.startup_timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply

        content = run_sync(go)().get("content", {})
        if content.get("status") != "ok":
            message = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
            if check:
                raise RuntimeError(f"kernel set-up failed: {message}")
            log.warning(
                "kernel warm-up failed (%s); the notebook will show the real error", message
            )

    def _prepare(self) -> None:
        from jupyter_core.utils import run_sync

        if self._km is None:  # stopped after a cell timed out
            self._start()
        elif not run_sync(self._km.is_alive)():
            log.warning("the kernel is gone: starting a new one")
            self._stop()
            self._start()
        elif self._used and self.fresh:
            self._stop()
            self._start()
        elif not self.fresh and (self._used or self.warm):
            self._silent(_RESET)
        self._used = True

    def execute(
        self, notebook: Path, output: Path, parameters: dict[str, object]
    ) -> CellFailure | None:
        """Run `notebook` with `parameters` and save it executed at `output`; the failure, if any.

        The executed notebook, a failed one too, replaces `output` atomically once complete.
        """
        return self.run(notebook, output, parameters).failure

    def run(self, notebook: Path, output: Path, parameters: dict[str, object]) -> Execution:
        """`execute`, also saying where the seconds went (`timing.Split`).

        The first notebook of a session carries the session's kernel start in its split.
        """
        import papermill

        t = time.perf_counter()
        self._prepare()
        log.debug("kernel ready for %s in %.2fs", output, time.perf_counter() - t)
        output.parent.mkdir(parents=True, exist_ok=True)
        # papermill writes the file itself (and wants the .ipynb suffix): a fresh hidden name.
        tmp = output.with_name(f".{output.stem}.{secrets.token_hex(6)}.ipynb")
        failure = None
        cells: list = []
        try:
            nb = papermill.execute_notebook(
                str(notebook),
                str(tmp),
                parameters=parameters,
                engine_name=_ENGINE,
                kernel_name=self.kernel_name,
                progress_bar=False,
                execution_timeout=self.cell_timeout,
                km=self._km,
                kc=self._kc,
            )
            cells = list(nb.cells)
        except Exception as e:  # any failure is the notebook's outcome, reported per node
            failure = _failure(e)
        if failure is not None and failure.ename == TIMEOUT_ENAME:
            # The kernel is still busy with the cell: stop it; the next notebook gets a new one.
            log.warning("%s: %s; replacing the kernel", output, failure.describe())
            self._stop()
        try:
            if tmp.is_file():
                os.replace(tmp, output)
        finally:
            tmp.unlink(missing_ok=True)
        if failure is not None:
            cells = _cells(output)  # the cells that ran before the failure, with their times
        elapsed = time.perf_counter() - t
        started, self._started = self._started, 0.0
        seconds = split(cells, elapsed=elapsed, started=started)
        log.debug("executed %s in %.2fs (%s)", output, elapsed, seconds.describe())
        return Execution(failure, seconds)


def worker_session(cwd: Path, fresh: bool, cell_timeout: int | None = None) -> KernelSession:
    """A board-pack worker's session: warm imports, the run's cell timeout.

    Module-level so that a `functools.partial` of it pickles into the worker processes.
    """
    return KernelSession(cwd, fresh=fresh, warm=WARM_IMPORTS, cell_timeout=cell_timeout)
