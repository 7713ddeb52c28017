"""The bad-input corpus (tests/bad_inputs/<case>/): a clear line, the right exit code, nothing lost.

Each case folder holds `case.json` and the files it lays over the tiny project of conftest.py,
at their project paths. The CLI runs in a real child process with a timeout, so a hang fails the
case too (forked from a server that imported it once: tests/cliproc.py). `case.json` keys, applied in this order:

- `description`: what is wrong with the input (required).
- files in the folder: copied over the project at the same relative path.
- `generate`: a huge comment written by the test (too big to keep in the repository).
- `copy_as`: {"data/src/x.csv": "data/src/x.parquet"}: a copy, converted by extension.
- `edit`: {"path": [["old", "new"], ...]}: text replacements (each `old` must occur).
- `append`: {"path": ["line", ...]}: lines added at the end of a text file.
- `remove`: ["path", ...]: files deleted.
- `reencode`: {"path": "utf-16"}: the UTF-8 file rewritten in another encoding.
- `outside`: {"name": "text"}: files written OUTSIDE the project (a sibling folder).
- `symlink`: {"path": "outside:name" | "relative/target"}: a symbolic link in the project.
- `env`: extra environment variables (`{root}` is the project folder).
- `before`: [{"args": [...], "exit": n}, ...]: commands run first, each judged on its exit code.
- `args`, `exit`, `expect`: the command (`{config}` is the config path), its exit code, and
  fragments its output must contain; `expect_not`: fragments it must not contain.
- `files`: {"path": {"exists": bool, "contains": [...], "not_contains": [...]}}: checks of
  the files the commands left (paths relative to the project).
- `long`: true for a case that renders whole packs (half a minute or more): it is marked
  `long`, so `make test-long` runs it and `make test` does not (CI runs both).

Every exit-2 case must print exactly one stderr line starting with `error: `, and no case may
print a traceback. Whatever the quality report says was read must be kept or quarantined.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reportlib.layout import PeriodOutput

from . import cliproc
from .conftest import write_project

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").is_file())


def _param(name: str) -> Any:
    """The case as a pytest parameter, marked `long` when its case.json says so."""
    spec = json.loads((CORPUS / name / "case.json").read_text(encoding="utf-8"))
    return pytest.param(name, marks=pytest.mark.long) if spec.get("long") else name


TIMEOUT = 300
KEYS = {
    "description", "args", "exit", "expect", "expect_not", "generate", "copy_as", "edit",
    "append", "remove", "reencode", "outside", "symlink", "env", "before", "files", "long",
}  # fmt: skip


def _outside(root: Path) -> Path:
    return root.parent / f"{root.name}-outside"


def _generate(root: Path, gen: dict[str, Any]) -> None:
    path = root / gen["file"]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for line in lines:
            if line.startswith(gen["row"] + ","):
                fh.write(line.rstrip("\n").rsplit(",", 1)[0])  # all but the comment
                fh.write(',"' + "x" * gen["comment_bytes"] + '"\n')
            else:
                fh.write(line)


def _copy_as(src: Path, dst: Path) -> None:
    if dst.suffix == ".parquet":
        pd.read_csv(src, dtype=str, keep_default_na=False).to_parquet(dst, index=False)
    else:
        shutil.copyfile(src, dst)


def _prepare(case: Path, root: Path, spec: dict[str, Any]) -> None:
    for f in case.rglob("*"):
        if f.is_file() and f.name != "case.json":
            target = root / f.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    if spec.get("generate"):
        _generate(root, spec["generate"])
    for src, dst in spec.get("copy_as", {}).items():
        _copy_as(root / src, root / dst)
    for rel, pairs in spec.get("edit", {}).items():
        text = (root / rel).read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"{old!r} not in {rel}"
            text = text.replace(old, new)
        (root / rel).write_text(text, encoding="utf-8")
    for rel, lines in spec.get("append", {}).items():
        path = root / rel
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "".join(line + "\n" for line in lines), encoding="utf-8")
    for rel in spec.get("remove", []):
        (root / rel).unlink()
    for rel, encoding in spec.get("reencode", {}).items():
        text = (root / rel).read_text(encoding="utf-8")
        (root / rel).write_bytes(text.encode(encoding))
    for name, text in spec.get("outside", {}).items():
        _outside(root).mkdir(exist_ok=True)
        (_outside(root) / name).write_text(text, encoding="utf-8")
    for rel, target in spec.get("symlink", {}).items():
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        if target.startswith("outside:"):
            link.symlink_to(_outside(root) / target.removeprefix("outside:"))
        else:
            link.symlink_to(target)


def _records(path: Path, encoding: str) -> int:
    """Data rows of a CSV counted independently of reportlib (blank lines are not rows)."""
    enc = "utf-8-sig" if encoding == "utf-8" else encoding
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding=enc) as fh:
        return sum(1 for row in csv.reader(fh) if row) - 1


def _encoding(notes: list[str]) -> str:
    for note in notes:
        found = re.search(r"read as ([\w-]+)", note)
        if found:
            return found.group(1).lower()
    return "utf-8"


def _nothing_lost(root: Path, period: str) -> None:
    """Every row read is either kept or in the quarantine file, and every file row was read."""
    report_file = PeriodOutput(root / "output", period).quality_report
    if not report_file.is_file():
        return
    report = json.loads(report_file.read_text(encoding="utf-8"))
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"], name
        source = root / t["file"]
        if source.suffix == ".csv":
            encoding = _encoding(t.get("notes", []))
            assert t["rows_in"] == _records(source, encoding), name
        with (root / "output" / period / t["rejected_file"]).open(
            newline="", encoding="utf-8"
        ) as fh:
            assert sum(1 for _ in csv.DictReader(fh)) == t["rows_quarantined"], name


def _cli(args: list[str], config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`reportlib <args>` in a real child process (forked from a server holding the imports)."""
    argv = [a.replace("{config}", str(config)) for a in args]
    return cliproc.run(argv, cwd=config.parent, env=env, timeout=TIMEOUT)


