"""manifest.json: hashes, fingerprints, merges and the quality outcome (no notebooks run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reportlib import fileio, manifest
from reportlib.config import Project, load_project

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
    (tmp_path / "ent" / "eu").mkdir(parents=True)
    for name in (
        "scorecard.csv",
        "ent/eu/board-pack.pdf",
        "manifest.json",
        "deliveries.jsonl",
        "ent/.board-pack.pdf.x.tmp",
    ):
        (tmp_path / name).write_text(name)
    files = manifest.output_files(tmp_path)
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
    manifest.record_step(project, PERIOD, "scorecard", {"status": "done", "fingerprint": "f1"})
    manifest.record_nodes(project, PERIOD, {"all": {"status": "done", "fingerprint": "n1"}})
    manifest.record_run_start(project, PERIOD, parameters={"period": PERIOD, "force": False})
    manifest.record_nodes(project, PERIOD, {"ent": {"status": "failed", "fingerprint": "n2"}})
    out = project.settings.period_dir(PERIOD)
    (out / "scorecard.csv").write_text("x\n")
    m = manifest.record_run_end(project, PERIOD, seconds=1.5, timings={"scorecard": 1.0})
    assert json.loads(manifest.path(project, PERIOD).read_text()) == m
    assert m["period"] == PERIOD
    assert manifest.stamp(m) == {"status": "done", "fingerprint": "f1"}
    assert (
        manifest.stamp(m, "all")["fingerprint"] == "n1"
        and manifest.stamp(m, "ent")["status"] == "failed"
    )
    assert m["parameters"] == {"period": PERIOD, "force": False}
    assert m["run"]["seconds"] == 1.5 and m["run"]["finished_at"]
    assert m["files"] == {
        "scorecard.csv": {"sha256": fileio.sha256(out / "scorecard.csv"), "size": 2}
    }
    assert m["quality"] is None
    assert m["code"]["version"] and re.fullmatch(r"[0-9a-f]{40}|unknown", m["code"]["commit"])


def test_unreadable_manifest_starts_afresh(project: Project) -> None:
    p = manifest.path(project, PERIOD)
    p.parent.mkdir(parents=True)
    p.write_text("{not json")
    assert manifest.read(project, PERIOD) == {}
    manifest.record_step(project, PERIOD, "scorecard", {"status": "done"})
    assert manifest.stamp(manifest.read(project, PERIOD)) == {"status": "done"}


def test_quality_outcome_carries_the_gate_and_override_reason(project: Project) -> None:
    assert manifest.quality_outcome(project, PERIOD) is None
    q = project.settings.period_dir(PERIOD) / "quality"
    q.mkdir(parents=True)
    gate = {
        "passed": False,
        "accepted": True,
        "reason": "known duplicate feed",
        "max_reject_share": 0.05,
    }
    (q / "report.json").write_text(json.dumps({"gate": gate, "tables": {}}))
    outcome = manifest.quality_outcome(project, PERIOD)
    assert outcome is not None
    assert (outcome["passed"], outcome["accepted"], outcome["reason"]) == (
        False,
        True,
        "known duplicate feed",
    )
    assert outcome["report"] == f"output/{PERIOD}/quality/report.json"
    assert outcome["sha256"] == fileio.sha256(q / "report.json")


def test_code_fingerprint_covers_the_package() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", manifest.code_fingerprint())
    assert manifest.code_fingerprint() == manifest.code_fingerprint()
