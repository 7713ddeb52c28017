"""Restatements: a period's scorecard recomputed with different figures (DOMAIN.md §8 Governance).

When `compute` writes a period whose previous scorecard has other figures (value or n
of any node × KPI), the previous scorecard files are kept under the period's
`versions/<n>/`, the changes go to its restatement file and the audit log records the
restatement (file names: `layout.PeriodOutput`). Identical figures write nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import audit, fileio
from .layout import PeriodOutput

DIFF_COLUMNS = ("node", "kpi", "old", "new", "delta")
FIGURES = ("value", "n")


@dataclass(frozen=True)
class Version:
    """The figures' version of a period (DOMAIN.md §8): 1 until the first restatement."""

    version: int
    restated_on: str | None = None
    """Date (YYYY-MM-DD, UTC) of the latest restatement; None when never restated."""
    changed_files: tuple[str, ...] = ()
    """The data and configuration files that had changed since the figures before it were
    computed (project-relative); () when none did or the restatement predates the record."""


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"period": str, "node": str, "kpi": str})


def _same(a: Any, b: Any) -> bool:
    fa, fb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    if pd.isna(fa) and pd.isna(fb):
        return True
    if pd.isna(fa) or pd.isna(fb):
        return False
    return math.isclose(float(fa), float(fb), rel_tol=1e-12, abs_tol=1e-12)


def differences(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Node × KPI rows whose value or n changed: node, kpi, old, new, delta (of the value).

    A KPI whose n changed but not its value is listed too (old/new are the values).
    """
    key = ["node", "kpi"]
    a = old[[*key, *FIGURES]].astype({"node": str, "kpi": str})
    b = new[[*key, *FIGURES]].astype({"node": str, "kpi": str})
    both = a.merge(b, on=key, how="outer", suffixes=("_old", "_new"), sort=False)
    rows = []
    for d in both.to_dict("records"):
        if all(_same(d[f"{f}_old"], d[f"{f}_new"]) for f in FIGURES):
            continue
        o = pd.to_numeric(d["value_old"], errors="coerce")
        n = pd.to_numeric(d["value_new"], errors="coerce")
        delta = float(n) - float(o) if not (pd.isna(o) or pd.isna(n)) else None
        rows.append((d["node"], d["kpi"], o, n, delta))
    return pd.DataFrame(rows, columns=list(DIFF_COLUMNS))


def version_numbers(out: PeriodOutput) -> list[int]:
    """Kept versions of a period's scorecard, ascending."""
    folder = out.versions_dir
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def current_version(out: PeriodOutput) -> Version:
    """Version of the figures in output/<period>/ now: kept versions + 1, and when last restated."""
    kept = version_numbers(out)
    if not kept:
        return Version(1)
    info = out.version_info(kept[-1])
    record: dict[str, Any] = {}
    if info.is_file():
        try:
            loaded = json.loads(info.read_text(encoding="utf-8"))
        except ValueError:
            loaded = None
        record = loaded if isinstance(loaded, dict) else {}
    files = record.get("changed_files")
    return Version(
        len(kept) + 1,
        record.get("restated_on"),
        tuple(str(f) for f in files) if isinstance(files, list) else (),
    )


def keep_previous(
    out: PeriodOutput,
    new: pd.DataFrame,
    audit_log: Path,
    now: datetime | None = None,
    changed_files: Callable[[], Sequence[str]] = tuple,
) -> pd.DataFrame | None:
    """Before `new` replaces output/<period>/scorecard.csv: keep the old files if the figures differ.

    Returns the differences written to restatement.csv, or None when nothing changed
    (or there was no previous scorecard). `changed_files` gives the data and configuration
    files edited since the old figures (`manifest.files_changed_since`), kept with the version
    and named in the audit log as the restatement's reason; it is called only when figures
    changed, so an unchanged recompute does not hash the data files again. Called by `pipeline.write_scorecard`.
    """
    previous = out.scorecard_csv
    if not previous.is_file():
        return None
    changed = differences(_read(previous), new)
    if changed.empty:
        return None
    n = (version_numbers(out) or [0])[-1] + 1
    target = out.version_dir(n)
    target.mkdir(parents=True, exist_ok=True)
    for src in out.scorecard_files:
        if src.is_file():
            fileio.write_bytes(target / src.name, src.read_bytes())
    when = (now or datetime.now(UTC)).date().isoformat()
    files = tuple(changed_files())
    fileio.write_text(
        out.version_info(n),
        json.dumps(
            {
                "version": n,
                "superseded_by": n + 1,
                "restated_on": when,
                "changed_files": list(files),
            }
        )
        + "\n",
    )
    fileio.write_frame(out.restatement, changed)
    audit.append(
        audit_log,
        [
            audit.Event(
                what="restatement",
                who=audit.current_user(),
                why=f"{len(changed)} figure{'s' if len(changed) != 1 else ''} changed"
                + (f"; files changed: {', '.join(files)}" if files else ""),
                period=out.period,
                old=f"v{n}",
                new=f"v{n + 1}",
            )
        ],
    )
    return changed


def last_diff(out: PeriodOutput) -> pd.DataFrame | None:
    """`reportlib diff`: the last kept version against the current figures (None: never restated)."""
    kept = version_numbers(out)
    if not kept or not out.scorecard_csv.is_file():
        return None
    # A kept version holds the same files under the same names (see `keep_previous`).
    old = out.version_dir(kept[-1]) / out.scorecard_csv.name
    return differences(_read(old), _read(out.scorecard_csv))
