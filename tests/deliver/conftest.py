"""A real run of the tiny project (one pack, `all`) shared by the delivery tests, and a
misbehaving SMTP server (aiosmtpd on 127.0.0.1) to send it to.

Each test gets its own copy of the run (file times kept, so the pack stays current) and
points it at its own server, so the delivery log starts empty and tests run in any order.
"""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import threading
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from reportlib import cli

from ..conftest import write_project

PERIOD = "2026-03"
DISTRIBUTION = """\
sender: {name: CX Reporting, email: cx@example.com}
delivery: {max_attachment_mb: 10, max_attempts: 4, backoff_seconds: 0.01}
recipients:
  - {name: Ann Board, email: board@example.com, nodes: [all]}
  - {name: Bob Board, email: bob@example.com, nodes: [all]}
"""


class Misbehaving:
    """An SMTP handler that stores each message, then misbehaves as told.

    `drop`: drop the connection instead of replying to DATA; `late`: reply to DATA after
    `late_seconds`; `quit421`: answer 421 to QUIT; `transient`: answer 451 to DATA that
    many times (storing nothing) before accepting; `hold`: once the message is stored, wait
    for `release` before replying (`holding` is set meanwhile).
    """

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.drop = False
        self.late_seconds = 0.0
        self.quit421 = False
        self.transient = 0
        self.hold = False
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.transient > 0:
            self.transient -= 1
            return "451 4.3.0 try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        if self.drop:
            server.transport.abort()
            return "250 2.0.0 never heard"
        if self.late_seconds:
            await asyncio.sleep(self.late_seconds)
        if self.hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 2.0.0 OK queued"

    async def handle_QUIT(self, server, session, envelope) -> str:
        return "421 4.3.2 shutting down" if self.quit421 else "221 Bye"

    def copies(self, address: str) -> int:
        """How many messages the server stored for `address`."""
        return sum(1 for rcpts, _ in self.messages if address in rcpts)

    def message_ids(self, address: str) -> list[str]:
        """The Message-IDs of the messages stored for `address`, in arrival order."""
        return [
            str(email.message_from_bytes(data, policy=policy.default)["Message-ID"])
            for rcpts, data in self.messages
            if address in rcpts
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Misbehaving, int]]:
    """A fresh misbehaving server (well-behaved until told otherwise) and its port."""
    handler = Misbehaving()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


@pytest.fixture(scope="package")
def delivery_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project run for the `all` node, with a distribution of two recipients."""
    root = tmp_path_factory.mktemp("delivery")
    write_project(root)
    (root / "data" / "distribution.yaml").write_text(DISTRIBUTION, encoding="utf-8")
    args = ["run", "--config", str(root / "reportlib.toml"), "--period", PERIOD, "--node", "all"]
    assert cli.main(args) == 0
    return root


def use_server(run: Path, copy: Path, port: int, *, timeout: float = 10, extra: str = "") -> Path:
    """A copy of `run` at `copy` whose [smtp] settings point at 127.0.0.1:`port`."""
    shutil.copytree(run, copy)
    config = copy / "reportlib.toml"
    with config.open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = {timeout}\n{extra}'
        )
    return copy
