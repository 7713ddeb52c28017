"""`--output-dir` (the sandbox): everything under the analyst's folder, the official output
folder and its audit log byte for byte as they were, and the official folder refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib import audit, cli

from ..conftest import SURVEYS, write_project

PERIOD = "2026-03"
REPORTLIB = Path(sys.executable).with_name("reportlib")
ACCEPT = "fixture: two planted out-of-range scores"
# Two NPS scores out of range (over the 5% gate): accepting them writes an audit entry.
BAD_SURVEYS = (
    SURVEYS
    + "R90,C1,nps,11,2026-03-05 10:00:00,2026-03-05 11:00:00,email,40,\n"
    + "R91,C3,nps,12,2026-03-06 10:00:00,2026-03-06 11:00:00,email,40,\n"
)
# A late answer for March: computed again, the official record would be restated.
LATE = "R92,C4,nps,0,2026-03-05 10:00:00,2026-03-06 11:00:00,email,40,late\n"


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (hidden ones included), by relative path."""
    return {
        f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def official_record(root: Path) -> Path:
    """The tiny project with an official compute of March (an audit entry: the accepted gate)."""
    config = write_project(root, tables={"survey_responses": BAD_SURVEYS})
    args = ["compute", "--period", PERIOD, "--accept-quality", ACCEPT, "--config", str(config)]
    assert cli.main(args) == 0
    assert audit.read(root / "output" / "audit.jsonl")  # the gate's acceptance is on record
    with (root / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)  # the data moved on since: an official compute now would restate
    return config


@pytest.fixture(scope="module")
def official_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One official record made for the module (a compute is the slow part), to be copied."""
    return official_record(tmp_path_factory.mktemp("official") / "project")


def copy_of(template: Path, root: Path) -> Path:
    """A copy of the official record's project at `root` (file times kept); its config."""
    shutil.copytree(template.parent, root, symlinks=True)
    return root / template.name


@pytest.fixture
def official(official_template: Path, tmp_path: Path) -> Path:
    """The official record, a copy of its own for each test."""
    return copy_of(official_template, tmp_path / "project")


def test_compute_in_a_sandbox_leaves_the_official_record_alone(
    official: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = official.parent / "output"
    before = snapshot(output)
    sandbox = tmp_path / "try"
    args = ["compute", "--period", PERIOD, "--accept-quality", ACCEPT, "--output-dir", str(sandbox)]
    assert cli.main([*args, "--config", str(official)]) == 0
    assert snapshot(output) == before
    written = snapshot(sandbox)
    for name in ("scorecard.csv", "scorecard.parquet", "history.parquet", "quality/report.json"):
        assert f"{PERIOD}/{name}" in written
    # Its own audit log, inside the sandbox, with the sandbox's acceptance only.
    entries = audit.read(sandbox / "audit.jsonl")
    assert len(entries) == len(audit.read(output / "audit.jsonl"))
    assert audit.check(sandbox / "audit.jsonl", anchors={}, key=None) == len(entries)
    # A fresh record, not a restatement of the official one.
    assert not (sandbox / PERIOD / "versions").exists()
    assert str(sandbox) in capsys.readouterr().out


def test_validate_in_a_sandbox(
    official: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = official.parent / "output"
    before = snapshot(output)
    sandbox = tmp_path / "try"
    args = ["validate", "--period", PERIOD, "--output-dir", str(sandbox), "--json"]
    assert cli.main([*args, "--config", str(official)]) == 2  # the gate, not accepted
    doc = json.loads(capsys.readouterr().out)
    assert doc["sandbox"] is True and doc["gate"] == "failed"
    assert all(Path(f).is_relative_to(sandbox) for f in doc["files"])
    assert (sandbox / PERIOD / "quality" / "report.json").is_file()
    assert snapshot(output) == before


@pytest.mark.parametrize("where", ["output", "output/2026-03", "./output/../output", "link"])
def test_the_official_folder_is_refused(
    official: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = official.parent
    output = root / "output"
    (root / "link").symlink_to(output, target_is_directory=True)
    before = snapshot(output)
    cwd = Path.cwd()
    os.chdir(root)  # --output-dir is relative to where the command is typed
    try:
        code = cli.main(
            ["compute", "--period", PERIOD, "--output-dir", where, "--config", str(official)]
        )
    finally:
        os.chdir(cwd)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1 and err[0].startswith(
        f"error: --output-dir {Path(where)}: is the official"
    )
    assert snapshot(output) == before


def test_run_refuses_the_official_folder_before_loading(
    official: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = official.parent / "output"
    before = snapshot(output)
    code = cli.main(
        ["run", "--output-dir", str(output), "--node", "all", "--config", str(official)]
    )
    assert code == 2
    assert "error: --output-dir" in capsys.readouterr().err
    assert snapshot(output) == before


# --------------------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def sandbox_run(
    official_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[str, str], subprocess.CompletedProcess[str]]:
    """A `run` of the `all` pack into a sandbox beside an official record, with `--json -q`."""
    base = tmp_path_factory.mktemp("sandbox")
    config = copy_of(official_template, base / "project")
    output = base / "project" / "output"
    before = snapshot(output)
    sandbox = base / "try"
    process = subprocess.run(
        [str(REPORTLIB), "run", "--period", PERIOD, "--node", "all", "--accept-quality", ACCEPT,
         "--output-dir", str(sandbox), "--json", "-q", "--config", str(config)],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    return output, sandbox, before, process


@pytest.mark.slow
@pytest.mark.long
def test_a_sandbox_run_writes_only_in_the_sandbox(sandbox_run) -> None:
    output, sandbox, before, process = sandbox_run
    assert process.returncode == 0, process.stderr
    assert snapshot(output) == before
    assert (sandbox / PERIOD / "all" / "board-pack.pdf").is_file()
    assert (sandbox / PERIOD / "manifest.json").is_file()
    assert (sandbox / "audit.jsonl").is_file()
    manifest = json.loads((sandbox / PERIOD / "manifest.json").read_text())
    assert manifest["parameters"]["output_dir"] == str(sandbox)


@pytest.mark.slow
@pytest.mark.long
def test_a_sandbox_run_json_summary(sandbox_run) -> None:
    _output, sandbox, _before, process = sandbox_run
    doc = json.loads(process.stdout)  # the whole of stdout is the one object
    assert doc["command"] == "run" and doc["period"] == PERIOD
    assert doc["exit_code"] == 0 and doc["error"] is None
    assert doc["sandbox"] is True and doc["output_dir"] == str(sandbox)
    assert doc["scorecard"]["status"] == "done"
    assert doc["nodes"] == {"done": ["all"], "skipped": [], "failed": []}
    assert doc["failures"] == {}
    assert set(doc["counts"]) == {"green", "amber", "red", "insufficient", "no-target", "no-data"}
    assert sum(doc["counts"].values()) > 0
    assert list(doc["statuses"])[:2] == ["all", "ent"]
    # smb/us has revenue but no scored perspective: not "no-data", too little of the weight
    # scored (DOMAIN.md §6).
    assert doc["statuses"]["smb/us"] == "insufficient"
    pack = sandbox / PERIOD / "all" / "board-pack.pdf"
    assert str(pack) in doc["files"] and doc["manifest"] in doc["files"]
    assert all(Path(f).is_relative_to(sandbox) for f in doc["files"])
    # What a person would read went to stderr; -q left out the progress and log lines.
    assert "board packs 1 done" in process.stderr
    assert f"wrote {doc['manifest']}" in process.stderr
    assert "scorecard: computing" not in process.stderr
    assert "[1/1] all done" not in process.stderr
    assert " INFO " not in process.stderr and " WARNING " not in process.stderr
