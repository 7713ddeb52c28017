"""Email headers built from data and settings carry no line breaks or control characters.

The subject is rendered from the company and node names, which come from segments.yaml
and from the data (a segment value can hold anything a CSV field can, line breaks too);
a line break there would end the Subject header and could start another (`Bcc: ...`).
Each email is checked as bytes, parsed back the way a receiving server reads it.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from pathlib import Path

import pytest

from reportlib.config import Project, load_project
from reportlib.deliver import message
from reportlib.deliver.inventory import Pack
from reportlib.deliver.models import Distribution, Person
from reportlib.pipeline import compute

from ..conftest import write_project

PERIOD = "2026-03"
DIST = Distribution(
    sender={"name": "CX Reporting", "email": "cx@example.com"},
    recipients=[{"name": "Eve Ent", "email": "ent@example.com", "nodes": ["all"]}],
)
HEADERS = ["Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("headers")
    settings = 'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\n'
    p = load_project(write_project(root, settings=settings))
    compute(p, PERIOD)
    return p


@pytest.fixture
def pack(tmp_path: Path) -> Pack:
    path = tmp_path / "all.pdf"
    path.write_bytes(b"%PDF-1.4 all")
    return Pack("all", "all", path, "0" * 64, path.stat().st_size)


def _received(msg: message.Email) -> email.message.EmailMessage:
    """The email as a receiving server parses its bytes."""
    parsed = email.message_from_bytes(msg.data(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("company", "nodes", "subject"),
    [
        ("Tiny\r\nBcc: evil@example.org", "Ent", "Tiny Bcc: evil@example.org | Ent"),
        ("Tiny", "Ent\nBcc: evil@example.org", "Tiny | Ent Bcc: evil@example.org"),
        ("Tiny", "Ent\rX-Injected: 1", "Tiny | Ent X-Injected: 1"),
        (
            "Tiny",
            "Ent\u2028Bcc: e@example.org\x85Cc: f@x.org",
            "Tiny | Ent Bcc: e@example.org Cc: f@x.org",
        ),
        ("Tiny", "Ent\x00\x1b[2J\x7fX", "Tiny | Ent [2J X"),
        ("Tiny", "\u202eEnt\u202c and \u2066smb\u2069", "Tiny | Ent and smb"),
    ],
)
def test_names_from_data_cannot_add_headers(
    project: Project, pack: Pack, company: str, nodes: str, subject: str
) -> None:
    view = message.email_view(project, PERIOD, ["all"])
    hostile = dataclasses.replace(view, company=company, node_names=nodes)
    dist = DIST.model_copy(update={"subject": "{{ company }} | {{ node_names }}"})
    built = message.build_email(project, dist, DIST.recipients[0], hostile, [pack])
    received = _received(built)
    assert [k for k in received if k in HEADERS or k.lower() in ("bcc", "cc", "x-injected")] == [
        k for k in HEADERS if k in received
    ]
    assert received["Bcc"] is None and received["Cc"] is None and received["X-Injected"] is None
    assert received["Subject"] == subject
    assert received["To"] == "Eve Ent <ent@example.com>"
    # Every header line of the bytes is printable ASCII (a long subject folds, never breaks).
    head = built.data().split(b"\r\n\r\n", 1)[0]
    assert all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def test_the_company_name_reaches_the_default_subject_on_one_line(
    project: Project, pack: Pack
) -> None:
    view = message.email_view(project, PERIOD, ["all"])
    hostile = dataclasses.replace(view, company="Tiny\r\n Co", node_names="Tiny\nCo")
    built = message.build_email(project, DIST, DIST.recipients[0], hostile, [pack])
    received = _received(built)
    assert "\n" not in received["Subject"] and "\r" not in received["Subject"]
    assert "Tiny Co" in received["Subject"]


def test_header_text_keeps_ordinary_text() -> None:
    assert message.header_text("CX scorecard, März 2026: Größe · 東京") == (
        "CX scorecard, März 2026: Größe · 東京"
    )
    assert message.header_text("  a \t b  ") == "a b"
    assert message.header_text("$5k-$10k =SUM(A1) @x") == "$5k-$10k =SUM(A1) @x"


@pytest.mark.parametrize("name", ["Eve\r\nBcc: evil@example.org", "Eve\x00", "Eve\nX"])
def test_a_recipient_name_with_a_line_break_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="line break or control character"):
        Person(name=name, email="eve@example.com")