def _check_files(root: Path, checks: dict[str, dict[str, Any]]) -> None:
    for rel, check in checks.items():
        path = root / rel
        if "exists" in check:
            assert path.exists() == check["exists"], rel
        if check.get("contains") or check.get("not_contains"):
            text = path.read_text(encoding="utf-8")
            for fragment in check.get("contains", []):
                assert fragment in text, f"{fragment!r} not in {rel}:\n{text[:2000]}"
            for fragment in check.get("not_contains", []):
                assert fragment not in text, f"{fragment!r} in {rel}:\n{text[:2000]}"


@pytest.mark.slow  # runs the CLI in a subprocess
@pytest.mark.parametrize("name", [_param(name) for name in CASES])
def test_bad_input(tmp_path: Path, name: str) -> None:
    case = CORPUS / name
    spec = json.loads((case / "case.json").read_text(encoding="utf-8"))
    root = tmp_path / "project"
    root.mkdir()
    config = write_project(root)
    _prepare(case, root, spec)
    env = {**os.environ, "COLUMNS": "250"}
    env.update({k: v.replace("{root}", str(root)) for k, v in spec.get("env", {}).items()})
    for step in spec.get("before", []):
        r = _cli(step["args"], config, env)
        assert r.returncode == step["exit"], r.stdout + r.stderr
    r = _cli(spec["args"], config, env)
    output = r.stdout + r.stderr
    assert r.returncode == spec["exit"], output
    for fragment in spec["expect"]:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    for fragment in spec.get("expect_not", []):
        assert fragment not in output, f"{fragment!r} in:\n{output}"
    assert "Traceback" not in output and "internal error" not in output
    if spec["exit"] == 2:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    _check_files(root, spec.get("files", {}))
    if "--period" in spec["args"]:
        period = spec["args"][spec["args"].index("--period") + 1]
        if re.fullmatch(r"\d{4}-\d{2}", period):
            _nothing_lost(root, period)


def test_the_corpus_is_well_formed() -> None:
    assert len(CASES) >= 60, len(CASES)
    for name in CASES:
        spec = json.loads((CORPUS / name / "case.json").read_text(encoding="utf-8"))
        assert set(spec) <= KEYS, (name, set(spec) - KEYS)
        assert spec["description"] and spec["expect"] and spec["exit"] in (0, 1, 2), name
