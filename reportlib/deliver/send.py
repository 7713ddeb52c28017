"""`reportlib send`: email each recipient the packs of their nodes, or each KPI owner their escalations.

Both commands hold the period's lock for their whole duration (a second `send` at the
same moment stops at once), then run the same loop over recipients: decide what every
recipient gets (or why they get nothing: already delivered, changed since sent, outcome
unknown, no packs), which builds and so checks every email before the first one leaves,
check that the delivery log can be written, then deliver each email (write it to the
outbox in a dry run, else send it with retries, logging the intent before the body is
handed over and every attempt's outcome), then say what happened. Only the deciding
differs between packs and escalations (`_pack_delivery`, `_escalation_delivery`).

An email whose outcome is unknown (the server may have stored it) is never sent again
on its own: `--resend` sends it again with the same Message-ID.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import audit, fileio, lock, periods
from ..config import Project
from ..errors import ConfigError
from ..layout import OutputRoot, PeriodOutput
from .inventory import (
    MB,
    Pack,
    node_names,
    packs,
    period_nodes,
    require_current,
    require_reviewed,
    split_packs,
)
from .log import AttemptOutcome, DeliveryLog, LogEntry, SmtpReply, now
from .message import (
    Email,
    Escalation,
    build_email,
    check_owners,
    email_view,
    escalation_email,
    escalation_keys,
    escalation_lists,
    names,
    scorecard_image,
)
from .models import (
    DeliverySettings,
    Distribution,
    Recipient,
    distribution_path,
    load_distribution,
    select_nodes,
)
from .transport import Reply, Transport, redact, send_with_retries, smtp_transport

log = logging.getLogger(__name__)

Status = Literal["sent", "failed", "unknown", "skipped", "changed", "dry-run"]
"""What `send` did for a recipient (`unknown`: an email may or may not have arrived)."""


def unknown_hint(address: str) -> str:
    """What to tell the operator about an email whose outcome is unknown."""
    return (
        f"the server may have received it; check, then `reportlib send --resend --only {address}`"
    )


@dataclass(frozen=True)
class RecipientOutcome:
    """What `send` did for one recipient: sent, failed, skipped (current), changed, or dry-run."""

    email: str
    status: Status
    detail: str
    emails: int = 0


@dataclass(frozen=True)
class SendResult:
    """The outcome of every recipient, and where to look: the delivery log or the outbox."""

    period: str
    outcomes: tuple[RecipientOutcome, ...]
    log: Path
    dry_run: bool

    @property
    def failed(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def unknown(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "unknown")

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class SendContext:
    """What every delivery of one `send` shares."""

    project: Project
    output: PeriodOutput
    distribution: Distribution
    log: DeliveryLog
    transport: Transport | None
    """None in a dry run (and when there is nobody to send to)."""
    dry_run: bool
    resend: bool
    """Send again what was delivered (or changed since)."""
    sleep: Callable[[float], None]

    @property
    def period(self) -> str:
        return self.output.period

    @property
    def settings(self) -> DeliverySettings:
        return self.distribution.delivery


@dataclass(frozen=True)
class Refusal:
    """A pack not sent to a recipient, and why (on its own it is over the attachment limit)."""

    pack: Pack
    reason: str


@dataclass(frozen=True)
class Delivery:
    """One recipient's emails, and what to say when all of them went out."""

    address: str
    emails: tuple[Email, ...]
    sent: str
    """The outcome's detail when every email was sent."""
    written: str
    """The outcome's detail in a dry run."""
    refused: tuple[Refusal, ...] = ()
    held: str = ""
    """Why some of the recipient's emails are held back (their outcome is unknown)."""


# --------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Request:
    """What the operator asked of `send`: the options of the command line."""

    dry_run: bool = False
    only: Sequence[str] = ()
    resend: bool = False
    transport: Transport | None = None
    sleep: Callable[[float], None] = time.sleep
    allow_draft: bool = False
    """Send packs whose commentary is still a draft (`status: draft`)."""


