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


# --------------------------------------------------------------------------- the anchor


def _output(config: Path) -> Path:
    return config.parent / "output"


def _verify(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "verify", "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_head_and_the_manifest_anchor_the_end_of_the_log(computed: Path) -> None:
    log = _output(computed) / "audit.jsonl"
    lines = log.read_bytes().splitlines()
    head = json.loads(audit.head_path(log).read_text())
    assert head == {"entries": 3, "last_hash": audit._sha(lines[-1]), "hmac": None}
    recorded = json.loads((_output(computed) / "2026-03" / "manifest.json").read_text())
    assert recorded["audit"] == head
    # Neither the head nor the audit log is inside a period folder's file list.
    assert not [f for f in recorded["files"] if "audit" in f]


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (
            lambda lines: lines[:-1],
            "its head records 3 entries, the log has 2: it was cut at its end",
        ),
        (
            lambda lines: lines[:1],
            "its head records 3 entries, the log has 1: it was cut at its end",
        ),
        (lambda lines: [], "its head records 3 entries, the log has 0: it was emptied"),
    ],
    ids=["last line cut", "only the first line kept", "emptied"],
)
def test_a_log_cut_at_its_end_is_detected(
    computed: Path, capsys: pytest.CaptureFixture[str], cut: object, problem: str
) -> None:
    log = _output(computed) / "audit.jsonl"
    lines = log.read_bytes().splitlines()
    kept = cut(lines)  # type: ignore[operator]
    log.write_bytes(b"".join(ln + b"\n" for ln in kept))
    assert audit.verify(log).problem == problem
    code, said = _verify(computed, capsys)
    assert code == 2 and problem in said
    # A compute refuses to continue the shortened log.
    args = ["compute", "--period", "2026-03", "--config", str(computed)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 2
    assert log.read_bytes().splitlines() == kept


def test_a_deleted_log_is_detected_and_compute_does_not_start_a_fresh_chain(
    computed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _output(computed) / "audit.jsonl"
    log.unlink()
    code, said = _verify(computed, capsys)
    assert code == 2 and "its head records 3 entries, the log has 0: it was deleted" in said
    args = ["compute", "--period", "2026-03", "--config", str(computed)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 2
    assert "it was deleted" in capsys.readouterr().err
    assert not log.exists() or audit.read(log) == []
    # The head deleted too: the period manifest's anchor still says what was there.
    audit.head_path(log).unlink()
    code, said = _verify(computed, capsys)
    assert code == 2
    assert "2026-03/manifest.json records 3 entries, the log has 0: it was deleted" in said
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 2
    assert not log.exists() or audit.read(log) == []


def test_a_restarted_chain_is_detected(computed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Log and head deleted, then a fresh chain of other entries written in their place."""
    log = _output(computed) / "audit.jsonl"
    log.unlink()
    audit.head_path(log).unlink()
    forged = [
        audit.Event("override", "x", "y", "2026-03", "all", "nps", 1.0, float(i)) for i in range(4)
    ]
    assert audit.append(log, forged) == 4
    assert audit.verify(log).intact  # the fresh chain and its head agree with each other ...
    code, said = _verify(computed, capsys)  # ... but not with the period's manifest
    assert code == 2
    assert (
        "entry 3 is not the one 2026-03/manifest.json records: the chain was rewritten or restarted"
        in said
    )


def test_lines_added_behind_the_heads_back_are_detected(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    audit.append(log, [audit.Event("override", "a", "r", "2026-03", "all", "nps", 1.0, 2.0)])
    head = audit.head_path(log).read_bytes()
    audit.append(log, [audit.Event("override", "a", "r", "2026-03", "all", "nps", 2.0, 3.0)])
    audit.head_path(log).write_bytes(head)
    assert audit.verify(log).problem == (
        "its head records 1 entry, the log has 2: lines were added behind its back"
    )


def _forge(log: Path, output: Path) -> None:
    """Rewrite the log's first entry and recompute everything a verifier checks, without the key."""
    lines = log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(ln) for ln in lines]
    entries[0]["why"] = "nothing to see here"
    prev = audit.GENESIS
    out: list[str] = []
    for e in entries:
        e["prev_hash"] = prev
        e["hash"] = audit._entry_hash(e)
        line = audit._canonical(e)
        out.append(line)
        prev = audit._sha(line)
    log.write_text("\n".join(out) + "\n", encoding="utf-8")
    mac = json.loads(audit.head_path(log).read_text()).get("hmac")
    anchor = {"entries": len(out), "last_hash": prev, "hmac": mac}
    audit.head_path(log).write_text(json.dumps(anchor))
    manifest_file = output / "2026-03" / "manifest.json"
    recorded = json.loads(manifest_file.read_text())
    recorded["audit"] = anchor
    manifest_file.write_text(json.dumps(recorded))


def test_without_a_key_a_chain_rewritten_with_its_anchors_verifies(
    computed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The limit the README states: whoever can write the files can rewrite log and anchors."""
    _forge(_output(computed) / "audit.jsonl", _output(computed))
    code, said = _verify(computed, capsys)
    assert code == 0 and "audit log intact (3 entries)" in said
    assert "REPORTLIB_AUDIT_KEY not set: HMACs not checked" in said


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The computed project of `computed`, its audit entries signed with a key."""
    monkeypatch.setenv("REPORTLIB_AUDIT_KEY", "s3cret")
    config = write_project(
        tmp_path,
        kpi_values=KPI_VALUES,
        quality="allow_credit_notes = false\nmax_reject_share = 0\n",
    )
    args = ["compute", "--period", "2026-03", "--config", str(config)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 0
    return config


def test_with_a_key_entries_and_head_are_signed(
    keyed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _output(keyed) / "audit.jsonl"
    entries = audit.read(log)
    assert len(entries) == 3 and all(len(e["hmac"]) == 64 for e in entries)
    assert json.loads(audit.head_path(log).read_text())["hmac"]
    code, said = _verify(keyed, capsys)
    assert code == 0 and "audit log intact (3 entries)" in said and "HMAC checked" in said


def test_with_a_key_a_rewritten_recomputed_chain_is_detected(
    keyed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _forge(_output(keyed) / "audit.jsonl", _output(keyed))
    code, said = _verify(keyed, capsys)
    assert code == 2
    assert "line 1: HMAC does not match: the entry was forged" in said


def test_with_a_key_a_forged_head_is_detected(
    keyed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _output(keyed) / "audit.jsonl"
    lines = log.read_bytes().splitlines()
    log.write_bytes(lines[0] + b"\n")
    # The forger rewrites the head to fit the cut log, without the key, and the manifest too.
    anchor = {"entries": 1, "last_hash": audit._sha(lines[0]), "hmac": "0" * 64}
    audit.head_path(log).write_text(json.dumps(anchor))
    manifest_file = _output(keyed) / "2026-03" / "manifest.json"
    recorded = json.loads(manifest_file.read_text())
    recorded["audit"] = anchor
    manifest_file.write_text(json.dumps(recorded))
    code, said = _verify(keyed, capsys)
    assert code == 2 and "the head's HMAC does not match: it was forged" in said
    # The wrong key is no key at all.
    monkeypatch.setenv("REPORTLIB_AUDIT_KEY", "guess")
    assert audit.verify(log, key=audit.secret()).problem == (
        "HMAC does not match: the entry was forged"
    )


def test_a_log_from_before_heads_is_reported_then_anchored_by_the_next_compute(
    computed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _output(computed) / "audit.jsonl"
    audit.head_path(log).unlink()
    manifest_file = _output(computed) / "2026-03" / "manifest.json"
    recorded = json.loads(manifest_file.read_text())
    recorded["audit"] = None
    manifest_file.write_text(json.dumps(recorded))
    code, said = _verify(computed, capsys)
    assert code == 2 and "no head file audit.head.json: its end is not anchored" in said
    args = ["compute", "--period", "2026-03", "--config", str(computed)]
    assert main([*args, "--accept-quality", "credit note is genuine"]) == 0
    code, said = _verify(computed, capsys)
    assert code == 0 and "audit log intact (3 entries)" in said
    assert json.loads(audit.head_path(log).read_text())["entries"] == 3
