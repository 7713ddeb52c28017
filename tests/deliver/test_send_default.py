"""`send` without `--period`: the latest completed run's period, on the shared real run of
the package (no new run), with `--json` read back as the scheduler would read it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reportlib import cli

from .conftest import PERIOD, Misbehaving, use_server

pytestmark = [pytest.mark.slow, pytest.mark.long]


def _send(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = cli.main(["send", *args, "--json", "--config", str(config)])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # the one object, nothing else on stdout
    return code, json.loads(out)


def test_dry_run_defaults_to_the_latest_completed_run(
    delivery_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    shutil.copytree(delivery_run, root)
    # A later month computed but never run (no packs): not a completed run, so not the default.
    later = root / "output" / "2026-04"
    later.mkdir()
    (later / "manifest.json").write_text('{"period": "2026-04", "run": null}\n', encoding="utf-8")
    code, doc = _send(root / "reportlib.toml", capsys, "--dry-run")
    assert code == 0, doc
    assert doc["command"] == "send" and doc["period"] == PERIOD
    assert doc["exit_code"] == 0 and doc["error"] is None and doc["dry_run"] is True
    assert doc["counts"]["dry-run"] == 2 and doc["counts"]["failed"] == 0
    assert sorted(doc["deliveries"]["dry-run"]) == ["board@example.com", "bob@example.com"]
    assert Path(doc["log"]) == root / "output" / PERIOD / "outbox"
    assert len(list(Path(doc["log"]).glob("*.eml"))) == 2


def test_send_defaults_to_the_latest_completed_run(
    delivery_run: Path,
    tmp_path: Path,
    server: tuple[Misbehaving, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, port = server
    root = use_server(delivery_run, tmp_path / "p", port)
    code, doc = _send(root / "reportlib.toml", capsys)
    assert code == 0, doc
    assert doc["period"] == PERIOD
    assert doc["deliveries"]["sent"] == ["board@example.com", "bob@example.com"]
    assert doc["counts"] == {
        "sent": 2, "dry-run": 0, "skipped": 0, "changed": 0, "unknown": 0, "failed": 0
    }  # fmt: skip
    assert handler.copies("board@example.com") == 1 and handler.copies("bob@example.com") == 1
    # Again: both current, so skipped (and still the same period by default).
    code, doc = _send(root / "reportlib.toml", capsys)
    assert code == 0 and doc["period"] == PERIOD
    assert doc["deliveries"]["skipped"] == ["board@example.com", "bob@example.com"]
    assert handler.copies("board@example.com") == 1


def test_a_failed_delivery_is_exit_1_with_the_summary(
    delivery_run: Path,
    tmp_path: Path,
    server: tuple[Misbehaving, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, port = server
    root = use_server(delivery_run, tmp_path / "p", port)
    handler.transient = 100  # 451 to every attempt: each recipient fails
    code, doc = _send(root / "reportlib.toml", capsys, "--only", "bob@example.com")
    assert code == 1
    assert doc["exit_code"] == 1
    assert doc["deliveries"]["failed"] == ["bob@example.com"]
    assert doc["error"].startswith("1 of 1 recipients failed: bob@example.com")
