"""`reportlib send`: email each recipient the board packs of their nodes (DESIGN.md "Outputs").

`data/distribution.yaml` names the sender, the subject template, delivery limits and the
recipients with their nodes. Every SMTP attempt is appended to
`output/<period>/deliveries.jsonl`; a re-run sends only packs not yet delivered with the
same sha256. The SMTP password comes only from REPORTLIB_SMTP_PASSWORD and is never
logged or written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import audit, fileio, manifest, packdata, periods, quality
from .config import Project, SmtpSettings
from .errors import ConfigError, DeliveryError
from .formatting import format_delta, format_score, format_value, status_text

log = logging.getLogger(__name__)

PASSWORD_ENV = "REPORTLIB_SMTP_PASSWORD"
LOG_NAME = "deliveries.jsonl"
OUTBOX = "outbox"
HTML_TEMPLATE = "email.html.j2"
TEXT_TEMPLATE = "email.txt.j2"
PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MB = 1024 * 1024
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


# --------------------------------------------------------------------------- distribution.yaml


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _checked_address(v: str) -> str:
    v = v.strip()
    if not _ADDRESS.match(v):
        raise ValueError(f"malformed email address {v!r}")
    return v


class Person(_Frozen):
    """A name and an email address."""

    name: str
    email: str

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return _checked_address(v)


class NodeRef(_Frozen):
    """A node whose pack a recipient receives, optionally with every node below it."""

    node: str = Field(min_length=1)
    include_children: bool = False


class Recipient(Person):
    """A recipient and the nodes they receive; `include_children` is the default for bare node ids."""

    nodes: tuple[NodeRef, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_nodes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        default = bool(data.pop("include_children", False))
        raw = data.get("nodes")
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list):
            data["nodes"] = [
                {"node": n, "include_children": default} if isinstance(n, str) else n for n in raw
            ]
        return data


class DeliverySettings(_Frozen):
    """Attachment limit per email, attempts per email and the first retry's delay."""

    max_attachment_mb: float = Field(10, gt=0)
    max_attempts: int = Field(4, ge=1, le=20)
    backoff_seconds: float = Field(1, ge=0)


class Distribution(_Frozen):
    """`data/distribution.yaml`."""

    sender: Person
    subject: str = "CX scorecard, {{ period_name }}: {{ node_names }}"
    html_template: str = HTML_TEMPLATE
    text_template: str = TEXT_TEMPLATE
    delivery: DeliverySettings = DeliverySettings()
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    owners: dict[str, str] = {}
    """KPI owner (as named in kpis.yaml) to email address, for owners without owner_email."""

    @field_validator("owners")
    @classmethod
    def _owner_emails(cls, v: dict[str, str]) -> dict[str, str]:
        return {k: _checked_address(a) for k, a in v.items()}


def distribution_path(project: Project) -> Path:
    return project.settings.data_path / "distribution.yaml"


def load_distribution(project: Project, nodes: Sequence[str] | None = None) -> Distribution:
    """Read and check distribution.yaml; with `nodes`, every listed node must be one of them."""
    path = distribution_path(project)
    if not path.is_file():
        raise ConfigError(f"{path} is missing: it lists who receives which packs", file=str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: YAML syntax error: {e}".splitlines()[0], file=str(path)) from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with sender and recipients", file=str(path))
    for i, r in enumerate(raw.get("recipients") or []):
        who = r.get("email", f"#{i + 1}") if isinstance(r, dict) else f"#{i + 1}"
        if isinstance(r, dict) and not r.get("nodes"):
            raise ConfigError(f"{path}: recipient {who} has no nodes", file=str(path))
    try:
        dist = Distribution(**raw)
    except (ValidationError, TypeError) as e:
        raise ConfigError(f"{path}: {_pydantic_message(e, raw)}", file=str(path)) from e
    seen: set[str] = set()
    for r in dist.recipients:
        key = r.email.lower()
        if key in seen:
            raise ConfigError(f"{path}: recipient {r.email} is listed twice", file=str(path))
        seen.add(key)
        if nodes is not None:
            unknown = [ref.node for ref in r.nodes if ref.node not in nodes]
            if unknown:
                raise ConfigError(
                    f"{path}: recipient {r.email}: unknown node {', '.join(map(repr, unknown))} "
                    f"(nodes: {', '.join(nodes)})",
                    file=str(path),
                )
    try:
        _text_env().from_string(dist.subject)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{path}: subject: template error: {e.message}", file=str(path)) from e
    return dist


