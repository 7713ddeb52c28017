"""The emails: what their bodies show, rendered from templates, with their headers and PDFs.

A pack email is written for a board member reading on a phone: the attachments first, each
node's overall score ("6.8 / 10") and status as a coloured word, an image of the scorecard
page drawn from the attached pack (inline, `multipart/related` by Content-ID), at most three
movers chosen by materiality across the recipient's nodes (`top_movers`) and at most three
escalations with their count; no links. An escalation email tells one KPI owner which of
their KPIs have been red for months in a row (DOMAIN.md §6). The bodies come from
`templates/` (a project's own copy of a template overrides reportlib's), the headers from
one function, so both kinds of email are built the same way.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Literal

import jinja2

from .. import packdata, pdfimage, period_words, periods, resources
from .. import scorecard as sc
from ..catalogue import KpiDef
from ..config import Project
from ..errors import ConfigError, RenderError
from ..formatting import (
    format_count,
    format_score,
    format_short,
    format_short_delta,
    missing,
    n_noun,
    period_name,
    status_style,
)
from ..kpis import kpi_tables
from .inventory import Pack
from .models import Distribution, Person, checked_address, header_safe

log = logging.getLogger(__name__)

ESCALATION_TEMPLATE = "escalation.txt.j2"
"""The body of an escalation email (plain text)."""

EmailKind = Literal["pack", "escalation"]

MAX_MOVERS = 3
"""Movers an email lists, across all of the recipient's nodes."""

MAX_ESCALATIONS = 3
"""Escalations an email lists; the rest are counted ("and 6 more in the packs")."""

TONE_INK: Mapping[str, str] = {"better": "#256628", "worse": "#c62828", "flat": "#5f6670"}
"""Text colours of a mover's better / worse / flat, readable on white (WCAG AA)."""


# --------------------------------------------------------------------------- what the bodies show


@dataclass(frozen=True)
class NodeLine:
    """One node's overall score ("6.8 / 10") and status word, and its count of KPIs by status."""

    node: str
    name: str
    score: str
    """The overall score alone, `6.8` (`–` when not scored)."""
    status: str
    """The status as a word: `Watch`, `Off target`, ... (no symbol; the HTML colours it)."""
    red: int
    amber: int
    green: int
    score_of: str = ""
    """`6.8 / 10`, or `not scored`."""
    status_id: str = "no-data"
    ink: str = "#5f6670"
    """The status colour for text on white."""
    tint: str = "#f1f2f4"
    """The status colour's light background."""


@dataclass(frozen=True)
class MoverLine:
    """A KPI that moved since last month, formatted (`tone` is better, worse or flat)."""

    node: str
    kpi: str
    prev: str
    value: str
    delta: str
    tone: str
    ink: str = "#5f6670"
    """The tone's colour for text on white."""
    n: str = ""
    """What this month's value rests on, `1,524 responses` (empty when unknown)."""


@dataclass(frozen=True)
class EscalationLine:
    """A KPI red for `streak` months in a row since `since` (a month's long name), by node name."""

    node: str
    kpi: str
    owner: str
    since: str
    streak: int


@dataclass(frozen=True)
class PackView:
    """The variables of the pack email's templates (and subject) but the recipient's own."""

    company: str
    period: str
    period_name: str
    nodes: tuple[NodeLine, ...]
    node_names: str
    movers: tuple[MoverLine, ...]
    escalations: tuple[EscalationLine, ...]
    """At most MAX_ESCALATIONS, longest-running first."""
    escalation_count: int = 0
    """Every escalation of the nodes and the nodes below them, listed or not."""


@dataclass(frozen=True)
class Escalation:
    """An escalated KPI of one node (DOMAIN.md §6), with the owner it is escalated to."""

    node: str
    node_name: str
    kpi: str
    kpi_name: str
    owner: str
    streak: int
    since: str

    @property
    def key(self) -> str:
        """`node:kpi:streak`: the same key means the owner was already told about it."""
        return f"{self.node}:{self.kpi}:{self.streak}"


def names(names: Sequence[str]) -> str:
    """Up to three names joined by commas, else the first two and how many more."""
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} more"


def materiality(m: packdata.Mover) -> float:
    """How much a move matters: its change as a share of the KPI's amber band.

    The band is the gap between the KPI's target and its red line, so a quarter of it is as
    material for NPS as for revenue; without a target, the change as a share of last month's
    value (times 5, so a 5% change weighs like a quarter of a band). This is `packdata.movers`'
    `size`: survey KPIs are movers only when the change is significant at 95%, census KPIs
    only when it is at least a quarter band (DOMAIN.md §5).
    """
    return m.size


