"""`reportlib run`'s progress: a rich bar per node on a terminal, plain lines otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ..run import RunEvent


class RunProgress:
    """Shows the events of a run as they come (the `on_event` of `run.run`); `quiet` (`-q`)
    shows nothing."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(exc_type, exc, tb)

    def _line(self, text: str) -> None:
        if not self.live and not self.quiet:
            self.console.print(text, markup=False, highlight=False)

    def __call__(self, e: RunEvent) -> None:
        p = self.progress
        if e.kind == "scorecard-start":
            self.tasks["scorecard"] = p.add_task(
                "scorecard", total=1, status=f"computing ({e.detail})"
            )
            self._line(f"scorecard: computing ({e.detail})")
        elif e.kind == "scorecard-skipped":
            p.add_task("scorecard", total=1, completed=1, status="skipped: inputs unchanged")
            self._line(
                "scorecard: skipped, its inputs are unchanged since the last run (--force recomputes)"
            )
        elif e.kind == "scorecard-done":
            p.update(self.tasks["scorecard"], completed=1, status=f"done in {e.seconds:.1f}s")
            self._line(f"scorecard: done in {e.seconds:.1f}s")
        elif e.kind == "plan":
            self.tasks["packs"] = p.add_task("board packs", total=e.total, status=f"0/{e.total}")
            for node in e.nodes:
                self.tasks[node] = p.add_task(f"  {node}", total=1, status="queued", start=False)
            self._line(f"board packs: {e.total} to render")
        elif e.kind == "node-skipped":
            self._line(f"  {e.node} skipped: current")
        elif e.kind == "node-start" and e.node is not None:
            p.start_task(self.tasks[e.node])
            p.update(self.tasks[e.node], status="running")
        elif e.kind == "node-done" and e.node is not None and e.outcome is not None:
            self._node_done(e.node, e)

    def _node_done(self, node: str, e: RunEvent) -> None:
        p, o = self.progress, e.outcome
        assert o is not None
        failure = o.failure
        if o.status == "done" or failure is None:
            status = f"done in {o.seconds:.1f}s"
            line = f"[{e.done}/{e.total}] {node} done in {o.seconds:.1f}s"
        else:
            status = f"[red]FAILED[/] {failure.ename}"
            line = (
                f"[{e.done}/{e.total}] {node} FAILED after {o.seconds:.1f}s: {failure.describe()}"
            )
        p.update(self.tasks[node], completed=1, status=status)
        p.stop_task(self.tasks[node])
        p.update(self.tasks["packs"], advance=1, status=f"{e.done}/{e.total}")
        self._line(line)
