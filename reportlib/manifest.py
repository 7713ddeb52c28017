"""`output/<period>/manifest.json`: what a run used, did and wrote (DESIGN.md "Outputs").

The manifest records the period and data cut-off, the code version, sha256 of every
configuration and input file, the run's parameters, each step's timing and input
fingerprint (which is how a re-run knows a node's pack is current), the quality-gate
outcome, and sha256 and size of every file under output/<period>/. In memory it is a
frozen `Manifest`; on disk its JSON carries a `schema_version`, the way dbt versions its
run artefacts, so a reader can refuse a file written by a newer reportlib. Every change is
a read, a `dataclasses.replace` and an atomic rewrite, by one process at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import __version__, audit, fileio, layout, periods
from .config import Project
from .errors import ReportlibError
from .layout import PeriodOutput

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The manifest format this code writes. A file without one is from before versioning (1)."""

CONFIG_FILES = ("kpis.yaml", "segments.yaml", "targets.csv", "distribution.yaml")
"""The configuration files under data/ whose hashes the manifest records."""

FIGURE_CONFIG_FILES = ("kpis.yaml", "segments.yaml", "targets.csv")
"""The configuration files the figures and packs depend on (not who receives them)."""

DELIVERY_SETTINGS = frozenset({"smtp", "workers", "cell_timeout_seconds", "root"})
"""Settings that change how or to whom a run or send works, never what a pack shows."""

PACKAGE_DIR = Path(__file__).resolve().parent
"""The reportlib package itself: the code whose version a fingerprint covers."""

Stamp = Mapping[str, Any]
"""A step's record: status, seconds, input fingerprint and digests, error (see `run.plan`)."""


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class RunRecord:
    """When the last `reportlib run` started and finished, and how long each part took."""

    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    timings: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "timings": dict(self.timings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            seconds=data.get("seconds"),
            timings=_mapping(data.get("timings")),
        )


@dataclass(frozen=True)
class Manifest:
    """One period's manifest.json as a record; `to_json`/`from_json` convert it."""

    period: str
    as_of: str | None = None
    """The data cut-off of the computed figures (ISO 8601)."""
    code: Mapping[str, str] = field(default_factory=dict)
    """package, version and git commit of the code that ran."""
    source: str | None = None
    """The source setting, any password redacted."""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """sha256 and size of the settings and configuration files, by project-relative path."""
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """sha256 and size of the input data files, by project-relative path."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The parameters of the last run."""
    run: RunRecord | None = None
    steps: Mapping[str, Stamp] = field(default_factory=dict)
    """The scorecard step's stamp ("scorecard") and the computation's record ("compute")."""
    nodes: Mapping[str, Stamp] = field(default_factory=dict)
    """Each node's board-pack stamp (written as steps.nodes in the JSON)."""
    quality: Mapping[str, Any] | None = None
    """The quality gate's outcome (see `quality_outcome`), None without a report."""
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """sha256 and size of every file under output/<period>/ the manifest lists."""
    audit: Mapping[str, Any] | None = None
    """The audit log's anchor after this period's last compute (`audit.Anchor.to_json`)."""
    schema_version: int = SCHEMA_VERSION

    @property
    def finished(self) -> bool:
        """True when the last run got to its end (it may still have failed nodes)."""
        return self.run is not None and bool(self.run.finished_at)

    def stamp(self, node: str | None = None) -> dict[str, Any]:
        """The stamp of the scorecard step (node None) or of a node's pack ({} if none)."""
        found = self.steps.get("scorecard") if node is None else self.nodes.get(node)
        return dict(found) if isinstance(found, Mapping) else {}

    def failed_nodes(self) -> list[str]:
        """The nodes whose pack failed in the last run that rendered them, sorted."""
        return sorted(n for n, s in self.nodes.items() if s.get("status") == "failed")

    def to_json(self) -> dict[str, Any]:
        """The manifest.json object (every key present, nodes under steps.nodes)."""
        return {
            "schema_version": self.schema_version,
            "period": self.period,
            "as_of": self.as_of,
            "code": dict(self.code),
            "source": self.source,
            "config": {k: dict(v) for k, v in self.config.items()},
            "inputs": {k: dict(v) for k, v in self.inputs.items()},
            "parameters": dict(self.parameters),
            "run": self.run.to_json() if self.run is not None else None,
            "steps": {
                **{k: dict(v) for k, v in self.steps.items()},
                "nodes": {k: dict(v) for k, v in self.nodes.items()},
            },
            "quality": dict(self.quality) if self.quality is not None else None,
            "files": {k: dict(v) for k, v in self.files.items()},
            "audit": dict(self.audit) if self.audit is not None else None,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, source: Path | str = layout.MANIFEST_JSON
    ) -> Manifest:
        """A manifest from its JSON object; refuses a newer `schema_version` than this code's."""
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ReportlibError(
                f"{source}: schema_version {version!r} is not a version number",
                file=str(source),
            )
        if version > SCHEMA_VERSION:
            raise ReportlibError(
                f"{source}: schema_version {version} was written by a newer reportlib "
                f"(this one reads up to {SCHEMA_VERSION}); upgrade reportlib to read it",
                file=str(source),
            )
        steps = _mapping(data.get("steps"))
        nodes = _mapping(steps.pop("nodes", None))
        run = data.get("run")
        quality = data.get("quality")
        anchor = data.get("audit")
        return cls(
            period=str(data.get("period", "")),
            as_of=data.get("as_of"),
            code=_mapping(data.get("code")),
            source=data.get("source"),
            config=_mapping(data.get("config")),
            inputs=_mapping(data.get("inputs")),
            parameters=_mapping(data.get("parameters")),
            run=RunRecord.from_json(run) if isinstance(run, Mapping) else None,
            steps={k: dict(v) for k, v in steps.items() if isinstance(v, Mapping)},
            nodes={k: dict(v) for k, v in nodes.items() if isinstance(v, Mapping)},
            quality=dict(quality) if isinstance(quality, Mapping) else None,
            files=_mapping(data.get("files")),
            audit=dict(anchor) if isinstance(anchor, Mapping) else None,
            schema_version=SCHEMA_VERSION,
        )