def send(
    project: Project,
    period: str,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    resend: bool = False,
    transport: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    allow_draft: bool = False,
) -> SendResult:
    """`reportlib send`: email each recipient their packs, log every attempt, skip what was delivered.

    Packs with draft commentary are refused (DeliveryError naming nodes and files) unless
    `allow_draft`: a pack stamped "not yet reviewed" does not reach the board by accident.
    """
    request = Request(dry_run, only, resend, transport, sleep, allow_draft)
    return _under_lock(project, period, _send_packs, request)


def send_escalations(
    project: Project,
    period: str,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    resend: bool = False,
    transport: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """`reportlib send --escalations`: each KPI owner gets one short email listing their escalated KPIs."""
    request = Request(dry_run, only, resend, transport, sleep)
    return _under_lock(project, period, _send_escalations, request)


Body = Callable[[Project, PeriodOutput, Sequence[str], Request], SendResult]


def _under_lock(project: Project, period: str, body: Body, request: Request) -> SendResult:
    """Run `body` holding the period's lock: one `send` (or `run`) per output folder at a time."""
    periods.check(period)
    output = PeriodOutput(project.settings.output_path, period)
    nodes = period_nodes(output)
    with lock.hold(output.lock, output.lock_holder):
        return body(project, output, nodes, request)


def _send_packs(
    project: Project, output: PeriodOutput, nodes: Sequence[str], request: Request
) -> SendResult:
    """`send` under the period's lock."""
    dist = load_distribution(project, nodes)
    wanted = {e.lower() for e in request.only}
    unknown = sorted(wanted - {r.email.lower() for r in dist.recipients})
    if unknown:
        raise ConfigError(
            f"--only {', '.join(unknown)}: not a recipient in {distribution_path(project)}"
        )
    recipients = [r for r in dist.recipients if not wanted or r.email.lower() in wanted]
    selection = {r.email: select_nodes(r, nodes) for r in recipients}
    needed = list(dict.fromkeys(n for sel in selection.values() for n in sel))
    require_current(project, output, needed)
    if not request.allow_draft:
        require_reviewed(project, output, needed)
    titles = node_names(output)
    found = packs(output, needed, titles)
    ctx = _context(project, output, dist, request)
    done = ctx.log.delivered()
    plans = [
        _pack_delivery(ctx, r, [found[n] for n in selection[r.email]], titles, done)
        for r in recipients
    ]
    return _run(ctx, plans)


def _send_escalations(
    project: Project, output: PeriodOutput, nodes: Sequence[str], request: Request
) -> SendResult:
    """`send --escalations` under the period's lock."""
    period = output.period
    dist = load_distribution(project, nodes)
    check_owners(project, dist)
    require_current(project, output, ())
    owners, unknown = escalation_lists(project, period, nodes, dist)
    wanted = {e.lower() for e in request.only}
    ctx = _context(project, output, dist, request, connect=bool(owners))
    before = ctx.log.escalations_sent()
    no_address = "no email address (owner_email or owners: in distribution)"
    plans = list(
        itertools.chain(
            (RecipientOutcome(o, "skipped", no_address) for o in unknown),
            (
                _escalation_delivery(ctx, address, items, before)
                for address, items in owners.items()
                if not wanted or address.lower() in wanted
            ),
        )
    )
    return _run(ctx, plans)


def _context(
    project: Project,
    output: PeriodOutput,
    dist: Distribution,
    request: Request,
    *,
    connect: bool = True,
) -> SendContext:
    """The shared record; SMTP is set up (and the password checked) only when sending for real."""
    transport = request.transport
    if connect and not request.dry_run and transport is None:
        transport = smtp_transport(project.settings.smtp, dist.sender.email)
    return SendContext(
        project,
        output,
        dist,
        DeliveryLog(output.deliveries),
        transport,
        request.dry_run,
        request.resend,
        request.sleep,
    )


# --------------------------------------------------------------------------- deciding


def _pack_delivery(
    ctx: SendContext,
    r: Recipient,
    mine: Sequence[Pack],
    titles: Mapping[str, str],
    done: Mapping[str, Mapping[str, str]],
) -> RecipientOutcome | Delivery:
    """A recipient's pack emails (split by size), or why they get none.

    Without `resend`, packs delivered with the same sha256 are left out, and a pack that
    changed since it was delivered (a restatement?) stops the recipient's delivery.
    """
    if not mine:
        return RecipientOutcome(r.email, "skipped", "no packs for their nodes")
    pending = [
        e
        for e in ctx.log.pending()
        if str(e.get("recipient", "")).lower() == r.email.lower() and e.get("kind") is None
    ]
    unsure = {str(a.get("node")): str(a.get("sha256")) for e in pending for a in e["attachments"]}
    ids = {
        frozenset(str(a.get("node")) for a in e["attachments"]): e["message_id"] for e in pending
    }
    sent = {**done.get(r.email.lower(), {}), **unsure}
    held = ""
    if not ctx.resend:
        changed = [p.node for p in mine if p.node in sent and sent[p.node] != p.sha256]
        if changed:
            return RecipientOutcome(
                r.email,
                "changed",
                f"pack{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed since "
                "sent (restated figures?): use --resend to send again",
            )
        if any(p.node in unsure for p in mine):
            held = f"{', '.join(p.node for p in mine if p.node in unsure)}: {unknown_hint(r.email)}"
        mine = [p for p in mine if sent.get(p.node) != p.sha256]
        if not mine:
            if held:
                return RecipientOutcome(r.email, "unknown", held)
            return RecipientOutcome(r.email, "skipped", "already delivered")
    settings = ctx.settings
    parts, refused = split_packs(mine, int(settings.max_attachment_mb * MB))
    refusals = tuple(
        Refusal(
            p,
            f"{p.filename} is {p.encoded_size / MB:.2f} MB as sent ({p.size / MB:.2f} MB on disk), "
            f"over the limit of {settings.max_attachment_mb:g} MB: not sent",
        )
        for p in refused
    )
    view = email_view(ctx.project, ctx.period, [p.node for p in mine if p not in refused])
    view = dataclasses.replace(
        view, node_names=names([titles.get(n.node, n.node) for n in r.nodes])
    )
    emails = tuple(
        build_email(
            ctx.project,
            ctx.distribution,
            r,
            view,
            part,
            i,
            len(parts),
            message_id=ids.get(frozenset(p.node for p in part)),
            image=scorecard_image(part[0]),
        )
        for i, part in enumerate(parts, start=1)
    )
    n = f"{len(emails)} email{'s' if len(emails) != 1 else ''}"
    return Delivery(
        r.email,
        emails,
        sent=f"{n}: {', '.join(p.node for p in mine)}",
        written=f"{n} written to the outbox",
        refused=refusals,
        held=held,
    )


def _escalation_delivery(
    ctx: SendContext,
    address: str,
    items: Sequence[Escalation],
    before: Mapping[str, tuple[str, ...]],
) -> RecipientOutcome | Delivery:
    """An owner's escalation email, or "already delivered" when the same list was sent before,
    or "unknown" when an escalation email to them may or may not have arrived."""
    pending = [
        e
        for e in ctx.log.pending()
        if str(e.get("recipient", "")).lower() == address.lower() and e.get("kind") == "escalation"
    ]
    if not ctx.resend:
        if pending:
            return RecipientOutcome(address, "unknown", unknown_hint(address))
        if before.get(address.lower()) == escalation_keys(items):
            return RecipientOutcome(address, "skipped", "already delivered")
    same = [e for e in pending if tuple(e.get("escalations") or ()) == escalation_keys(items)]
    message_id = same[-1]["message_id"] if same else None
    email = escalation_email(ctx.project, ctx.distribution, address, ctx.period, items, message_id)
    detail = f"{len(items)} escalations"
    return Delivery(address, (email,), sent=detail, written=detail)


# --------------------------------------------------------------------------- delivering


def _run(ctx: SendContext, plans: Iterable[RecipientOutcome | Delivery]) -> SendResult:
    """Deliver each recipient's emails in turn, once the log is known to be writable."""
    if not ctx.dry_run:
        ctx.log.check_writable()
    outcomes = tuple(p if isinstance(p, RecipientOutcome) else _deliver(ctx, p) for p in plans)
    where = ctx.output.outbox if ctx.dry_run else ctx.log.path
    return SendResult(ctx.period, outcomes, where, ctx.dry_run)


def _deliver(ctx: SendContext, d: Delivery) -> RecipientOutcome:
    """Write or send one recipient's emails; failed if any pack was refused or any email failed."""
    problems = [_refuse(ctx, d.address, r) for r in d.refused]
    unsure = [d.held] if d.held else []
    done = 0
    for email in d.emails:
        if ctx.dry_run:
            fileio.write_bytes(ctx.output.outbox / outbox_name(email), email.data())
            done += 1
            continue
        reply = _send(ctx, email)
        if reply.ok:
            done += 1
        elif reply.unknown:
            unsure.append(f"{email.label}{redact(reply.text)}: {unknown_hint(d.address)}")
        else:
            problems.append(f"{email.label}{reply.code or ''} {redact(reply.text)}".strip())
    if ctx.dry_run:
        status: Status = "failed" if problems else "dry-run"
        return RecipientOutcome(d.address, status, "; ".join([d.written, *problems]), done)
    if unsure:
        return RecipientOutcome(d.address, "unknown", "; ".join([*unsure, *problems]), done)
    if problems:
        return RecipientOutcome(d.address, "failed", "; ".join(problems), done)
    return RecipientOutcome(d.address, "sent", d.sent, done)


def _refuse(ctx: SendContext, address: str, refusal: Refusal) -> str:
    """Log a refused pack (in the delivery log too, unless a dry run); returns the reason."""
    log.error("%s: %s", address, refusal.reason)
    if not ctx.dry_run:
        ctx.log.append(
            LogEntry(
                time=now(),
                period=ctx.period,
                recipient=address,
                outcome="failed",
                attachments=(refusal.pack.attachment(),),
                message_id=None,
                smtp_reply=None,
                reason=refusal.reason,
            )
        )
    return refusal.reason


def _send(ctx: SendContext, email: Email) -> Reply:
    """Send one email with retries, logging every attempt; a delivered pack email is audited."""
    transport = ctx.transport
    assert transport is not None, "a dry run sends nothing"

    def record(attempt: int, reply: Reply, outcome: AttemptOutcome) -> None:
        ctx.log.append(_attempt_entry(ctx, email, attempt, reply, outcome))

    reply = send_with_retries(email, transport, ctx.settings, record, ctx.sleep)
    if reply.ok and email.kind == "pack":
        log.info(
            "%s: part %d of %d sent (%s)",
            email.recipient.email,
            email.part,
            email.parts,
            email.message_id,
        )
        _audit_send(ctx, email)
    return reply


def _attempt_entry(
    ctx: SendContext, email: Email, attempt: int, reply: Reply, outcome: AttemptOutcome
) -> LogEntry:
    pack = email.kind == "pack"
    return LogEntry(
        time=now(),
        period=ctx.period,
        recipient=email.recipient.email,
        outcome=outcome,
        attachments=tuple(p.attachment() for p in email.packs),
        message_id=email.message_id,
        smtp_reply=None if outcome == "intent" else SmtpReply(reply.code, reply.text),
        attempt=attempt,
        part=email.part if pack else None,
        parts=email.parts if pack else None,
        kind=None if pack else "escalation",
        escalations=None if pack else email.escalations,
    )


def _audit_send(ctx: SendContext, email: Email) -> None:
    """Record a delivered email in the audit log (DOMAIN.md §8): who sent which packs to whom."""
    packs = ", ".join(f"{p.node} sha256 {p.sha256[:12]}" for p in email.packs)
    audit.append(
        OutputRoot(ctx.output.root).audit_log,
        [
            audit.Event(
                what="send",
                who=audit.current_user(),
                why=f"part {email.part} of {email.parts} to {email.recipient.email}: {packs}",
                period=ctx.period,
                node=",".join(p.node for p in email.packs),
                new=email.message_id,
            )
        ],
    )


def outbox_name(email: Email) -> str:
    """The email's file name in the outbox of a dry run: its recipient, part and kind."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", email.recipient.email)
    name = f"{safe}.eml" if email.parts == 1 else f"{safe}.part-{email.part}-of-{email.parts}.eml"
    return f"escalations-{name}" if email.kind == "escalation" else name
