"""What a run reports: progress events for the CLI, each node's outcome, and the run's result.

All frozen records; a status is one of a few `Literal` strings so a typo is a type error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import NotebookExecutionError
from .kernel import CellFailure
from .timing import Split

StepStatus = Literal["done", "skipped", "failed"]
"""A step's status as its stamp in manifest.json records it."""

NodeStatus = Literal["done", "skipped", "failed"]
"""A board pack: rendered, current from an earlier run, or failed."""

ScorecardStatus = Literal["done", "skipped"]
"""The scorecard step: executed, or current from an earlier run (a failure raises)."""

EventKind = Literal[
    "scorecard-start",
    "scorecard-done",
    "scorecard-skipped",
    "plan",
    "node-skipped",
    "node-start",
    "node-done",
]


@dataclass(frozen=True)
class NodeOutcome:
    """What happened to one node's board pack in a run."""

    node: str
    status: NodeStatus
    seconds: float
    pdf: Path
    executed: Path
    inputs: dict[str, object] = field(default_factory=dict, repr=False)
    """The stamp of its inputs (fingerprint and digests) as recorded in the manifest."""
    failure: CellFailure | None = None
    worker: int | None = None
    split: Split = field(default_factory=Split, compare=False)
    """Where the pack's seconds went (kernel, notebook, charts, render); zeros when not rendered."""

    def stamp(self) -> dict[str, object]:
        """The node's record in manifest.json: its input fingerprint, status, time, error."""
        return {
            **{k: v for k, v in self.inputs.items() if k in ("fingerprint", "inputs")},
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
            **({"error": self.failure.as_dict()} if self.failure else {}),
        }

    def error(self) -> NotebookExecutionError | None:
        """The failure as a NotebookExecutionError (node, cell, source, error), or None."""
        f = self.failure
        if f is None:
            return None
        return NotebookExecutionError(
            f"board pack {self.node} failed: {f.describe()} (see {self.executed})",
            node=self.node,
            cell_index=f.cell_index,
            source=f.source,
            ename=f.ename,
            evalue=f.evalue,
            notebook=str(self.executed),
        )


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run, for the CLI to show: the scorecard step, then each node."""

    kind: EventKind
    node: str | None = None
    outcome: NodeOutcome | None = None
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    nodes: tuple[str, ...] = ()
    detail: str = ""


Emit = Callable[[RunEvent], None]
"""Where a run sends its events (the CLI's progress display, or nothing)."""


@dataclass(frozen=True)
class ScorecardOutcome:
    """The scorecard step: executed ("done", with why) or current ("skipped")."""

    status: ScorecardStatus
    reason: str | None
    """Why it ran: "forced", "changed: data, code", ...; None when skipped."""


@dataclass(frozen=True)
class RunResult:
    """What `run` did: the scorecard step, every selected node's outcome, the manifest."""

    period: str
    scorecard: ScorecardStatus
    scorecard_seconds: float
    scorecard_reason: str | None  # why it ran: "forced", "changed: data, code", ...
    nodes: tuple[NodeOutcome, ...]
    manifest: Path
    seconds: float
    packs_seconds: float
    workers: int
    stale_commentaries: tuple[str, ...] = ()
    """Nodes whose commentary was written against earlier figures (DOMAIN.md §8)."""

    @property
    def failed(self) -> tuple[NodeOutcome, ...]:
        return tuple(n for n in self.nodes if n.status == "failed")

    def count(self, status: NodeStatus) -> int:
        return sum(1 for n in self.nodes if n.status == status)
