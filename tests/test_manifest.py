"""manifest.json: hashes, fingerprints, merges and the quality outcome (no notebooks run here)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from reportlib import fileio, layout, manifest
from reportlib.config import Project, load_project
from reportlib.errors import ReportlibError

from .conftest import write_project

PERIOD = "2026-03"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return load_project(write_project(tmp_path))


def test_fingerprint_is_stable_and_sensitive() -> None:
    a = manifest.fingerprint({"x": 1, "files": {"a": "1", "b": "2"}})
    assert a == manifest.fingerprint(
        {"files": {"b": "2", "a": "1"}, "x": 1}
    )  # key order is irrelevant
    assert a != manifest.fingerprint({"x": 1, "files": {"a": "1", "b": "3"}})
    assert re.fullmatch(r"[0-9a-f]{64}", a)


def test_config_and_input_files_are_hashed_relative_to_the_project(project: Project) -> None:
    root = project.settings.root
    config = manifest.hash_files(manifest.config_files(project), root)
    assert set(config) == {
        "reportlib.toml",
        "data/kpis.yaml",
        "data/segments.yaml",
        "data/targets.csv",
    }
    inputs = manifest.hash_files(manifest.input_files(project), root)
    assert set(inputs) == {
        f"data/src/{t}.csv"
        for t in ("customers", "survey_responses", "tickets", "revenue", "workforce")
    }
    p = root / "data/src/tickets.csv"
    assert inputs["data/src/tickets.csv"] == {"sha256": fileio.sha256(p), "size": p.stat().st_size}


def test_output_files_lists_everything_but_the_manifest_send_log_and_temporaries(
    tmp_path: Path,
) -> None:
    out = layout.PeriodOutput(tmp_path, PERIOD)
    (out.dir / "ent" / "eu").mkdir(parents=True)
    for name in (
        "scorecard.csv",
        "ent/eu/board-pack.pdf",
        "manifest.json",
        "deliveries.jsonl",
        "ent/.board-pack.pdf.x.tmp",
        ".lock",
    ):
        (out.dir / name).write_text(name)
    files = manifest.output_files(out)
    assert set(files) == {"scorecard.csv", "ent/eu/board-pack.pdf"}
    assert files["scorecard.csv"]["size"] == len("scorecard.csv")


def test_connection_passwords_are_not_recorded() -> None:
    assert (
        manifest.redacted_source("postgres://cx:s3cret@db:5432/cx")
        == "postgres://cx:***@db:5432/cx"
    )
    assert manifest.redacted_source("postgres://db/cx") == "postgres://db/cx"
    assert manifest.redacted_source("data/sample") == "data/sample"


def test_records_merge_and_keep_earlier_steps(project: Project) -> None:
    out = manifest.period_output(project, PERIOD)
    manifest.record_step(out, "scorecard", {"status": "done", "fingerprint": "f1"})
    manifest.record_nodes(out, {"all": {"status": "done", "fingerprint": "n1"}})
    started = manifest.record_run_start(out, parameters={"period": PERIOD, "force": False})
    assert not started.finished
    manifest.record_nodes(out, {"ent": {"status": "failed", "fingerprint": "n2"}})
    (out.dir / "scorecard.csv").write_text("x\n")
    record = manifest.record_run_end(project, out, seconds=1.5, timings={"scorecard": 1.0})
    assert record.finished and record.failed_nodes() == ["ent"]
    assert manifest.read(project, PERIOD) == record
    m = json.loads(manifest.path(project, PERIOD).read_text())
    assert m == record.to_json()
    assert m["schema_version"] == manifest.SCHEMA_VERSION
    assert m["period"] == PERIOD
    assert manifest.stamp(record) == {"status": "done", "fingerprint": "f1"}
    assert (
        manifest.stamp(record, "all")["fingerprint"] == "n1"
        and manifest.stamp(record, "ent")["status"] == "failed"
    )
    assert m["steps"]["nodes"]["ent"] == {"status": "failed", "fingerprint": "n2"}
    assert m["parameters"] == {"period": PERIOD, "force": False}
    assert m["run"]["seconds"] == 1.5 and m["run"]["finished_at"]
    assert m["files"] == {
        "scorecard.csv": {"sha256": fileio.sha256(out.dir / "scorecard.csv"), "size": 2}
    }
    assert m["quality"] is None
    assert m["code"]["version"] and re.fullmatch(r"[0-9a-f]{40}|unknown", m["code"]["commit"])


def test_unreadable_manifest_starts_afresh(project: Project) -> None:
    p = manifest.path(project, PERIOD)
    p.parent.mkdir(parents=True)
    p.write_text("{not json")
    assert manifest.read(project, PERIOD) is None
    assert manifest.stamp(None) == {}
    manifest.record_step(manifest.period_output(project, PERIOD), "scorecard", {"status": "done"})
    assert manifest.stamp(manifest.read(project, PERIOD)) == {"status": "done"}


def test_quality_outcome_carries_the_gate_and_override_reason(project: Project) -> None:
    out = manifest.period_output(project, PERIOD)
    assert manifest.quality_outcome(project, out) is None
    q = project.settings.period_dir(PERIOD) / "quality"
    q.mkdir(parents=True)
    gate = {
        "passed": False,
        "accepted": True,
        "reason": "known duplicate feed",
        "max_reject_share": 0.05,
    }
    (q / "report.json").write_text(json.dumps({"gate": gate, "tables": {}}))
    outcome = manifest.quality_outcome(project, out)
    assert outcome is not None
    assert (outcome["passed"], outcome["accepted"], outcome["reason"]) == (
        False,
        True,
        "known duplicate feed",
    )
    assert outcome["report"] == f"output/{PERIOD}/quality/report.json"
    assert outcome["sha256"] == fileio.sha256(q / "report.json")


def test_code_fingerprint_follows_the_package_source(tmp_path: Path) -> None:
    """A copy of the package has the package's fingerprint until one of its source files changes."""
    copy = tmp_path / "reportlib"
    shutil.copytree(
        manifest.PACKAGE_DIR, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
    )  # links kept as links: reportlib/notebooks and templates point at the top-level folders
    original = manifest.code_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", original)
    assert manifest.code_fingerprint(copy) == original
    # Caches and files the package does not run are not code.
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (copy / "NOTES.md").write_text("not code\n")
    assert manifest.code_fingerprint(copy) == original
    # A changed module, or a changed default configuration file, is.
    module = copy / "run" / "plan.py"
    module.write_text(module.read_text() + "\n# changed\n")
    edited = manifest.code_fingerprint(copy)
    assert edited != original
    kpis = copy / "defaults" / "kpis.yaml"
    kpis.write_text(kpis.read_text() + "\n")
    assert manifest.code_fingerprint(copy) not in (original, edited)