def _pydantic_message(err: Exception, raw: Mapping[str, Any]) -> str:
    if not isinstance(err, ValidationError):
        return str(err)
    first = err.errors()[0]
    loc = list(first["loc"])
    where = ".".join(str(x) for x in loc)
    if len(loc) >= 2 and loc[0] == "recipients" and isinstance(loc[1], int):
        r = (raw.get("recipients") or [])[loc[1]]
        if isinstance(r, dict) and r.get("email"):
            where = f"recipient {r['email']}: " + ".".join(str(x) for x in loc[2:])
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


# --------------------------------------------------------------------------- selection


def is_below(node: str, ancestor: str) -> bool:
    """True when `node` is a descendant of `ancestor` (every node but `all` is below `all`)."""
    if ancestor == "all":
        return node != "all"
    return node.startswith(ancestor + "/")


def select_nodes(recipient: Recipient, nodes: Sequence[str]) -> tuple[str, ...]:
    """The nodes whose packs `recipient` receives, in `nodes`' order: only those listed for them."""
    wanted = {
        n
        for ref in recipient.nodes
        for n in nodes
        if n == ref.node or (ref.include_children and is_below(n, ref.node))
    }
    return tuple(n for n in nodes if n in wanted)


# --------------------------------------------------------------------------- the period's packs


@dataclass(frozen=True)
class Pack:
    """One node's board pack as it is on disk now."""

    node: str
    name: str
    path: Path
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return f"board-pack-{self.node.replace('/', '-')}.pdf"

    @property
    def encoded_size(self) -> int:
        return encoded_size(self.size)

    def entry(self) -> dict[str, Any]:
        return {"node": self.node, "file": self.filename, "sha256": self.sha256, "size": self.size}


def encoded_size(size: int) -> int:
    """Bytes an attachment of `size` bytes takes in the email: base64 in 76-character lines + CRLF."""
    chars = 4 * math.ceil(size / 3)
    return chars + 2 * math.ceil(chars / 76)


def period_nodes(project: Project, period: str) -> tuple[str, ...]:
    """Node ids of the period's scorecard, in scorecard order."""
    card = project.settings.period_dir(period) / "scorecard.parquet"
    if not card.is_file():
        raise DeliveryError(f"{card} not found: run `reportlib run --period {period}` first")
    return tuple(dict.fromkeys(pd.read_parquet(card, columns=["node"])["node"].astype(str)))


def require_current(project: Project, period: str, nodes: Iterable[str]) -> None:
    """Refuse a period whose run failed or did not finish, whose gate failed, or whose packs are stale."""
    out = project.settings.period_dir(period)
    m = manifest.read(project, period)
    if m is None:
        raise DeliveryError(
            f"{out}: no manifest.json, so nothing can be sent: run the period first"
        )
    if not m.finished:
        raise DeliveryError(f"{manifest.path(project, period)}: the run of {period} did not finish")
    if manifest.stamp(m).get("status") == "failed":
        raise DeliveryError(f"{manifest.path(project, period)}: the scorecard of {period} failed")
    failed = m.failed_nodes()
    if failed:
        raise DeliveryError(
            f"the run of {period} failed for {', '.join(failed)}: fix and re-run before sending"
        )
    quality.require_sendable(out / "quality")
    card = out / "scorecard.parquet"
    built = card.stat().st_mtime
    for node in nodes:
        pdf = _pdf(project, period, node)
        if not pdf.is_file():
            raise DeliveryError(f"{pdf} is missing: run `reportlib run --period {period}` first")
        if pdf.stat().st_mtime < built:
            raise DeliveryError(f"{pdf} is older than {card}: re-run the period before sending")


