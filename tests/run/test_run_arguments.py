"""`reportlib run` checks every argument before it touches the period: a typo after a
finished run leaves output/ as it was, and the period can still be sent.

One real run (a kernel, one PDF) of the tiny project's `all` node, then bad arguments,
then a real send to an SMTP server (aiosmtpd) on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from reportlib import cli, manifest
from reportlib.layout import PeriodOutput

from ..conftest import write_project

pytestmark = pytest.mark.slow

PERIOD = "2026-03"
DISTRIBUTION = """\
sender: {name: CX Reporting, email: cx@example.com}
delivery: {max_attachment_mb: 10, max_attempts: 1, backoff_seconds: 0.01}
recipients:
  - {name: Ann Board, email: board@example.com, nodes: [all]}
"""


class Inbox:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.recipients.extend(getattr(envelope, "rcpt_tos", []))
        return "250 2.0.0 OK queued"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file under `root` with its bytes and modification time; folders as None."""
    return {
        p.relative_to(root).as_posix(): (
            (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
        )
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.long
def test_a_typo_after_a_finished_run_leaves_it_sendable(
    tmp_path: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, port = inbox
    config = write_project(tmp_path)
    (tmp_path / "data" / "distribution.yaml").write_text(DISTRIBUTION, encoding="utf-8")
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 10\n')
    base = ["--period", PERIOD, "--config", str(config)]
    assert cli.main(["run", *base, "--node", "all", "--workers", "1"]) == 0
    out = PeriodOutput(tmp_path / "output", PERIOD)
    finished = manifest.load(out)
    assert finished is not None and finished.finished
    before = _snapshot(tmp_path / "output")
    capsys.readouterr()

    bad = [
        (
            ["--node", "alll"],
            "error: --node 'alll': no such node in the hierarchy; did you mean all",
        ),
        (["--node", "all", "--node", "ent/mars"], "error: --node 'ent/mars'"),
        (["--node", ""], "error: --node '': empty"),
        (["--workers", "0"], "error: Invalid value for '--workers'"),
    ]
    for extra, message in bad:
        assert cli.main(["run", *base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1, err
        assert _snapshot(tmp_path / "output") == before, extra
    for period in (" 2026-03", "2026-03 ", "2026-13", "26-03"):
        args = ["run", "--period", period, "--node", "all", "--config", str(config)]
        assert cli.main(args) == 2
        assert capsys.readouterr().err.startswith(f"error: --period {period!r}: ")
        assert _snapshot(tmp_path / "output") == before, period
    assert sorted(p.name for p in (tmp_path / "output").iterdir() if p.is_dir()) == [PERIOD]

    still = manifest.load(out)
    assert still is not None and still.finished
    assert cli.main(["send", *base]) == 0
    assert handler.recipients == ["board@example.com"]
    assert "did not finish" not in capsys.readouterr().err
