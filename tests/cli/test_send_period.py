"""The default period of `send`: the latest period folder whose run finished with packs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportlib import manifest
from reportlib.manifest import Manifest, RunRecord

DONE = {"status": "done", "seconds": 1.0}
FAILED = {"status": "failed", "seconds": 1.0}


def _write(root: Path, m: Manifest) -> None:
    folder = root / m.period
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(m.dumps(), encoding="utf-8")


def _finished(period: str, nodes: dict[str, dict[str, object]]) -> Manifest:
    run = RunRecord(started_at="2026-04-01T06:00:00Z", finished_at="2026-04-01T06:05:00Z")
    return Manifest(period=period, run=run, nodes=nodes)


def test_the_latest_finished_run_with_packs(tmp_path: Path) -> None:
    _write(tmp_path, _finished("2026-02", {"all": DONE}))
    _write(tmp_path, _finished("2026-03", {"all": {"status": "skipped", "seconds": 0.0}}))
    # Later months that are not completed runs with packs:
    _write(tmp_path, Manifest(period="2026-04"))  # computed only
    started = RunRecord(started_at="2026-05-01T06:00:00Z")
    _write(tmp_path, Manifest(period="2026-05", run=started, nodes={"all": DONE}))  # killed
    _write(tmp_path, _finished("2026-06", {}))  # no packs
    (tmp_path / "2026-07").mkdir()  # a folder without a manifest
    (tmp_path / "try").mkdir()  # not a period
    assert manifest.latest_completed_run(tmp_path) == "2026-03"


def test_a_month_whose_packs_failed_is_still_the_latest_run(tmp_path: Path) -> None:
    """`send` then refuses that month (naming the failed nodes) instead of an earlier one."""
    _write(tmp_path, _finished("2026-02", {"all": DONE}))
    _write(tmp_path, _finished("2026-03", {"all": FAILED, "ent": DONE}))
    assert manifest.latest_completed_run(tmp_path) == "2026-03"
    _write(tmp_path, _finished("2026-04", {"all": FAILED}))
    assert manifest.latest_completed_run(tmp_path) == "2026-04"


def test_none_without_any(tmp_path: Path) -> None:
    assert manifest.latest_completed_run(tmp_path) is None
    assert manifest.latest_completed_run(tmp_path / "missing") is None
    _write(tmp_path, Manifest(period="2026-04"))
    assert manifest.latest_completed_run(tmp_path) is None


def test_a_manifest_from_a_newer_reportlib_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "2026-03"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 999}), encoding="utf-8")
    with pytest.raises(manifest.ReportlibError, match="newer reportlib"):
        manifest.latest_completed_run(tmp_path)