def _recorded(project: Project) -> manifest.Manifest:
    out = manifest.period_output(project, PERIOD)
    manifest.record_run_start(out, parameters={"period": PERIOD, "nodes": ["ent"]})
    manifest.record_step(out, "scorecard", {"status": "done", "fingerprint": "f1", "seconds": 2.5})
    manifest.record_nodes(out, {"ent": {"status": "done", "inputs": {"node": "d1"}}})
    return manifest.record_run_end(project, out, seconds=3.0, timings={"packs": 1.25})


def test_manifest_round_trips_through_json(project: Project) -> None:
    record = dataclasses.replace(_recorded(project), as_of="2026-03-31T12:00:00")
    data = json.loads(record.dumps())
    assert manifest.Manifest.from_json(data) == record
    assert set(data) == {
        "schema_version",
        "period",
        "as_of",
        "code",
        "source",
        "config",
        "inputs",
        "parameters",
        "run",
        "steps",
        "quality",
        "files",
        "audit",
    }
    assert data["audit"] is None
    anchored = dataclasses.replace(record, audit={"entries": 2, "last_hash": "ab", "hmac": None})
    assert manifest.Manifest.from_json(json.loads(anchored.dumps())) == anchored
    assert data["steps"]["nodes"] == {"ent": {"status": "done", "inputs": {"node": "d1"}}}
    assert data["run"]["timings"] == {"packs": 1.25} and data["run"]["seconds"] == 3.0
    # A copy changes only what it names.
    later = dataclasses.replace(record, nodes={**record.nodes, "all": {"status": "failed"}})
    assert later.failed_nodes() == ["all"] and later.steps == record.steps


def test_a_manifest_from_before_schema_versions_is_read(project: Project) -> None:
    data = _recorded(project).to_json()
    del data["schema_version"]
    assert manifest.Manifest.from_json(data).stamp()["fingerprint"] == "f1"


def test_a_newer_schema_version_is_refused_naming_the_file(project: Project) -> None:
    _recorded(project)
    p = manifest.path(project, PERIOD)
    data = json.loads(p.read_text())
    data["schema_version"] = manifest.SCHEMA_VERSION + 1
    p.write_text(json.dumps(data))
    with pytest.raises(ReportlibError) as e:
        manifest.read(project, PERIOD)
    assert str(p) in str(e.value) and "newer reportlib" in str(e.value)
    assert e.value.context["file"] == str(p)
    # Nor is it overwritten by a step of this older code.
    with pytest.raises(ReportlibError):
        manifest.record_step(manifest.period_output(project, PERIOD), "scorecard", {})
    assert json.loads(p.read_text()) == data
