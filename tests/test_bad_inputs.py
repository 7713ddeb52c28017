"""The bad-input corpus (tests/bad_inputs/<case>/): a clear line, the right exit code, nothing lost.

Each case folder holds `case.json` (the command, the exit code, fragments the output must
contain) and the files it lays over the tiny project of conftest.py, at their project paths.
The CLI runs in a real subprocess with a timeout, so a hang fails the case too.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib.layout import PeriodOutput

from .conftest import write_project

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").is_file())
TIMEOUT = 180


def _lay_over(case: Path, root: Path, spec: dict) -> None:
    for f in case.rglob("*"):
        if f.is_file() and f.name != "case.json":
            target = root / f.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    gen = spec.get("generate")
    if gen:  # too big to keep in the repository: a huge comment on one row
        path = root / gen["file"]
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            for line in lines:
                if line.startswith(gen["row"] + ","):
                    fh.write(line.rstrip("\n").rsplit(",", 1)[0])  # all but the comment
                    fh.write(',"' + "x" * gen["comment_bytes"] + '"\n')
                else:
                    fh.write(line)


def _records(path: Path, encoding: str) -> int:
    """Data rows of a CSV counted independently of reportlib (blank lines are not rows)."""
    enc = "utf-8-sig" if encoding == "utf-8" else encoding
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding=enc) as fh:
        return sum(1 for row in csv.reader(fh) if row) - 1


def _nothing_lost(root: Path, period: str) -> None:
    """Every row read is either kept or in the quarantine file, and every file row was read."""
    report_file = PeriodOutput(root / "output", period).quality_report
    if not report_file.is_file():
        return
    report = json.loads(report_file.read_text(encoding="utf-8"))
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"], name
        source = root / t["file"]
        latin = any("latin-1" in n for n in t.get("notes", []))
        assert t["rows_in"] == _records(source, "latin-1" if latin else "utf-8"), name
        with (root / "output" / period / t["rejected_file"]).open(
            newline="", encoding="utf-8"
        ) as fh:
            assert sum(1 for _ in csv.DictReader(fh)) == t["rows_quarantined"], name


@pytest.mark.slow  # runs the CLI in a subprocess
@pytest.mark.parametrize("name", CASES)
def test_bad_input(tmp_path: Path, name: str) -> None:
    case = CORPUS / name
    spec = json.loads((case / "case.json").read_text(encoding="utf-8"))
    config = write_project(tmp_path)
    _lay_over(case, tmp_path, spec)
    args = [a.replace("{config}", str(config)) for a in spec["args"]]
    r = subprocess.run(
        [sys.executable, "-m", "reportlib.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "COLUMNS": "250"},
    )
    output = r.stdout + r.stderr
    assert r.returncode == spec["exit"], output
    for fragment in spec["expect"]:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert "Traceback" not in output and "internal error" not in output
    if spec["exit"] == 2:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    _nothing_lost(tmp_path, args[args.index("--period") + 1])


def test_the_corpus_covers_the_issue() -> None:
    assert len(CASES) >= 19
    for name in CASES:
        spec = json.loads((CORPUS / name / "case.json").read_text(encoding="utf-8"))
        assert spec["description"] and spec["expect"] and spec["exit"] in (0, 2), name
