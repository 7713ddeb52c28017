"""`send` refuses packs with draft commentary unless `--allow-draft` (a real run and SMTP server).

The tiny project is run once with a draft commentary for `all` (`status: draft`, as
`commentary draft` writes it); each test works on its own copy.
"""

from __future__ import annotations

import email
import shutil
from email import policy
from pathlib import Path

import pytest

from reportlib import cli, deliver
from reportlib.config import load_project
from reportlib.layout import PeriodOutput

from .conftest import PERIOD, Misbehaving, use_server

pytestmark = pytest.mark.slow

DRAFT = """\
---
status: draft  # remove this line once the commentary is reviewed
---
## Summary

Reopen rate is the one to watch this month.
"""


@pytest.fixture(scope="module")
def draft_run(delivery_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The delivery run with a draft commentary for `all`, the pack rendered again with it."""
    root = tmp_path_factory.mktemp("draft") / "project"
    shutil.copytree(delivery_run, root)
    note = root / "data" / "commentary" / PERIOD / "all.md"
    note.parent.mkdir(parents=True)
    note.write_text(DRAFT, encoding="utf-8")
    args = ["run", "--config", str(root / "reportlib.toml"), "--period", PERIOD, "--node", "all"]
    assert cli.main(args) == 0
    return root


def _send(root: Path, *extra: str) -> dict[str, object]:
    """`reportlib send` on the project at `root`: its exit code and its one error line."""
    state: dict[str, object] = {}
    config = str(root / "reportlib.toml")
    code = cli.run(["send", "--config", config, "--period", PERIOD, *extra], state)
    return {"exit_code": code, "error": state.get(cli.ERROR_KEY)}


def test_a_draft_pack_is_refused_naming_node_and_file(draft_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(draft_run, root)
    project = load_project(root / "reportlib.toml")
    out = PeriodOutput(project.settings.output_path, PERIOD)
    assert deliver.draft_packs(project, out, ["all"]) == {
        "all": root / "data" / "commentary" / PERIOD / "all.md"
    }
    with pytest.raises(deliver.DraftCommentaryError) as e:
        deliver.send(project, PERIOD, dry_run=True)
    assert str(e.value) == (
        "draft commentary, not yet reviewed, in the pack of all "
        f"(data/commentary/{PERIOD}/all.md): review it, remove the `status: draft` line "
        "and re-run, or send with --allow-draft"
    )
    assert not out.outbox.exists(), "nothing is written when the pack is refused"


def test_allow_draft_sends_the_pack(
    draft_run: Path, tmp_path: Path, server: tuple[Misbehaving, int]
) -> None:
    handler, port = server
    root = use_server(draft_run, tmp_path / "p", port)
    refused = _send(root)
    assert refused["exit_code"] == 2 and "--allow-draft" in str(refused["error"])
    assert handler.messages == []
    sent = _send(root, "--allow-draft")
    assert sent["exit_code"] == 0, sent
    assert handler.copies("board@example.com") == 1 and handler.copies("bob@example.com") == 1
    msg = email.message_from_bytes(handler.messages[0][1], policy=policy.default)
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert "board-pack-all.pdf" in names


@pytest.mark.long
def test_a_reviewed_file_not_yet_rendered_is_refused(draft_run: Path, tmp_path: Path) -> None:
    """Removing the draft line without re-running leaves the pack stamped: still refused."""
    root = tmp_path / "p"
    shutil.copytree(draft_run, root)
    note = root / "data" / "commentary" / PERIOD / "all.md"
    note.write_text(DRAFT.replace("status: draft", "status: reviewed"), encoding="utf-8")
    result = _send(root, "--dry-run")
    assert result["exit_code"] == 1  # a stale pack, as one older than its scorecard
    assert str(result["error"]) == (
        f"{note} changed since the pack of all was rendered: "
        f"re-run `reportlib run --period {PERIOD}` before sending"
    )
    # Re-rendered, the reviewed pack goes out without --allow-draft.
    args = ["run", "--config", str(root / "reportlib.toml"), "--period", PERIOD, "--node", "all"]
    assert cli.main(args) == 0
    assert _send(root, "--dry-run")["exit_code"] == 0
    assert (root / "output" / PERIOD / "outbox" / "board_example.com.eml").is_file()


def test_escalation_emails_are_not_held_by_a_draft(draft_run: Path, tmp_path: Path) -> None:
    """The escalation emails carry no commentary, so a draft does not stop them."""
    root = tmp_path / "p"
    shutil.copytree(draft_run, root)
    result = _send(root, "--dry-run", "--escalations")
    assert result["exit_code"] == 0, result
