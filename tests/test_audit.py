"""The audit log output/audit.jsonl: hash chain, tamper detection, no duplicates on re-run (§8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportlib import audit
from reportlib.cli import main
from reportlib.errors import AuditError

from .conftest import write_project

KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,smb,logo_retention,50,2,Jane Analyst,Churn of C4 was reversed after the cut-off\n"
    "2026-03,ent/eu,enps,20,8,Max Analyst,Pulse survey ran on paper\n"
)


@pytest.fixture
def computed(tmp_path: Path) -> Path:
    """Tiny project computed once with two manual values and an accepted quality gate."""
    config = write_project(
        tmp_path,
        kpi_values=KPI_VALUES,
        quality="allow_credit_notes = false\nmax_reject_share = 0\n",
    )
    args = ["compute", "--period", "2026-03", "--config", str(config)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 0
    return config


def test_entries_chain_and_verify(
    computed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = computed.parent / "output" / "audit.jsonl"
    entries = audit.read(log)
    by_kpi = {e["kpi"]: e for e in entries}
    assert by_kpi["logo_retention"]["what"] == "override"
    assert by_kpi["logo_retention"]["old"] == 100.0 and by_kpi["logo_retention"]["new"] == 50.0
    assert by_kpi["logo_retention"]["who"] == "Jane Analyst"
    assert by_kpi["logo_retention"]["why"] == "Churn of C4 was reversed after the cut-off"
    assert by_kpi["enps"]["who"] == "Max Analyst" and by_kpi["enps"]["new"] == 20.0
    gate = [e for e in entries if e["what"] == "quality_override"]
    assert len(gate) == 1 and gate[0]["why"] == "credit note is genuine"
    assert gate[0]["period"] == "2026-03" and gate[0]["who"]
    assert len(entries) == 3
    assert entries[0]["prev_hash"] == "0" * 64
    lines = log.read_bytes().splitlines()
    for before, entry in zip(lines, entries[1:], strict=False):
        assert entry["prev_hash"] == audit._sha(before)
    assert all(e["when"] for e in entries)
    capsys.readouterr()
    assert main(["audit", "verify", "--config", str(computed)]) == 0
    assert "audit log intact (3 entries)" in capsys.readouterr().out


def test_rerun_appends_nothing(computed: Path) -> None:
    log = computed.parent / "output" / "audit.jsonl"
    before = log.read_bytes()
    args = ["compute", "--period", "2026-03", "--config", str(computed)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 0
    assert log.read_bytes() == before
    # A different reason is a new event, chained onto the last line.
    assert main([*args, "--accept-quality", "approved by the CFO"]) == 0
    entries = audit.read(log)
    assert len(entries) == 4 and entries[-1]["why"] == "approved by the CFO"
    assert audit.check(log) == 4


def test_edited_line_is_named(computed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = computed.parent / "output" / "audit.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["new"] = 99.0
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(AuditError, match=r"audit\.jsonl line 2: hash does not match"):
        audit.check(log)
    capsys.readouterr()
    assert main(["audit", "verify", "--config", str(computed)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_rehashed_edit_breaks_the_next_link(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    events = [
        audit.Event("override", "a", "r", "2026-03", "all", "nps", 1.0, float(i)) for i in range(3)
    ]
    assert audit.append(log, events) == 3
    assert audit.append(log, events) == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[0])
    entry["why"] = "changed"
    entry["hash"] = audit._entry_hash(entry)  # a forger recomputes the line's own hash
    lines[0] = audit._canonical(entry)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    v = audit.verify(log)
    assert v.broken_line == 2 and v.entries == 1 and "prev_hash" in (v.problem or "")


def test_no_log_is_intact(tmp_path: Path) -> None:
    assert audit.check(tmp_path / "audit.jsonl") == 0