# --------------------------------------------------------------------------- the file


def period_output(project: Project, period: str) -> PeriodOutput:
    """The layout of output/<period>/, refusing anything that is not a real month."""
    return layout.checked(project.settings.output_path, period)


def path(project: Project, period: str) -> Path:
    return period_output(project, period).manifest


def load(out: PeriodOutput) -> Manifest | None:
    """The manifest of a period's folder, or None when there is none (or it is unreadable).

    A manifest written by a newer reportlib (a higher schema_version) is refused with a
    ReportlibError naming the file rather than misread or overwritten.
    """
    p = out.manifest
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s is unreadable (%s): starting a new manifest", p, e)
        return None
    if not isinstance(data, dict):
        log.warning("%s is not a JSON object: starting a new manifest", p)
        return None
    return Manifest.from_json(data, source=p)


def read(project: Project, period: str) -> Manifest | None:
    """The manifest of `period`, or None when there is none (or it is unreadable)."""
    return load(period_output(project, period))


def latest_completed_run(root: Path, cadence: periods.CadenceName = "month") -> str | None:
    """The latest period under the output folder `root` whose last run got to its end with
    board packs (the default period of `send`), or None.

    A run whose packs failed still counts: `send` then refuses that month, naming the
    failed nodes, rather than falling back to an earlier month nobody asked for.
    """
    for period in reversed(list(layout.OutputRoot(root).periods(cadence))):
        m = load(PeriodOutput(root, period))
        if m is not None and m.finished and m.nodes:
            return period
    return None


def _update(out: PeriodOutput, change: Callable[[Manifest], Manifest]) -> Manifest:
    m = change(load(out) or Manifest(period=out.period))
    fileio.write_text(out.manifest, m.dumps())
    return m


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- hashes


def file_entry(p: Path) -> dict[str, Any]:
    return {"sha256": fileio.sha256(p), "size": p.stat().st_size}


def _label(p: Path, root: Path) -> str:
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(p)


def hash_files(paths: Iterable[Path], root: Path) -> dict[str, dict[str, Any]]:
    """`{path relative to root: {sha256, size}}` for the files that exist."""
    return {_label(p, root): file_entry(p) for p in sorted(paths) if p.is_file()}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_digests(parts: Mapping[str, Any]) -> dict[str, str]:
    """sha256 of each named input of a step (JSON-able values), recorded in its stamp."""
    return {name: _digest(value) for name, value in parts.items()}


def fingerprint(parts: Mapping[str, Any]) -> str:
    """sha256 of a step's named inputs (key order irrelevant): equal means the step is current."""
    return _digest(input_digests(parts))


