"""Handing emails to the SMTP server, and retrying what the server refused for now.

One connection per email (STARTTLS or SSL as configured). Each attempt ends in one of
three ways. The server answered 250 to the message: `sent`, whatever QUIT says after.
The server refused (a 4xx or 5xx reply up to and including DATA) or the connection
failed before the message body was handed over: `failed`, and a 4xx or a lost connection
is retried with exponential backoff. The body was handed over but no reply came
(disconnect, timeout): `unknown`, since the server may have stored it, so it is never
retried here. Just before the body is handed over the caller is told (`intent`), so
that a process killed mid-DATA leaves an intent without an outcome in the delivery log.
The password comes only from REPORTLIB_SMTP_PASSWORD and is redacted from every reply
text that is logged or shown; it is refused over an unencrypted connection unless the
settings allow it.
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
from ..errors import ConfigError, DeliveryError
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
    unknown: bool = False
    """True when the body was handed over and no reply came: the server may have it."""

    @property
    def transient(self) -> bool:
        return self.code is None or 400 <= self.code < 500

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


class OutcomeUnknown(DeliveryError):
    """The message body was handed over but no reply came: the server may have stored it."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"no reply after the message was handed over: {reply_of(cause).text}")
        self.cause = cause


Transport = Callable[[Email, Callable[[], None]], Reply]
"""Sends one email and returns the server's reply; calls its second argument just before
the message body is handed over; raises smtplib errors or OSError before that, and
OutcomeUnknown after it when no reply came."""

Record = Callable[[int, Reply, AttemptOutcome], None]
"""Called before the body is handed over (`intent`) and after every attempt with its
number, the reply and its outcome."""


def smtp_transport(settings: SmtpSettings, sender: str) -> Transport:
    """Send one email per connection over smtplib (STARTTLS or SSL as configured).

    The session is driven command by command (not `sendmail`, not a `with` block, whose
    exit raises on a non-221 QUIT) so that what happened to the body is known: any error
    once `data()` was called, other than a reply code, leaves the outcome unknown.
    """
    password = os.environ.get(PASSWORD_ENV)
    if settings.username and not password:
        raise ConfigError(f"smtp.username is set but {PASSWORD_ENV} is not: no password to log in")
    if settings.username and settings.security == "none" and not settings.allow_insecure_auth:
        raise ConfigError(
            'smtp: a username with security = "none" would send the password unencrypted: '
            'use security = "starttls" or "ssl" (or set allow_insecure_auth = true)'
        )

    def send(email: Email, handing_over: Callable[[], None]) -> Reply:
        cls = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        kwargs: dict[str, Any] = {"timeout": settings.timeout_seconds}
        if settings.security == "ssl":
            kwargs["context"] = ssl.create_default_context()
        s = cls(settings.host, settings.port, **kwargs)
        try:
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
            body = email.data()
            handing_over()
            try:
                code, resp = s.data(body)
            except smtplib.SMTPResponseException:
                raise  # the server answered: refused, not unknown
            except (smtplib.SMTPException, OSError) as e:
                raise OutcomeUnknown(e) from e
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
            _quit(s, email)
            return Reply(code, resp.decode("utf-8", "replace"))
        finally:
            s.close()

    return send


def _quit(s: smtplib.SMTP, email: Email) -> None:
    """Say QUIT; the message is already accepted, so an odd reply or a lost line is only logged."""
    try:
        code, resp = s.docmd("QUIT")
    except (smtplib.SMTPException, OSError) as e:
        log.info("%s: QUIT after the message was accepted: %s", email.recipient.email, e)
        return
    if code != 221:
        log.info(
            "%s: QUIT answered %s %s (the message was accepted)",
            email.recipient.email,
            code,
            _text(resp),
        )


def send_with_retries(
    email: Email,
    transport: Transport,
    settings: DeliverySettings,
    record: Record,
    sleep: Callable[[float], None],
) -> Reply:
    """Send with retries on transient replies; every attempt is recorded. Returns the last reply.

    The n-th retry waits `backoff_seconds * 2**(n-1)`, up to `max_attempts` attempts in all.
    An attempt whose outcome is unknown ends the retries: sending again could make a copy.
    """
    reply = Reply(None, "not attempted")
    for attempt in range(1, settings.max_attempts + 1):
        outcome: AttemptOutcome

        def handing_over(n: int = attempt) -> None:
            record(n, Reply(None, "handing the message over"), "intent")

        try:
            reply = transport(email, handing_over)
            outcome = "sent"
        except OutcomeUnknown as e:
            reply = reply_of(e.cause)
            outcome = "unknown"
        except (smtplib.SMTPException, OSError) as e:
            reply = reply_of(e)
            last = attempt == settings.max_attempts or not reply.transient
            outcome = "failed" if last else "retry"
        record(attempt, Reply(reply.code, redact(reply.text)), outcome)
        if outcome != "retry":
            return Reply(None, reply.text, unknown=True) if outcome == "unknown" else reply
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
