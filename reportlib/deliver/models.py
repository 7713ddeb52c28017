"""The distribution: who receives which packs, from whom, with which limits (`data/distribution.yaml`).

These records are read once per send and never change; a recipient's nodes are resolved
against the period's node list by `select_nodes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .. import hierarchy, resources
from ..config import Frozen, Project
from ..errors import ConfigError

DISTRIBUTION_FILE = "distribution.yaml"
"""The distribution's name in the project's data folder (an input, not an output)."""
HTML_TEMPLATE = "email.html.j2"
TEXT_TEMPLATE = "email.txt.j2"

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def checked_address(v: str) -> str:
    """`v` without surrounding blanks; a ValueError when it is not a plain email address."""
    header_safe(v.strip(" "))
    v = v.strip()
    if not _ADDRESS.match(v):
        raise ValueError(f"malformed email address {v!r}")
    return v


def header_safe(v: str) -> str:
    """`v` unchanged; a ValueError when it holds a line break or another control character,
    which would end an email header early (or smuggle in another one)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError(f"{v!r} contains a line break or control character")
    return v


class Person(Frozen):
    """A name and an email address, both safe to put in a header."""

    name: str
    email: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return header_safe(v)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return checked_address(v)

    @property
    def domain(self) -> str:
        """The part of the address after the @ (Message-IDs are made in the sender's domain)."""
        return self.email.rsplit("@", 1)[1]


class NodeRef(Frozen):
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


class DeliverySettings(Frozen):
    """Attachment limit per email, attempts per email and the first retry's delay."""

    max_attachment_mb: float = Field(default=10, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_seconds: float = Field(default=1, ge=0)


class Distribution(Frozen):
    """`data/distribution.yaml`."""

    sender: Person
    subject: str = "CX scorecard, {{ period_name }}: {{ node_names }}"
    html_template: str = HTML_TEMPLATE
    text_template: str = TEXT_TEMPLATE
    delivery: DeliverySettings = DeliverySettings()
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    owners: dict[str, str] = Field(default_factory=dict)
    """KPI owner (as named in kpis.yaml) to email address, for owners without owner_email."""

    @field_validator("owners")
    @classmethod
    def _owner_emails(cls, v: dict[str, str]) -> dict[str, str]:
        return {k: checked_address(a) for k, a in v.items()}


def distribution_path(project: Project) -> Path:
    return project.settings.data_path / DISTRIBUTION_FILE


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
                    f"(nodes: {hierarchy.known_nodes(nodes, unknown)})",
                    file=str(path),
                )
    try:
        resources.jinja_environment(html=False).from_string(dist.subject)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{path}: subject: template error: {e.message}", file=str(path)) from e
    return dist


def _pydantic_message(err: Exception, raw: Mapping[str, Any]) -> str:
    """The first validation error, naming the recipient by address rather than list index."""
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
