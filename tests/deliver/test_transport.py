"""Retries with backoff, what counts as transient, and the password kept out of every reply."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import pytest

from reportlib.config import SmtpSettings
from reportlib.deliver import transport
from reportlib.deliver.message import Email
from reportlib.deliver.models import DeliverySettings, Person
from reportlib.errors import ConfigError

EMAIL = Email(Person(name="Ann", email="ann@example.com"), EmailMessage(), "<1@example.com>")
SETTINGS = DeliverySettings(max_attachment_mb=10, max_attempts=3, backoff_seconds=0.5)


class Server:
    """A transport that raises the queued errors in turn, then answers 250."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, email: Email) -> transport.Reply:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return transport.Reply(250, "2.0.0 queued")


def _send(server: Server) -> tuple[transport.Reply, list[tuple], list[float]]:
    attempts: list[tuple] = []
    slept: list[float] = []
    reply = transport.send_with_retries(
        EMAIL, server, SETTINGS, lambda *a: attempts.append(a), slept.append
    )
    return reply, attempts, slept


def test_transient_replies_are_retried_with_doubling_delays() -> None:
    server = Server(smtplib.SMTPDataError(451, b"try later"), ConnectionResetError("reset"))
    reply, attempts, slept = _send(server)
    assert reply == transport.Reply(250, "2.0.0 queued") and reply.ok
    assert [(n, outcome) for n, _, outcome in attempts] == [
        (1, "retry"),
        (2, "retry"),
        (3, "sent"),
    ]
    assert attempts[0][1] == transport.Reply(451, "try later")
    assert attempts[1][1] == transport.Reply(None, "ConnectionResetError: reset")
    assert slept == [0.5, 1.0]


def test_a_permanent_reply_fails_at_once_and_the_last_attempt_fails() -> None:
    refused = smtplib.SMTPRecipientsRefused({"ann@example.com": (550, b"5.1.1 no such user")})
    reply, attempts, slept = _send(Server(refused))
    assert reply == transport.Reply(550, "5.1.1 no such user") and not reply.transient
    assert [a[2] for a in attempts] == ["failed"] and slept == []
    server = Server(*[smtplib.SMTPDataError(421, b"busy")] * 3)
    reply, attempts, slept = _send(server)
    assert server.calls == 3 and [a[2] for a in attempts] == ["retry", "retry", "failed"]
    assert reply.code == 421 and slept == [0.5, 1.0]


def test_tls_and_unsupported_command_errors_are_final() -> None:
    assert transport.reply_of(ssl.SSLError("bad handshake")).code == 554
    assert transport.reply_of(smtplib.SMTPNotSupportedError("no STARTTLS")).code == 554
    assert transport.reply_of(OSError("unreachable")).transient


def test_the_password_is_redacted_from_recorded_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(transport.PASSWORD_ENV, "hunter2")
    reply, attempts, _ = _send(Server(smtplib.SMTPAuthenticationError(535, b"bad hunter2")))
    assert reply == transport.Reply(535, "bad hunter2")  # redacted where shown, not here
    assert attempts[0][1].text == "bad ***"
    assert transport.redact("x hunter2 y") == "x *** y"


def test_a_username_without_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(transport.PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match="REPORTLIB_SMTP_PASSWORD is not"):
        transport.smtp_transport(SmtpSettings(username="reporter"), "cx@example.com")
    assert callable(transport.smtp_transport(SmtpSettings(), "cx@example.com"))
