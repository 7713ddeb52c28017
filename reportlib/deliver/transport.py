"""Handing emails to the SMTP server, and retrying what the server refused for now.

One connection per email (STARTTLS or SSL as configured). A 4xx reply or a lost
connection is transient and retried with exponential backoff; a 5xx fails the email at
once. The password comes only from REPORTLIB_SMTP_PASSWORD and is redacted from every
reply text that is logged or shown.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import SmtpSettings
from ..errors import ConfigError
from .log import AttemptOutcome
from .message import Email
from .models import DeliverySettings

log = logging.getLogger(__name__)

PASSWORD_ENV = "REPORTLIB_SMTP_PASSWORD"


@dataclass(frozen=True)
class Reply:
    """An SMTP reply (code None when there was none: a connection error)."""

    code: int | None
    text: str

    @property
    def transient(self) -> bool:
        return self.code is None or 400 <= self.code < 500

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


Transport = Callable[[Email], Reply]
"""Sends one email and returns the server's reply; raises smtplib errors or OSError."""

Record = Callable[[int, Reply, AttemptOutcome], None]
"""Called after every attempt with its number, the reply and its outcome."""


def smtp_transport(settings: SmtpSettings, sender: str) -> Transport:
    """Send one email per connection over smtplib (STARTTLS or SSL as configured)."""
    password = os.environ.get(PASSWORD_ENV)
    if settings.username and not password:
        raise ConfigError(f"smtp.username is set but {PASSWORD_ENV} is not: no password to log in")

    def send(email: Email) -> Reply:
        cls = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        kwargs: dict[str, Any] = {"timeout": settings.timeout_seconds}
        if settings.security == "ssl":
            kwargs["context"] = ssl.create_default_context()
        with cls(settings.host, settings.port, **kwargs) as s:
            s.ehlo()
            if settings.security == "starttls":
                s.starttls(context=ssl.create_default_context())
                s.ehlo()
            if settings.username:
                s.login(settings.username, password or "")
            code, resp = s.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            code, resp = s.rcpt(email.recipient.email)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({email.recipient.email: (code, resp)})
            code, resp = s.data(email.data())
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
            return Reply(code, resp.decode("utf-8", "replace"))

    return send


def send_with_retries(
    email: Email,
    transport: Transport,
    settings: DeliverySettings,
    record: Record,
    sleep: Callable[[float], None],
) -> Reply:
    """Send with retries on transient replies; every attempt is recorded. Returns the last reply.

    The n-th retry waits `backoff_seconds * 2**(n-1)`, up to `max_attempts` attempts in all.
    """
    reply = Reply(None, "not attempted")
    for attempt in range(1, settings.max_attempts + 1):
        outcome: AttemptOutcome
        try:
            reply = transport(email)
            outcome = "sent"
        except (smtplib.SMTPException, OSError) as e:
            reply = reply_of(e)
            last = attempt == settings.max_attempts or not reply.transient
            outcome = "failed" if last else "retry"
        record(attempt, Reply(reply.code, redact(reply.text)), outcome)
        if outcome != "retry":
            return reply
        delay = settings.backoff_seconds * 2 ** (attempt - 1)
        log.info("%s: %s, retrying in %.2fs", email.recipient.email, reply.text, delay)
        sleep(delay)
    return reply


def reply_of(e: Exception) -> Reply:
    """The reply an smtplib error carries (a TLS or unsupported-command error is final)."""
    if isinstance(e, smtplib.SMTPRecipientsRefused) and e.recipients:
        code, resp = next(iter(e.recipients.values()))
        return Reply(int(code), _text(resp))
    if isinstance(e, smtplib.SMTPResponseException):
        return Reply(int(e.smtp_code), _text(e.smtp_error))
    if isinstance(e, smtplib.SMTPNotSupportedError | ssl.SSLError):
        return Reply(554, f"{type(e).__name__}: {e}")
    return Reply(None, f"{type(e).__name__}: {e}")


def _text(resp: object) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)


def redact(text: str) -> str:
    """`text` with the SMTP password (if set) replaced by `***`."""
    password = os.environ.get(PASSWORD_ENV)
    return text.replace(password, "***") if password else text