def _enough_n(ctx: packdata.PackContext, k: KpiDef) -> bool:
    """True when neither this month's nor last month's value rests on fewer than the KPI's min n."""
    if k.min_n is None:
        return True
    rows = packdata.node_rows(ctx)
    now = rows.at[k.id, "n"] if k.id in rows.index else None
    prev = periods.shift(ctx.period, -1)
    h = packdata.series(ctx, k.id)
    before = h.loc[h["period"] == prev, "n"]
    then = before.iloc[0] if len(before) else None
    return not (packdata.below_min_n(k, now, ctx.period) or packdata.below_min_n(k, then, prev))


def top_movers(
    contexts: Sequence[packdata.PackContext], limit: int = MAX_MOVERS
) -> list[tuple[packdata.PackContext, packdata.Mover]]:
    """The `limit` most material movers across the nodes (`materiality`), one line per KPI.

    A move is left out when either month rests on fewer observations than the KPI's min n
    (DOMAIN.md §4). A KPI that moved at several of the nodes (a parent's move repeats its
    child's) is listed once, where it moved most; on a tie, at the node listed first.
    """
    best: dict[str, tuple[float, int, packdata.PackContext, packdata.Mover]] = {}
    for order, ctx in enumerate(contexts):
        for m in packdata.movers(ctx, limit=len(ctx.project.kpis)):
            if not _enough_n(ctx, m.kpi):
                continue
            size = materiality(m)
            held = best.get(m.kpi.id)
            if held is None or size > held[0]:
                best[m.kpi.id] = (size, order, ctx, m)
    ranked = sorted(best.values(), key=lambda x: (-x[0], x[1], x[3].kpi.id))
    return [(ctx, m) for _, _, ctx, m in ranked[:limit]]


def _node_line(ctx: packdata.PackContext, loc: str) -> NodeLine:
    overall = packdata.row(ctx, "score:overall")
    counts = packdata.status_counts(ctx)
    score = None if overall is None else overall["score"]
    status = None if overall is None else str(overall["status"])
    style = status_style(status)
    shown = format_score(score, loc)
    return NodeLine(
        node=ctx.node.id,
        name=ctx.node.name,
        score=shown,
        status=style.label,
        red=counts.get("red", 0),
        amber=counts.get("amber", 0),
        green=counts.get("green", 0),
        score_of="not scored" if missing(score) else f"{shown} / 10",
        status_id=status or "no-data",
        ink=style.ink,
        tint=style.tint,
    )


def _n_text(ctx: packdata.PackContext, k: KpiDef, loc: str) -> str:
    rows = packdata.node_rows(ctx)
    n = rows.at[k.id, "n"] if k.id in rows.index else None
    return "" if missing(n) else format_count(n, n_noun(k.id, kpi_tables(k)), loc)


def escalations_below(contexts: Sequence[packdata.PackContext]) -> list[EscalationLine]:
    """The escalations of the nodes and of every node below them (DOMAIN.md §6), each once,
    the longest red streaks first (then in hierarchy order): a company pack's reader learns
    of a region's escalations without opening the region's pack."""
    if not contexts:
        return []
    first = contexts[0]
    project, tree, loc = first.project, first.tree, first.project.settings.locale
    ids = list(
        dict.fromkeys(
            n
            for ctx in contexts
            for n in (ctx.node.id, *(d.id for d in tree.descendants(ctx.node.id)))
        )
    )
    order = {n: i for i, n in enumerate(tree.ids)}
    history = first.history[first.history["node"].isin(ids)]
    found = sc.escalations(history, first.period, project.settings.escalate_after)
    lines: list[tuple[int, int, EscalationLine]] = []
    for _, e in found.iterrows():
        k = project.kpi(str(e["kpi"]))
        node = str(e["node"])
        line = EscalationLine(
            node=tree.node(node).name,
            kpi=k.name,
            owner=k.owner,
            since=period_name(str(e["since"]), loc),
            streak=int(e["streak"]),
        )
        lines.append((-line.streak, order.get(node, len(order)), line))
    lines.sort(key=lambda x: (x[0], x[1]))
    return [line for _, _, line in lines]


def email_view(project: Project, period: str, nodes: Sequence[str]) -> PackView:
    """What the email body shows: each node's overall score and status, the three most
    material movers across the nodes, the three longest escalations and their count."""
    cur, loc = project.settings.currency, project.settings.locale
    contexts = [packdata.load_context(project, period, node) for node in nodes]
    movers = tuple(
        MoverLine(
            node=ctx.node.name,
            kpi=m.kpi.name,
            prev=format_short(m.prev, m.kpi.unit, cur, loc),
            value=format_short(m.value, m.kpi.unit, cur, loc),
            delta=format_short_delta(m.delta, m.kpi.unit, cur, loc),
            tone=tone,
            ink=TONE_INK[tone],
            n=_n_text(ctx, m.kpi, loc),
        )
        for ctx, m in top_movers(contexts)
        for tone in ["flat" if m.good is None else ("better" if m.good else "worse")]
    )
    escalations = escalations_below(contexts)
    rows = [_node_line(ctx, loc) for ctx in contexts]
    return PackView(
        company=project.hierarchy.company,
        period=period,
        period_name=period_name(period, loc),
        nodes=tuple(rows),
        node_names=names([r.name for r in rows]),
        movers=movers,
        escalations=tuple(escalations[:MAX_ESCALATIONS]),
        escalation_count=len(escalations),
    )


