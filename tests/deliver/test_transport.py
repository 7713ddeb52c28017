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
        self.handed: list[int] = []
        """The calls that handed a message body over (an OutcomeUnknown, or a 250)."""

    def __call__(self, email: Email, handing_over) -> transport.Reply:
        self.calls += 1
        if self.errors:
            error = self.errors.pop(0)
            if isinstance(error, transport.OutcomeUnknown):
                handing_over()
                self.handed.append(self.calls)
            raise error
        handing_over()
        self.handed.append(self.calls)
        return transport.Reply(250, "2.0.0 queued")


def _send(server: Server) -> tuple[transport.Reply, list[tuple], list[float]]:
    attempts: list[tuple] = []
    slept: list[float] = []
    reply = transport.send_with_retries(
        EMAIL, server, SETTINGS, lambda *a: attempts.append(a), slept.append
    )
    intents = [a[0] for a in attempts if a[2] == "intent"]
    attempts = [a for a in attempts if a[2] != "intent"]
    # An intent is recorded just before each body handed over, by that attempt's number.
    assert intents == server.handed
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


def test_no_reply_after_the_body_is_unknown_and_not_retried() -> None:
    server = Server(transport.OutcomeUnknown(smtplib.SMTPServerDisconnected("closed")))
    reply, attempts, slept = _send(server)
    assert server.calls == 1 and slept == []
    assert reply.unknown and not reply.ok and reply.code is None
    assert [(n, outcome) for n, _, outcome in attempts] == [(1, "unknown")]
    assert "SMTPServerDisconnected: closed" in reply.text


def test_a_password_over_plain_smtp_needs_allow_insecure_auth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(transport.PASSWORD_ENV, "pw")
    plain = SmtpSettings(username="u", security="none")
    with pytest.raises(ConfigError, match="allow_insecure_auth"):
        transport.smtp_transport(plain, "cx@example.com")
    transport.smtp_transport(
        plain.model_copy(update={"allow_insecure_auth": True}), "cx@example.com"
    )
    transport.smtp_transport(SmtpSettings(username="u", security="starttls"), "cx@example.com")
