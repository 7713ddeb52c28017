"""What the emails say: snapshots of both bodies of a pack email and of an escalation email.

The project is the tiny one, computed for March 2026 with any red KPI escalating, so the
bodies show scores, movers and escalations; nothing in them depends on the day the test
runs (the Date and Message-ID headers are not part of the snapshots).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from reportlib import resources
from reportlib.config import Project, load_project
from reportlib.deliver import message
from reportlib.deliver.inventory import Pack
from reportlib.deliver.models import Distribution
from reportlib.errors import ConfigError
from reportlib.pipeline import compute

from ..conftest import write_project

PERIOD = "2026-03"
NODES = ("all", "ent", "ent/eu")
DIST = Distribution(
    sender={"name": "CX Reporting", "email": "cx@example.com"},
    recipients=[{"name": "Eve Ent", "email": "ent@example.com", "nodes": list(NODES)}],
)
EVE = DIST.recipients[0]


class HTMLSnapshot(SingleFileSnapshotExtension):
    """One .html file per snapshot, diffable in review."""

    file_extension = "html"
    _write_mode = WriteMode.TEXT


class TextSnapshot(SingleFileSnapshotExtension):
    """One .txt file per snapshot, diffable in review."""

    file_extension = "txt"
    _write_mode = WriteMode.TEXT


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project computed for March 2026; a KPI red for one month escalates."""
    root = tmp_path_factory.mktemp("message")
    settings = 'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\nescalate_after = 1\n'
    p = load_project(write_project(root, settings=settings))
    compute(p, PERIOD)
    return p


@pytest.fixture
def packs(tmp_path: Path) -> list[Pack]:
    out = []
    for node in NODES:
        path = tmp_path / f"{node.replace('/', '-')}.pdf"
        path.write_bytes(b"%PDF-1.4 " + node.encode())
        out.append(Pack(node, node, path, "0" * 64, path.stat().st_size))
    return out


def _bodies(email: message.Email) -> tuple[str, str | None]:
    text = email.message.get_body(("plain",))
    html = email.message.get_body(("html",))
    assert text is not None
    return text.get_content(), None if html is None else html.get_content()


def test_pack_email_bodies(project: Project, packs: list[Pack], snapshot) -> None:
    view = message.email_view(project, PERIOD, NODES)
    assert view.escalations and view.movers, "the fixture should show movers and escalations"
    email = message.build_email(project, DIST, EVE, view, packs)
    text, html = _bodies(email)
    assert text == snapshot(name="text", extension_class=TextSnapshot)
    assert html == snapshot(name="html", extension_class=HTMLSnapshot)


def test_pack_email_headers_and_attachments(project: Project, packs: list[Pack]) -> None:
    view = message.email_view(project, PERIOD, NODES)
    email = message.build_email(project, DIST, EVE, view, packs[1:], part=2, parts=2)
    msg = email.message
    assert msg["Subject"] == (
        "CX scorecard, March 2026: Tiny Co, Enterprise, Enterprise · Europe (part 2 of 2)"
    )
    assert msg["From"] == "CX Reporting <cx@example.com>"
    assert msg["To"] == "Eve Ent <ent@example.com>"
    assert msg["Message-ID"] == email.message_id and email.message_id.endswith("@example.com>")
    assert msg["Date"]
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert attached == {
        "board-pack-ent.pdf": b"%PDF-1.4 ent",
        "board-pack-ent-eu.pdf": b"%PDF-1.4 ent/eu",
    }
    text, _ = _bodies(email)
    assert "(part 2 of 2)" in text and "board packs for March 2026" in text
    assert (email.kind, email.part, email.parts, email.label) == ("pack", 2, 2, "part 2 of 2: ")


def test_names_and_a_recipients_own_node_names(project: Project, packs: list[Pack]) -> None:
    assert message.names(["a", "b", "c"]) == "a, b, c"
    assert message.names(["a", "b", "c", "d"]) == "a, b and 2 more"
    view = message.email_view(project, PERIOD, ["ent"])
    assert view.node_names == "Enterprise"
    listed = dataclasses.replace(view, node_names="Enterprise and friends")
    email = message.build_email(project, DIST, EVE, listed, packs[1:2])
    assert email.message["Subject"] == "CX scorecard, March 2026: Enterprise and friends"
    # A copy keeps every other field.
    assert dataclasses.replace(listed, node_names=view.node_names) == view


def test_escalation_email_body(project: Project, snapshot) -> None:
    owners, unknown = message.escalation_lists(project, PERIOD, NODES, DIST)
    assert unknown == []
    address, items = next(iter(owners.items()))
    email = message.escalation_email(project, DIST, address, PERIOD, items)
    text, html = _bodies(email)
    assert html is None and not list(email.message.iter_attachments())
    assert text == snapshot(name="text", extension_class=TextSnapshot)
    assert email.message["Subject"] == f"CX scorecard escalations, March 2026: {len(items)} KPIs"
    assert email.message["To"] == f"{items[0].owner} <{address}>"
    assert email.kind == "escalation" and email.label == ""
    assert email.escalations == tuple(sorted(f"{i.node}:{i.kpi}:{i.streak}" for i in items))


def test_escalation_streaks_phrase() -> None:
    def item(streak: int) -> message.Escalation:
        return message.Escalation("all", "Tiny Co", "nps", "NPS", "CCO", streak, "2026-01")

    assert message.streaks([item(3), item(3)]) == "3 months"
    assert message.streaks([item(5), item(3)]) == "3 to 5 months"


def test_a_projects_own_templates_are_used(project: Project, packs: list[Pack]) -> None:
    own = project.settings.root / "templates"
    own.mkdir(exist_ok=True)
    try:
        for name in (DIST.html_template, DIST.text_template):
            shutil.copy(resources.packaged("templates") / name, own / name)
        (own / DIST.text_template).write_text("Hello {{ recipient.name }}\n", encoding="utf-8")
        (own / message.ESCALATION_TEMPLATE).write_text("Dear {{ owner }}.\n", encoding="utf-8")
        view = message.email_view(project, PERIOD, ["ent"])
        text, _ = _bodies(message.build_email(project, DIST, EVE, view, packs[1:2]))
        assert text == "Hello Eve Ent\n"
        owners, _ = message.escalation_lists(project, PERIOD, NODES, DIST)
        address, items = next(iter(owners.items()))
        text, _ = _bodies(message.escalation_email(project, DIST, address, PERIOD, items))
        assert text == f"Dear {items[0].owner}.\n"
        (own / "broken.html.j2").write_text("{{ no_such_variable }}", encoding="utf-8")
        broken = DIST.model_copy(update={"html_template": "broken.html.j2"})
        with pytest.raises(ConfigError, match=f"email template in {own}: 'no_such_variable'"):
            message.build_email(project, broken, EVE, view, packs[1:2])
    finally:
        shutil.rmtree(own)