def escalation_lists(
    project: Project, period: str, nodes: Sequence[str], dist: Distribution
) -> tuple[dict[str, list[Escalation]], list[str]]:
    """Escalated KPIs of every node grouped by owner address, and the owners without one."""
    owners: dict[str, list[Escalation]] = {}
    unknown: list[str] = []
    for node in nodes:
        ctx = packdata.load_context(project, period, node)
        for _, e in ctx.escalations.iterrows():
            k = project.kpi(str(e["kpi"]))
            address = k.owner_email or dist.owners.get(k.owner)
            if address is None:
                unknown.append(k.owner)
                continue
            address = _owner_address(k.id, k.owner, address)
            owners.setdefault(address, []).append(
                Escalation(
                    node=node,
                    node_name=ctx.node.name,
                    kpi=k.id,
                    kpi_name=k.name,
                    owner=k.owner,
                    streak=int(e["streak"]),
                    since=str(e["since"]),
                )
            )
    return owners, sorted(set(unknown))


def check_owners(project: Project, dist: Distribution) -> None:
    """Check every KPI owner's name and address (kpis.yaml or the distribution's `owners:`)
    before any escalation email is sent; a ConfigError names the first bad one."""
    for k in project.kpis:
        address = k.owner_email or dist.owners.get(k.owner)
        if address is not None:
            _owner_address(k.id, k.owner, address)


def _owner_address(kpi: str, owner: str, address: str) -> str:
    """The owner's checked address; a ConfigError (before anything is sent) when the owner's
    name or address is not fit for an email header."""
    try:
        header_safe(owner)
        return checked_address(address)
    except ValueError as e:
        raise ConfigError(f"kpis.yaml: KPI {kpi}: owner {owner!r}: {e}") from e


def escalation_keys(items: Sequence[Escalation]) -> tuple[str, ...]:
    """The sorted keys of an owner's escalations: the same keys were already sent to them."""
    return tuple(sorted(i.key for i in items))


def streaks(items: Sequence[Escalation]) -> str:
    """ "1 month", "3 months" or "3 to 5 months": the streaks of the listed escalations."""
    low = min(i.streak for i in items)
    high = max(i.streak for i in items)
    return f"{low} month{'s' if low != 1 else ''}" if low == high else f"{low} to {high} months"


# --------------------------------------------------------------------------- templates


@functools.lru_cache(maxsize=16)
def _environment(folder: Path, html: bool) -> jinja2.Environment:
    """The environment of the templates in `folder`, made once (Jinja reloads changed files)."""
    return resources.jinja_environment(folder, html=html)


_SUBJECTS = resources.jinja_environment(html=False)
"""The environment of subject templates (from distribution.yaml): plain text."""


def _render(folder: Path, name: str, variables: Mapping[str, Any], *, html: bool) -> str:
    """Template `name` of `folder` rendered; a template error is a configuration error."""
    try:
        return _environment(folder, html).get_template(name).render(variables)
    except jinja2.TemplateError as e:
        raise ConfigError(f"email template in {folder}: {e}") from e


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Characters that reorder the text shown after them (a subject could read backwards)."""


def header_text(text: str) -> str:
    """`text` as one header line: line breaks, control and bidi characters become spaces.

    A subject is rendered from names in the data and settings (company, node names); a line
    break in one would end the header early and could start another (`Bcc: ...`), and a
    control character has no place in a header. Runs of blanks become one space.
    """
    kept = (
        " " if c.isspace() or c in _BIDI_CONTROLS or unicodedata.category(c) == "Cc" else c
        for c in text
    )
    return " ".join("".join(kept).split())


def _variables(view: Any) -> dict[str, Any]:
    """A view record's fields as template variables (the records themselves, not dicts)."""
    return {f.name: getattr(view, f.name) for f in fields(view)}


# --------------------------------------------------------------------------- the email


