"""The quality report (output/<period>/quality/report.json) as typed, frozen records.

`QualityReport` holds the period, the cut-off, the gate, one `TableReport` per table
(rows in = kept + quarantined, each quarantined row once; rule hits in total and per
rule, a row counted under every rule it broke; notes) and the KPIs whose n the quarantine
reduced. `to_json` writes the same keys in the same order the file has always had, plus
`schema_version` (the way dbt versions its run artefacts), so the readers of the file
(the manifest, the pack, the notebooks) keep working; `from_json` reads it back and
refuses a file written by a newer reportlib, naming the file.

`write` writes the report and the quarantine files `<table>.rejected.csv` atomically,
at the paths `layout.PeriodOutput` names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.csv as pacsv

from .. import fileio
from ..errors import ReportlibError
from ..layout import QUALITY_REPORT, PeriodOutput

SCHEMA_VERSION = 1
"""Version of report.json's shape; raise it when a key changes meaning or goes away."""

Problem = Literal["empty", "reject_share"]
"""Why a table failed the gate: no data rows, or too large a share quarantined."""

Outcome = Literal["passed", "accepted", "failed"]
"""The gate's outcome: passed, failed but accepted with --accept-quality, or failed."""


@dataclass(frozen=True)
class TableReport:
    """One table's accounting: rows in = rows kept + rows quarantined (DOMAIN.md §7)."""

    file: str
    """The input file, relative to the project when it is inside it."""
    rows_in: int
    rows_kept: int
    rows_quarantined: int
    by_rule: Mapping[str, int]
    """Rule hits per rule id, in rule order (a row breaking two rules counts under both, so
    they may add up to more than `rows_quarantined`, where it counts once)."""
    reject_share: float
    rejected_file: str
    """The quarantine file, relative to the period folder (`quality/<table>.rejected.csv`)."""
    in_equals_kept_plus_quarantined: bool
    notes: tuple[str, ...] = ()
    """Things worth saying that are not rejections (ignored columns, encoding, late rows)."""

    @property
    def rule_hits(self) -> int:
        """Rule hits over every rule: at least `rows_quarantined` (a row may break several)."""
        return sum(self.by_rule.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "rows_quarantined": self.rows_quarantined,
            "rule_hits": self.rule_hits,
            "by_rule": dict(self.by_rule),
            "reject_share": self.reject_share,
            "rejected_file": self.rejected_file,
            "in_equals_kept_plus_quarantined": self.in_equals_kept_plus_quarantined,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TableReport:
        return cls(
            file=d["file"],
            rows_in=d["rows_in"],
            rows_kept=d["rows_kept"],
            rows_quarantined=d["rows_quarantined"],
            by_rule=dict(d["by_rule"]),
            reject_share=d["reject_share"],
            rejected_file=d["rejected_file"],
            in_equals_kept_plus_quarantined=d["in_equals_kept_plus_quarantined"],
            notes=tuple(d.get("notes", ())),
        )


@dataclass(frozen=True)
class GateFailure:
    """A table that failed the gate; the counts are there only for `reject_share`."""

    table: str
    problem: Problem
    rows_in: int
    rejected_file: str
    rows_quarantined: int | None = None
    reject_share: float | None = None
    by_rule: Mapping[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.problem == "empty":
            return {
                "table": self.table,
                "problem": self.problem,
                "rows_in": self.rows_in,
                "rejected_file": self.rejected_file,
            }
        return {
            "table": self.table,
            "problem": self.problem,
            "rows_in": self.rows_in,
            "rows_quarantined": self.rows_quarantined,
            "reject_share": self.reject_share,
            "by_rule": dict(self.by_rule or {}),
            "rejected_file": self.rejected_file,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateFailure:
        problem = d["problem"]
        if problem not in ("empty", "reject_share"):
            raise ValueError(f"unknown gate problem {problem!r}")
        by_rule = d.get("by_rule")
        return cls(
            table=d["table"],
            problem=cast(Problem, problem),
            rows_in=d["rows_in"],
            rejected_file=d["rejected_file"],
            rows_quarantined=d.get("rows_quarantined"),
            reject_share=d.get("reject_share"),
            by_rule=None if by_rule is None else dict(by_rule),
        )


@dataclass(frozen=True)
class Gate:
    """The quality gate of DOMAIN.md §7 for one run."""

    passed: bool
    max_reject_share: float
    accepted: bool
    """Failed, but a --accept-quality reason lets the run go on (and be sent)."""
    reason: str | None
    failures: tuple[GateFailure, ...] = ()

    @property
    def outcome(self) -> Outcome:
        return "passed" if self.passed else "accepted" if self.accepted else "failed"

    @property
    def blocks(self) -> bool:
        """True when the gate failed and no --accept-quality reason overrides it."""
        return not self.passed and not self.accepted

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "max_reject_share": self.max_reject_share,
            "accepted": self.accepted,
            "reason": self.reason,
            "failures": [f.to_dict() for f in self.failures],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gate:
        return cls(
            passed=d["passed"],
            max_reject_share=d["max_reject_share"],
            accepted=d["accepted"],
            reason=d.get("reason"),
            failures=tuple(GateFailure.from_dict(f) for f in d.get("failures", ())),
        )


@dataclass(frozen=True)
class NReduced:
    """A KPI whose n in the period the quarantine cut by more than N_REDUCED_SHARE, at a node."""

    node: str
    kpi: str
    share: float
    n: float
    """n of the kept rows."""
    n_all: float
    """n had no row been quarantined."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kpi": self.kpi,
            "share": self.share,
            "n": self.n,
            "n_all": self.n_all,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NReduced:
        return cls(node=d["node"], kpi=d["kpi"], share=d["share"], n=d["n"], n_all=d["n_all"])


@dataclass(frozen=True)
class QualityReport:
    """The whole report of one validation (report.json)."""

    period: str
    as_of: str
    """The data cut-off, ISO to the second, UTC."""
    gate: Gate
    tables: Mapping[str, TableReport]
    """Per input table, in load order."""
    n_reduced: tuple[NReduced, ...] = ()
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over every table."""
        return sum(t.rows_quarantined for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "period": self.period,
            "as_of": self.as_of,
            "gate": self.gate.to_dict(),
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "n_reduced": [e.to_dict() for e in self.n_reduced],
        }

    def to_json(self) -> str:
        """The text of report.json."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QualityReport:
        """A report from its JSON shape (a file without `schema_version` predates it: version 1)."""
        return cls(
            schema_version=int(d.get("schema_version", SCHEMA_VERSION)),
            period=d["period"],
            as_of=d["as_of"],
            gate=Gate.from_dict(d["gate"]),
            tables={name: TableReport.from_dict(t) for name, t in d["tables"].items()},
            n_reduced=tuple(NReduced.from_dict(e) for e in d.get("n_reduced", ())),
        )

    @classmethod
    def from_json(cls, text: str, source: str = QUALITY_REPORT) -> QualityReport:
        """Parse report.json; a newer schema_version or a malformed file is a ReportlibError
        naming `source`."""
        try:
            data = json.loads(text)
            version = data.get("schema_version", SCHEMA_VERSION)
        except (ValueError, AttributeError) as e:
            raise ReportlibError(f"{source}: not a quality report ({e})") from e
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ReportlibError(
                f"{source}: quality report schema_version {version!r} is newer than this "
                f"reportlib reads ({SCHEMA_VERSION}); upgrade reportlib to read it"
            )
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as e:
            raise ReportlibError(f"{source}: not a quality report (missing or bad {e})") from e


def read(out: PeriodOutput) -> QualityReport:
    """The period's quality report (a ReportlibError naming the file when it cannot be read)."""
    path = out.quality_report
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReportlibError(f"{path}: cannot read the quality report ({e})") from e
    return QualityReport.from_json(text, str(path))


def rejected_file(table: str) -> str:
    """A quarantine file as the report names it: relative to the period folder."""
    out = PeriodOutput(Path(), "period")
    return out.rejected(table).relative_to(out.dir).as_posix()


def write(
    out: PeriodOutput, report: QualityReport, rejected: Mapping[str, pa.Table]
) -> tuple[Path, ...]:
    """Write <table>.rejected.csv for every table and report.json, each atomically."""
    files = [fileio.write_csv(out.rejected(name), rows) for name, rows in rejected.items()]
    files.append(fileio.write_text(out.quality_report, report.to_json()))
    return tuple(files)


def _csv(rows: pa.Table) -> Callable[[Path], None]:
    """Writes `rows` as CSV with a header, quoting only where needed."""
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")

    def write(path: Path) -> None:
        pacsv.write_csv(rows, path, options)

    return write