def changed_inputs(stamp: Mapping[str, Any], digests: Mapping[str, str]) -> list[str]:
    """Names of the inputs whose digest differs from the stamp's (all of them for an old stamp)."""
    before = stamp.get("inputs")
    if not isinstance(before, dict):
        return sorted(digests)
    return sorted(k for k in {*digests, *before} if digests.get(k) != before.get(k))


def config_files(project: Project) -> list[Path]:
    """The settings file and the configuration files under data/."""
    data = project.settings.data_path
    return [project.config_file, *(data / name for name in CONFIG_FILES if (data / name).is_file())]


def figure_config(project: Project) -> dict[str, Any]:
    """The configuration the figures and packs depend on, for the run's fingerprints.

    The settings without those of delivery and execution (`[smtp]`, workers, timeouts), and
    kpis.yaml, segments.yaml, targets.csv: editing distribution.yaml or `[smtp]` must not
    make every pack stale, since no pack shows them.
    """
    data = project.settings.data_path
    files = [data / name for name in FIGURE_CONFIG_FILES if (data / name).is_file()]
    settings = project.settings.model_dump(mode="json", exclude=set(DELIVERY_SETTINGS))
    return {"settings": settings, "files": hash_files(files, project.settings.root)}


def input_files(project: Project) -> list[Path]:
    """The data files read by `sources.load` (none for a database URL)."""
    src = project.settings.source
    if "://" in src:
        return []
    p = project.settings.path(src)
    if p.is_file():
        return [p]
    if not p.is_dir():
        return []
    return sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))


def files_changed_since(project: Project, out: PeriodOutput) -> tuple[str, ...]:
    """The data and configuration files whose content differs from the last compute's record.

    Project-relative paths, sorted: a file edited, added or removed since the manifest's
    `inputs` and `config` were written. Empty when there is no earlier record, or when no file
    changed (a new version of reportlib, or rows changed in a database source). Read before a
    restatement replaces the figures, so the restatement page can say what changed (§8).
    """
    m = load(out)
    if m is None or not (m.inputs or m.config):
        return ()
    root = project.settings.root
    now = {**hash_files(config_files(project), root), **hash_files(input_files(project), root)}
    before = {**m.config, **m.inputs}

    def sha(files: Mapping[str, Any], name: str) -> object:
        entry = files.get(name)
        return entry.get("sha256") if isinstance(entry, Mapping) else None

    return tuple(sorted(k for k in {*now, *before} if sha(now, k) != sha(before, k)))


def redacted_source(source: str) -> str:
    """The source setting with any password in a connection URL replaced by ***."""
    if "://" not in source:
        return source
    parts = urlsplit(source)
    if parts.password is None:
        return source
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def output_files(out: PeriodOutput) -> dict[str, dict[str, Any]]:
    """Every file under output/<period>/ but the unlisted ones (`PeriodOutput.unlisted`) and temporaries."""
    if not out.dir.is_dir():
        return {}
    unlisted = out.unlisted()
    return {
        f.relative_to(out.dir).as_posix(): file_entry(f)
        for f in sorted(out.dir.rglob("*"))
        if f.is_file()
        and f not in unlisted
        and not any(part.startswith(".") for part in f.relative_to(out.dir).parts)
    }


def code_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """sha256 over the package's source and default files (as the workers will import them)."""
    h = hashlib.sha256(__version__.encode())
    for f in sorted(package.rglob("*")):
        if (
            f.is_file()
            and "__pycache__" not in f.parts
            and f.suffix in {".py", ".yaml", ".csv", ".toml"}
        ):
            h.update(f.relative_to(package).as_posix().encode())
            h.update(fileio.sha256(f).encode())
    return h.hexdigest()