@dataclass(frozen=True)
class Email:
    """One email ready to send: its bytes, Message-ID, attachments and what it is about."""

    recipient: Person
    message: EmailMessage
    message_id: str
    packs: tuple[Pack, ...] = ()
    part: int = 1
    parts: int = 1
    kind: EmailKind = "pack"
    escalations: tuple[str, ...] = ()
    """The keys of the escalations an escalation email lists."""

    def data(self) -> bytes:
        return self.message.as_bytes(policy=SMTP_POLICY)

    @property
    def label(self) -> str:
        """`part 2 of 3: ` for a pack email, to prefix what happened to it; empty for others."""
        return f"part {self.part} of {self.parts}: " if self.kind == "pack" else ""


def _address(p: Person) -> Address:
    user, domain = p.email.rsplit("@", 1)
    return Address(display_name=p.name, username=user, domain=domain)


def _message(
    sender: Person, to: Person, subject: str, message_id: str | None = None
) -> tuple[EmailMessage, str]:
    """A message with its headers (Subject, From, To, Date, Message-ID) and its Message-ID.

    `message_id` is given when the message is sent again after an unknown outcome: the same
    Message-ID lets receiving servers drop the copy if the first one did arrive."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = _address(sender)
    msg["To"] = _address(to)
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = message_id or make_msgid(domain=sender.domain)
    msg["Message-ID"] = message_id
    return msg, message_id


def scorecard_image(pack: Pack) -> bytes | None:
    """The scorecard page of `pack` as PNG for the email, or None (logged) if it cannot be drawn.

    The image is a convenience beside the attached PDF: a pack PDFium cannot read still goes
    out, without it.
    """
    try:
        return pdfimage.scorecard_png(pack.path, pack.sha256)
    except RenderError as e:
        log.warning("%s: no scorecard image in the email (%s)", pack.path, e)
        return None


def build_email(
    project: Project,
    dist: Distribution,
    recipient: Person,
    view: PackView,
    packs: Sequence[Pack],
    part: int = 1,
    parts: int = 1,
    message_id: str | None = None,
    image: bytes | None = None,
) -> Email:
    """The email for one recipient (one part of it): subject, text and HTML bodies, the PDFs.

    `image` (PNG: the scorecard page of the first pack) is shown inline in the HTML body:
    multipart/alternative (text, multipart/related (HTML, image by Content-ID)), then the
    PDFs, all in one multipart/mixed.
    """
    first = packs[0] if packs else None
    cid = make_msgid(domain=dist.sender.domain) if image is not None else None
    variables = {
        **_variables(view),
        "recipient": {"name": recipient.name, "email": recipient.email},
        "part": part,
        "parts": parts,
        "attachments": [p.filename for p in packs],
        "image_cid": None if cid is None else cid[1:-1],
        "image_alt": "" if first is None else f"Scorecard page of the {first.name} pack",
        "words": period_words.words(view.period, project.settings.trend_months),
    }
    subject = header_text(_SUBJECTS.from_string(dist.subject).render(variables))
    if parts > 1:
        subject += f" (part {part} of {parts})"
    folder = resources.folder(project.settings.root, "templates", dist.html_template)
    html = _render(folder, dist.html_template, variables, html=True)
    text = _render(folder, dist.text_template, variables, html=False)
    msg, message_id = _message(dist.sender, recipient, subject, message_id)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if image is not None and cid is not None:
        html_part = msg.get_body(("html",))
        assert html_part is not None, "the HTML alternative was just added"
        html_part.add_related(
            image,
            maintype="image",
            subtype="png",
            cid=cid,
            filename="scorecard.png",
            disposition="inline",
        )
    for p in packs:
        msg.add_attachment(
            p.path.read_bytes(), maintype="application", subtype="pdf", filename=p.filename
        )
    return Email(recipient, msg, message_id, tuple(packs), part, parts)


def escalation_email(
    project: Project,
    dist: Distribution,
    address: str,
    period: str,
    items: Sequence[Escalation],
    message_id: str | None = None,
) -> Email:
    """The email telling one KPI owner which of their KPIs are escalated (plain text)."""
    owner = items[0].owner
    loc = project.settings.locale
    variables = {
        "owner": owner,
        "words": period_words.words(period, project.settings.trend_months),
        "period_name": period_name(period, loc),
        "streaks": streaks(items),
        "escalations": [
            EscalationLine(
                node=i.node_name,
                kpi=i.kpi_name,
                owner=i.owner,
                since=period_name(i.since, loc),
                streak=i.streak,
            )
            for i in items
        ],
    }
    folder = resources.folder(project.settings.root, "templates", ESCALATION_TEMPLATE)
    text = _render(folder, ESCALATION_TEMPLATE, variables, html=False)
    to = Person(name=owner, email=address)
    subject = f"CX scorecard escalations, {period_name(period, loc)}: {len(items)} KPIs"
    msg, message_id = _message(dist.sender, to, subject, message_id)
    msg.set_content(text)
    return Email(to, msg, message_id, kind="escalation", escalations=escalation_keys(items))
