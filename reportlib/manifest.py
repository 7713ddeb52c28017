"""`output/<period>/manifest.json`: what a run used, did and wrote (DESIGN.md "Outputs").

The manifest records the period and data cut-off, the code version, sha256 of every
configuration and input file, the run's parameters, each step's timing and input
fingerprint (which is how a re-run knows a node's pack is current), the quality-gate
outcome, and sha256 and size of every file under output/<period>/. Every change is a
read, merge and atomic rewrite by one process at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import __version__, fileio
from .config import Project

log = logging.getLogger(__name__)

NAME = "manifest.json"
NOT_LISTED = frozenset({NAME, "deliveries.jsonl"})
"""Files under output/<period>/ that the manifest does not list: itself, and the send log."""

CONFIG_FILES = ("kpis.yaml", "segments.yaml", "targets.csv", "distribution.yaml")
PACKAGE_DIR = Path(__file__).resolve().parent

Manifest = dict[str, Any]


def path(project: Project, period: str) -> Path:
    return project.settings.period_dir(period) / NAME


def read(project: Project, period: str) -> Manifest:
    """The manifest of `period`, or {} when there is none (or it is unreadable)."""
    p = path(project, period)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s is unreadable (%s): starting a new manifest", p, e)
        return {}
    return data if isinstance(data, dict) else {}


def _update(project: Project, period: str, change: Callable[[Manifest], None]) -> Manifest:
    data = read(project, period)
    data.setdefault("period", period)
    change(data)
    fileio.write_text(
        path(project, period), json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    )
    return data


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


def redacted_source(source: str) -> str:
    """The source setting with any password in a connection URL replaced by ***."""
    if "://" not in source:
        return source
    parts = urlsplit(source)
    if parts.password is None:
        return source
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def output_files(period_dir: Path) -> dict[str, dict[str, Any]]:
    """Every file under output/<period>/ except the manifest, the send log and temporary files."""
    if not period_dir.is_dir():
        return {}
    return {
        f.relative_to(period_dir).as_posix(): file_entry(f)
        for f in sorted(period_dir.rglob("*"))
        if f.is_file()
        and f.name not in NOT_LISTED
        and not any(part.startswith(".") for part in f.relative_to(period_dir).parts)
    }


def code_fingerprint() -> str:
    """sha256 over the package's source and default files (as the workers will import them)."""
    h = hashlib.sha256(__version__.encode())
    for f in sorted(PACKAGE_DIR.rglob("*")):
        if (
            f.is_file()
            and "__pycache__" not in f.parts
            and f.suffix in {".py", ".yaml", ".csv", ".toml"}
        ):
            h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
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


def quality_outcome(project: Project, period: str) -> dict[str, Any] | None:
    """The quality gate's outcome from output/<period>/quality/report.json, if there is one."""
    p = project.settings.period_dir(period) / "quality" / "report.json"
    if not p.is_file():
        return None
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"report": _label(p, project.settings.root), "error": f"unreadable: {e}"}
    gate = report.get("gate") if isinstance(report, dict) else None
    gate = gate if isinstance(gate, dict) else {}
    return {
        "report": _label(p, project.settings.root),
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
    period = result.period
    as_of = (
        result.as_of.isoformat(timespec="seconds")
        if hasattr(result.as_of, "isoformat")
        else str(result.as_of)
    )

    def change(m: Manifest) -> None:
        m["as_of"] = as_of
        m["code"] = code_version()
        m["source"] = redacted_source(project.settings.source)
        m["config"] = hash_files(config_files(project), root)
        m["inputs"] = hash_files(input_files(project), root)
        m["quality"] = quality_outcome(project, period)
        m.setdefault("steps", {})["compute"] = {
            "at": _now(),
            "seconds": {k: round(v, 3) for k, v in result.timings.items()},
            **({"total_seconds": round(seconds, 3)} if seconds is not None else {}),
            "files": [_label(f, project.settings.period_dir(period)) for f in result.files],
        }

    _update(project, period, change)
    return path(project, period)


def record_run_start(project: Project, period: str, *, parameters: Mapping[str, Any]) -> Manifest:
    """Start a run's record; keeps the previous steps so current nodes can be skipped."""

    def change(m: Manifest) -> None:
        m["code"] = code_version()
        m["parameters"] = dict(parameters)
        m["run"] = {"started_at": _now(), "finished_at": None, "seconds": None}

    return _update(project, period, change)


def record_step(project: Project, period: str, name: str, stamp: Mapping[str, Any]) -> Manifest:
    """Record one step (e.g. "scorecard"): status, seconds, input fingerprint, error."""

    def change(m: Manifest) -> None:
        m.setdefault("steps", {})[name] = dict(stamp)

    return _update(project, period, change)


def record_nodes(
    project: Project, period: str, stamps: Mapping[str, Mapping[str, Any]]
) -> Manifest:
    """Record node board packs: `{node: {status, seconds, fingerprint, error}}`."""

    def change(m: Manifest) -> None:
        m.setdefault("steps", {}).setdefault("nodes", {}).update(
            {n: dict(s) for n, s in stamps.items()}
        )

    return _update(project, period, change)


def record_run_end(
    project: Project, period: str, *, seconds: float, timings: Mapping[str, float]
) -> Manifest:
    """Finish the record: timings, quality outcome, and sha256/size of every output file."""

    def change(m: Manifest) -> None:
        m["run"] = {
            **m.get("run", {}),
            "finished_at": _now(),
            "seconds": round(seconds, 3),
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
        m["quality"] = quality_outcome(project, period)
        m["files"] = output_files(project.settings.period_dir(period))

    return _update(project, period, change)


def stamp(manifest: Manifest, node: str | None = None) -> dict[str, Any]:
    """The recorded stamp of the scorecard step (node None) or of a node's pack."""
    steps = manifest.get("steps", {})
    found = steps.get("scorecard") if node is None else steps.get("nodes", {}).get(node)
    return found if isinstance(found, dict) else {}