def git_commit() -> str:
    """The commit of the repository the package is imported from, or "unknown"."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        res = subprocess.run(
            [git, "rev-parse", "--show-toplevel", "HEAD"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = res.stdout.split()
    if res.returncode != 0 or len(lines) != 2 or len(lines[1]) != 40:
        return "unknown"
    # Only a checkout of reportlib itself counts, not some repository a venv happens to sit in.
    if Path(lines[0]).resolve() / "reportlib" != PACKAGE_DIR:
        return "unknown"
    return lines[1]


def code_version() -> dict[str, str]:
    return {"package": "reportlib", "version": __version__, "commit": git_commit()}


def quality_outcome(project: Project, out: PeriodOutput) -> dict[str, Any] | None:
    """The quality gate's outcome from the period's quality report, if there is one."""
    p = out.quality_report
    root = project.settings.root
    if not p.is_file():
        return None
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"report": _label(p, root), "error": f"unreadable: {e}"}
    gate = report.get("gate") if isinstance(report, dict) else None
    gate = gate if isinstance(gate, dict) else {}
    return {
        "report": _label(p, root),
        "sha256": fileio.sha256(p),
        "passed": gate.get("passed"),
        "accepted": gate.get("accepted"),
        "reason": gate.get("reason"),
        "gate": gate,
    }


# --------------------------------------------------------------------------- records


def record_compute(project: Project, result: Any, *, seconds: float | None = None) -> Path:
    """Record a scorecard computation (a `pipeline.ComputeResult`): as_of, inputs, quality, timings."""
    root = project.settings.root
    out = period_output(project, result.period)
    as_of = (
        result.as_of.isoformat(timespec="seconds")
        if hasattr(result.as_of, "isoformat")
        else str(result.as_of)
    )
    compute = {
        "at": _now(),
        "seconds": {k: round(v, 3) for k, v in result.timings.items()},
        **({"total_seconds": round(seconds, 3)} if seconds is not None else {}),
        "files": [_label(f, out.dir) for f in result.files],
    }

    def change(m: Manifest) -> Manifest:
        return replace(
            m,
            as_of=as_of,
            code=code_version(),
            source=redacted_source(project.settings.source),
            config=hash_files(config_files(project), root),
            inputs=hash_files(input_files(project), root),
            quality=quality_outcome(project, out),
            steps={**m.steps, "compute": compute},
        )

    _update(out, change)
    return out.manifest


def record_audit(out: PeriodOutput, anchor: audit.Anchor) -> Manifest:
    """Record where the audit log ended after this period's compute (its anchor)."""
    return _update(out, lambda m: replace(m, audit=anchor.to_json()))


def audit_anchors(root: Path) -> dict[str, audit.Anchor]:
    """The audit anchors recorded in every period's manifest under the output folder `root`."""
    anchors: dict[str, audit.Anchor] = {}
    for period in layout.OutputRoot(root).periods(cadence=None):
        out = PeriodOutput(root, period)
        m = load(out)
        if m is not None and m.audit:
            try:
                anchors[f"{period}/{out.manifest.name}"] = audit.Anchor.from_json(m.audit)
            except (KeyError, TypeError, ValueError):
                raise ReportlibError(f"{out.manifest}: its audit anchor is not valid") from None
    return anchors


def record_run_start(out: PeriodOutput, *, parameters: Mapping[str, Any]) -> Manifest:
    """Start a run's record; keeps the previous steps so current nodes can be skipped."""
    return _update(
        out,
        lambda m: replace(
            m,
            code=code_version(),
            parameters=dict(parameters),
            run=RunRecord(started_at=_now()),
        ),
    )


def record_step(out: PeriodOutput, name: str, stamp: Stamp) -> Manifest:
    """Record one step (e.g. "scorecard"): status, seconds, input fingerprint, error."""
    return _update(out, lambda m: replace(m, steps={**m.steps, name: dict(stamp)}))


def record_nodes(out: PeriodOutput, stamps: Mapping[str, Stamp]) -> Manifest:
    """Record node board packs: `{node: {status, seconds, fingerprint, error}}`."""
    return _update(
        out, lambda m: replace(m, nodes={**m.nodes, **{n: dict(s) for n, s in stamps.items()}})
    )


def record_run_end(
    project: Project, out: PeriodOutput, *, seconds: float, timings: Mapping[str, float]
) -> Manifest:
    """Finish the record: timings, quality outcome, and sha256/size of every output file."""

    def change(m: Manifest) -> Manifest:
        run = replace(
            m.run or RunRecord(),
            finished_at=_now(),
            seconds=round(seconds, 3),
            timings={k: round(v, 3) for k, v in timings.items()},
        )
        return replace(m, run=run, quality=quality_outcome(project, out), files=output_files(out))

    return _update(out, change)


def stamp(manifest: Manifest | None, node: str | None = None) -> dict[str, Any]:
    """The recorded stamp of the scorecard step (node None) or of a node's pack ({} if none)."""
    return manifest.stamp(node) if manifest is not None else {}