def _pdf(project: Project, period: str, node: str) -> Path:
    return project.settings.period_dir(period).joinpath(*node.split("/"), "board-pack.pdf")


def split_packs(packs: Sequence[Pack], limit: int) -> tuple[list[list[Pack]], list[Pack]]:
    """Group packs into emails of at most `limit` attachment bytes as sent (base64-encoded).

    Mail servers limit the message as sent, about 4/3 of the PDFs' size; a pack over the
    limit on its own is refused.
    """
    parts: list[list[Pack]] = []
    refused = [p for p in packs if p.encoded_size > limit]
    size = 0
    for p in packs:
        if p.encoded_size > limit:
            continue
        if parts and size + p.encoded_size <= limit:
            parts[-1].append(p)
            size += p.encoded_size
        else:
            parts.append([p])
            size = p.encoded_size
    return parts, refused


# --------------------------------------------------------------------------- the delivery log


def log_path(project: Project, period: str) -> Path:
    return project.settings.period_dir(period) / LOG_NAME


def append_log(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one JSON line durably (flush and fsync)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of a delivery log; an unreadable line is skipped with a warning."""
    if not path.is_file():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning("%s line %d is not JSON: ignored", path, i)
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def delivered(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """`{recipient (lower case): {node: sha256}}` of successful deliveries, latest wins."""
    out: dict[str, dict[str, str]] = {}
    for e in entries:
        if e.get("outcome") != "sent" or e.get("kind") == "escalation":
            continue
        mine = out.setdefault(str(e.get("recipient", "")).lower(), {})
        for a in e.get("attachments") or ():
            mine[str(a.get("node"))] = str(a.get("sha256"))
    return out


# --------------------------------------------------------------------------- email content


def _text_env() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def templates_dir(project: Project, name: str = HTML_TEMPLATE) -> Path:
    """The project's own `templates/` when it has the email template `name`, else reportlib's."""
    own = project.settings.root / "templates"
    return own if (own / name).is_file() else PACKAGE_TEMPLATES


def _file_env(folder: Path, html: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _names(names: Sequence[str]) -> str:
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} more"


def email_view(project: Project, period: str, nodes: Sequence[str]) -> dict[str, Any]:
    """What the email body shows: each node's overall score and status, top 3 movers, escalations."""
    cur = project.settings.currency
    rows: list[dict[str, Any]] = []
    moves: list[tuple[float, dict[str, str]]] = []
    escalations: list[dict[str, Any]] = []
    for node in nodes:
        ctx = packdata.load_context(project, period, node)
        overall = packdata.row(ctx, "score:overall")
        counts = packdata.status_counts(ctx)
        rows.append(
            {
                "node": node,
                "name": ctx.node.name,
                "score": format_score(None if overall is None else overall["score"]),
                "status": status_text(None if overall is None else overall["status"]),
                "red": counts.get("red", 0),
                "amber": counts.get("amber", 0),
                "green": counts.get("green", 0),
            }
        )
        for m in packdata.movers(ctx, limit=3):
            moves.append(
                (
                    m.size,
                    {
                        "node": ctx.node.name,
                        "kpi": m.kpi.name,
                        "prev": format_value(m.prev, m.kpi.unit, cur),
                        "value": format_value(m.value, m.kpi.unit, cur),
                        "delta": format_delta(m.delta, m.kpi.unit, cur),
                        "tone": "flat" if m.good is None else ("better" if m.good else "worse"),
                    },
                )
            )
        for _, e in ctx.escalations.iterrows():
            k = project.kpi(str(e["kpi"]))
            escalations.append(
                {
                    "node": ctx.node.name,
                    "kpi": k.name,
                    "owner": k.owner,
                    "since": periods.long_name(str(e["since"])),
                    "streak": int(e["streak"]),
                }
            )
    moves.sort(key=lambda x: -x[0])
    return {
        "company": project.hierarchy.company,
        "period": period,
        "period_name": periods.long_name(period),
        "nodes": rows,
        "node_names": _names([r["name"] for r in rows]),
        "movers": [m for _, m in moves[:3]],
        "escalations": escalations,
    }


@dataclass(frozen=True)
class Email:
    """One email ready to send: its bytes, Message-ID and attachments."""

    recipient: Recipient
    message: EmailMessage
    message_id: str
    packs: tuple[Pack, ...]
    part: int
    parts: int

    def data(self) -> bytes:
        return self.message.as_bytes(policy=SMTP_POLICY)


def build_email(
    project: Project,
    dist: Distribution,
    recipient: Recipient,
    view: Mapping[str, Any],
    packs: Sequence[Pack],
    part: int = 1,
    parts: int = 1,
) -> Email:
    """The email for one recipient (one part of it): subject, HTML and text bodies, the PDFs."""
    variables = {
        **view,
        "recipient": {"name": recipient.name, "email": recipient.email},
        "part": part,
        "parts": parts,
        "attachments": [p.filename for p in packs],
    }
    subject = " ".join(_text_env().from_string(dist.subject).render(variables).split())
    if parts > 1:
        subject += f" (part {part} of {parts})"
    folder = templates_dir(project, dist.html_template)
    try:
        html = _file_env(folder, True).get_template(dist.html_template).render(variables)
        text = _file_env(folder, False).get_template(dist.text_template).render(variables)
    except jinja2.TemplateError as e:
        raise ConfigError(f"email template in {folder}: {e}") from e
    domain = dist.sender.email.rsplit("@", 1)[1]
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = _address(dist.sender)
    msg["To"] = _address(recipient)
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(domain=domain)
    msg["Message-ID"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for p in packs:
        msg.add_attachment(
            p.path.read_bytes(), maintype="application", subtype="pdf", filename=p.filename
        )
    return Email(recipient, msg, message_id, tuple(packs), part, parts)


def _address(p: Person) -> Address:
    user, domain = p.email.rsplit("@", 1)
    return Address(display_name=p.name, username=user, domain=domain)


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class Reply:
    """An SMTP reply (code None when there was none: a connection error)."""

    code: int | None
    text: str

    @property
    def transient(self) -> bool:
        return self.code is None or 400 <= self.code < 500


Transport = Callable[[Email], Reply]


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


def _reply_of(e: Exception) -> Reply:
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


def _redact(text: str) -> str:
    password = os.environ.get(PASSWORD_ENV)
    return text.replace(password, "***") if password else text


# --------------------------------------------------------------------------- send


@dataclass(frozen=True)
class RecipientOutcome:
    """What `send` did for one recipient: sent, failed, skipped (current), changed, or dry-run."""

    email: str
    status: str
    detail: str
    emails: int = 0


@dataclass(frozen=True)
class SendResult:
    period: str
    outcomes: tuple[RecipientOutcome, ...]
    log: Path
    dry_run: bool

    @property
    def failed(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _attempts(
    email: Email,
    transport: Transport,
    settings: DeliverySettings,
    record: Callable[[dict[str, Any]], None],
    sleep: Callable[[float], None],
) -> Reply:
    """Send with retries on transient replies; every attempt is recorded. Returns the last reply."""
    reply = Reply(None, "not attempted")
    for attempt in range(1, settings.max_attempts + 1):
        try:
            reply = transport(email)
            outcome = "sent"
        except (smtplib.SMTPException, OSError) as e:
            reply = _reply_of(e)
            last = attempt == settings.max_attempts or not reply.transient
            outcome = "failed" if last else "retry"
        record(
            {
                "attempt": attempt,
                "smtp_reply": {"code": reply.code, "text": _redact(reply.text)},
                "outcome": outcome,
            }
        )
        if outcome != "retry":
            return reply
        delay = settings.backoff_seconds * 2 ** (attempt - 1)
        log.info("%s: %s, retrying in %.2fs", email.recipient.email, reply.text, delay)
        sleep(delay)
    return reply


def _outbox_name(email: Email) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", email.recipient.email)
    return f"{safe}.eml" if email.parts == 1 else f"{safe}.part-{email.part}-of-{email.parts}.eml"


def send(
    project: Project,
    period: str,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    resend: bool = False,
    transport: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """`reportlib send`: email each recipient their packs, log every attempt, skip what was delivered."""
    periods.parse(period)
    out = project.settings.period_dir(period)
    nodes = period_nodes(project, period)
    dist = load_distribution(project, nodes)
    wanted = {e.lower() for e in only}
    known = {r.email.lower() for r in dist.recipients}
    unknown = sorted(wanted - known)
    if unknown:
        raise ConfigError(
            f"--only {', '.join(unknown)}: not a recipient in {distribution_path(project)}"
        )
    recipients = [r for r in dist.recipients if not wanted or r.email.lower() in wanted]
    selection = {r.email: select_nodes(r, nodes) for r in recipients}
    needed = list(dict.fromkeys(n for sel in selection.values() for n in sel))
    require_current(project, period, needed)

    names = dict(_node_names(project, period))
    packs = {
        n: Pack(n, names.get(n, n), p, fileio.sha256(p), p.stat().st_size)
        for n in needed
        for p in [_pdf(project, period, n)]
    }
    logfile = log_path(project, period)
    done = delivered(read_log(logfile))
    if not dry_run and transport is None:
        transport = smtp_transport(project.settings.smtp, dist.sender.email)
    limit = int(dist.delivery.max_attachment_mb * MB)
    outcomes: list[RecipientOutcome] = []
    for r in recipients:
        mine = [packs[n] for n in selection[r.email]]
        if not mine:
            outcomes.append(RecipientOutcome(r.email, "skipped", "no packs for their nodes"))
            continue
        sent = done.get(r.email.lower(), {})
        if not resend:
            changed = [p.node for p in mine if p.node in sent and sent[p.node] != p.sha256]
            if changed:
                outcomes.append(
                    RecipientOutcome(
                        r.email,
                        "changed",
                        f"pack{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed since "
                        "sent (restated figures?): use --resend to send again",
                    )
                )
                continue
            mine = [p for p in mine if sent.get(p.node) != p.sha256]
            if not mine:
                outcomes.append(RecipientOutcome(r.email, "skipped", "already delivered"))
                continue
        listed = _names([names.get(ref.node, ref.node) for ref in r.nodes])
        outcomes.append(
            _send_one(
                project, dist, r, period, mine, listed, limit, dry_run, transport, sleep, logfile
            )
        )
    return SendResult(period, tuple(outcomes), logfile if not dry_run else out / OUTBOX, dry_run)


def _node_names(project: Project, period: str) -> Iterable[tuple[str, str]]:
    card = project.settings.period_dir(period) / "scorecard.parquet"
    frame = pd.read_parquet(card, columns=["node", "node_name"]).drop_duplicates("node")
    return zip(frame["node"].astype(str), frame["node_name"].astype(str), strict=True)


def _audit_send(project: Project, period: str, r: Recipient, email: Email) -> None:
    """Record a delivered email in the audit log (DOMAIN.md §8): who sent which packs to whom."""
    packs = ", ".join(f"{p.node} sha256 {p.sha256[:12]}" for p in email.packs)
    audit.append(
        audit.path(project.settings.output_path),
        [
            audit.Event(
                what="send",
                who=audit.current_user(),
                why=f"part {email.part} of {email.parts} to {r.email}: {packs}",
                period=period,
                node=",".join(p.node for p in email.packs),
                new=email.message_id,
            )
        ],
    )


def _send_one(
    project: Project,
    dist: Distribution,
    r: Recipient,
    period: str,
    mine: Sequence[Pack],
    listed: str,
    limit: int,
    dry_run: bool,
    transport: Transport | None,
    sleep: Callable[[float], None],
    logfile: Path,
) -> RecipientOutcome:
    """Send one recipient's packs (split by size); returns their outcome."""
    parts, refused = split_packs(mine, limit)
    problems: list[str] = []
    for p in refused:
        reason = (
            f"{p.filename} is {p.encoded_size / MB:.2f} MB as sent ({p.size / MB:.2f} MB on disk), "
            f"over the limit of {dist.delivery.max_attachment_mb:g} MB: not sent"
        )
        log.error("%s: %s", r.email, reason)
        problems.append(reason)
        if not dry_run:
            append_log(
                logfile,
                {
                    "time": _now(),
                    "period": period,
                    "recipient": r.email,
                    "attachments": [p.entry()],
                    "smtp_reply": None,
                    "outcome": "failed",
                    "reason": reason,
                    "message_id": None,
                },
            )
    view = {
        **email_view(project, period, [p.node for p in mine if p not in refused]),
        "node_names": listed,
    }
    sent = 0
    for i, part in enumerate(parts, start=1):
        email = build_email(project, dist, r, view, part, i, len(parts))
        if dry_run:
            target = project.settings.period_dir(period) / OUTBOX / _outbox_name(email)
            fileio.write_bytes(target, email.data())
            sent += 1
            continue
        assert transport is not None

        def record(fields: dict[str, Any], email: Email = email) -> None:
            append_log(
                logfile,
                {
                    "time": _now(),
                    "period": period,
                    "recipient": r.email,
                    "part": email.part,
                    "parts": email.parts,
                    "attachments": [p.entry() for p in email.packs],
                    "message_id": email.message_id,
                    **fields,
                },
            )

        reply = _attempts(email, transport, dist.delivery, record, sleep)
        if reply.code is not None and 200 <= reply.code < 300:
            sent += 1
            log.info("%s: part %d of %d sent (%s)", r.email, i, len(parts), email.message_id)
            _audit_send(project, period, r, email)
        else:
            problems.append(
                f"part {i} of {len(parts)}: {reply.code or ''} {_redact(reply.text)}".strip()
            )
    if dry_run:
        what = f"{sent} email{'s' if sent != 1 else ''} written to the outbox"
        return RecipientOutcome(
            r.email, "failed" if problems else "dry-run", "; ".join([what, *problems]), sent
        )
    if problems:
        return RecipientOutcome(r.email, "failed", "; ".join(problems), sent)
    files = ", ".join(p.node for p in mine)
    return RecipientOutcome(
        r.email, "sent", f"{sent} email{'s' if sent != 1 else ''}: {files}", sent
    )


# --------------------------------------------------------------------------- escalations


def escalation_lists(
    project: Project, period: str, dist: Distribution
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Escalated KPIs of every node grouped by owner address, and the owners without one."""
    owners: dict[str, list[dict[str, Any]]] = {}
    unknown: list[str] = []
    for node in period_nodes(project, period):
        ctx = packdata.load_context(project, period, node)
        for _, e in ctx.escalations.iterrows():
            k = project.kpi(str(e["kpi"]))
            address = k.owner_email or dist.owners.get(k.owner)
            if address is None:
                unknown.append(k.owner)
                continue
            owners.setdefault(address, []).append(
                {
                    "node": node,
                    "node_name": ctx.node.name,
                    "kpi": k.id,
                    "kpi_name": k.name,
                    "owner": k.owner,
                    "streak": int(e["streak"]),
                    "since": str(e["since"]),
                }
            )
    return owners, sorted(set(unknown))


def _escalation_email(
    dist: Distribution, address: str, period: str, items: Sequence[Mapping[str, Any]]
) -> Email:
    owner = str(items[0]["owner"])
    lines = [
        f"Dear {owner},",
        "",
        f"These KPIs you own have been red for {_streaks(items)} in a row "
        f"as of {periods.long_name(period)}:",
        "",
        *(
            f"- {i['node_name']}: {i['kpi_name']}, red for {i['streak']} months since "
            f"{periods.long_name(str(i['since']))}"
            for i in items
        ),
        "",
        "Please bring a recovery plan to the next review.",
        "",
    ]
    recipient = Recipient(name=owner, email=address, nodes=[{"node": "all"}])
    msg = EmailMessage()
    msg["Subject"] = f"CX scorecard escalations, {periods.long_name(period)}: {len(items)} KPIs"
    msg["From"] = _address(dist.sender)
    msg["To"] = _address(recipient)
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(domain=dist.sender.email.rsplit("@", 1)[1])
    msg["Message-ID"] = message_id
    msg.set_content("\n".join(lines))
    return Email(recipient, msg, message_id, (), 1, 1)


def _streaks(items: Sequence[Mapping[str, Any]]) -> str:
    """ "3 months" or "3 to 5 months": the streaks of the listed escalations."""
    low = min(int(i["streak"]) for i in items)
    high = max(int(i["streak"]) for i in items)
    return f"{low} months" if low == high else f"{low} to {high} months"


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
    periods.parse(period)
    nodes = period_nodes(project, period)
    dist = load_distribution(project, nodes)
    require_current(project, period, ())
    owners, unknown = escalation_lists(project, period, dist)
    wanted = {e.lower() for e in only}
    logfile = log_path(project, period)
    sent_before = {
        str(e.get("recipient", "")).lower(): e.get("escalations")
        for e in read_log(logfile)
        if e.get("kind") == "escalation" and e.get("outcome") == "sent"
    }
    if not dry_run and transport is None and owners:
        transport = smtp_transport(project.settings.smtp, dist.sender.email)
    outcomes = [
        RecipientOutcome(o, "skipped", "no email address (owner_email or owners: in distribution)")
        for o in unknown
    ]
    for address, items in owners.items():
        if wanted and address.lower() not in wanted:
            continue
        keys = sorted(f"{i['node']}:{i['kpi']}:{i['streak']}" for i in items)
        if not resend and sent_before.get(address.lower()) == keys:
            outcomes.append(RecipientOutcome(address, "skipped", "already delivered"))
            continue
        email = _escalation_email(dist, address, period, items)
        if dry_run:
            target = (
                project.settings.period_dir(period) / OUTBOX / f"escalations-{_outbox_name(email)}"
            )
            fileio.write_bytes(target, email.data())
            outcomes.append(RecipientOutcome(address, "dry-run", f"{len(items)} escalations"))
            continue
        assert transport is not None

        def record(fields: dict[str, Any], email: Email = email, keys: list[str] = keys) -> None:
            append_log(
                logfile,
                {
                    "time": _now(),
                    "period": period,
                    "kind": "escalation",
                    "recipient": email.recipient.email,
                    "attachments": [],
                    "escalations": keys,
                    "message_id": email.message_id,
                    **fields,
                },
            )

        reply = _attempts(email, transport, dist.delivery, record, sleep)
        ok = reply.code is not None and 200 <= reply.code < 300
        detail = f"{len(items)} escalations" if ok else f"{reply.code or ''} {_redact(reply.text)}"
        outcomes.append(
            RecipientOutcome(address, "sent" if ok else "failed", detail.strip(), int(ok))
        )
    out = logfile if not dry_run else project.settings.period_dir(period) / OUTBOX
    return SendResult(period, tuple(outcomes), out, dry_run)
