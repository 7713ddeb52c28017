"""distribution.yaml: the records, the errors that name the problem, and whose packs a recipient gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reportlib.config import load_project
from reportlib.deliver import models
from reportlib.errors import ConfigError

from ..conftest import write_project

NODES = ("all", "ent", "ent/eu", "ent/us", "smb", "smb/eu", "smb/us")


def _recipient(nodes: list[Any], include_children: bool = False) -> models.Recipient:
    return models.Recipient(
        name="X", email="x@example.com", nodes=nodes, include_children=include_children
    )


def test_select_nodes_gives_only_the_listed_nodes_and_asked_children() -> None:
    assert models.select_nodes(_recipient(["ent/eu"]), NODES) == ("ent/eu",)
    assert models.select_nodes(_recipient(["ent"]), NODES) == ("ent",)
    assert models.select_nodes(_recipient(["ent"], True), NODES) == ("ent", "ent/eu", "ent/us")
    assert models.select_nodes(_recipient(["all"], True), NODES) == NODES
    mixed = _recipient([{"node": "smb", "include_children": True}, "ent/us"])
    assert models.select_nodes(mixed, NODES) == ("ent/us", "smb", "smb/eu", "smb/us")
    # A node id that merely starts with another's is not its child.
    assert models.select_nodes(_recipient(["ent"], True), ("ent", "entx", "entx/eu")) == ("ent",)


def test_bare_node_ids_take_the_recipients_include_children() -> None:
    r = _recipient(["ent", {"node": "smb"}], include_children=True)
    assert r.nodes == (
        models.NodeRef(node="ent", include_children=True),
        models.NodeRef(node="smb", include_children=False),
    )
    assert models.is_below("ent/eu", "ent") and models.is_below("ent", "all")
    assert not models.is_below("all", "all") and not models.is_below("ent", "ent")


def _write(tmp_path: Path, text: str) -> tuple[Path, Path]:
    config = write_project(tmp_path)
    path = tmp_path / "data" / "distribution.yaml"
    path.write_text(text, encoding="utf-8")
    return config, path


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ("- {name: A, email: not-an-address, nodes: [all]}", "malformed email address"),
        ("- {name: A, email: a@example.com, nodes: [nowhere]}", "unknown node 'nowhere'"),
        ("- {name: A, email: a@example.com, nodes: []}", "a@example.com has no nodes"),
        (
            "- {name: A, email: a@example.com, nodes: [all]}\n"
            "- {name: B, email: A@example.com, nodes: [ent]}",
            "A@example.com is listed twice",
        ),
        (
            "- {name: A, email: a@example.com, nodes: [all], colour: red}",
            "recipient a@example.com: colour: Extra inputs are not permitted",
        ),
    ],
)
def test_distribution_errors_name_the_problem(
    tmp_path: Path, recipients: str, message: str
) -> None:
    config, path = _write(
        tmp_path, f"sender: {{name: S, email: s@example.com}}\nrecipients:\n{recipients}\n"
    )
    with pytest.raises(ConfigError, match=message) as err:
        models.load_distribution(load_project(config), NODES)
    assert str(path) in str(err.value) and err.value.exit_code == 2


def test_a_broken_subject_template_is_a_config_error(tmp_path: Path) -> None:
    config, path = _write(
        tmp_path,
        'sender: {name: S, email: s@example.com}\nsubject: "CX {{ period_name"\n'
        "recipients:\n- {name: A, email: a@example.com, nodes: [all]}\n",
    )
    with pytest.raises(ConfigError, match=r"subject: template error: ") as err:
        models.load_distribution(load_project(config), NODES)
    assert str(path) in str(err.value)


def test_a_missing_distribution_says_what_it_is_for(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    with pytest.raises(ConfigError, match="lists who receives which packs"):
        models.load_distribution(load_project(config))


def test_defaults_and_owner_addresses() -> None:
    dist = models.Distribution(
        sender={"name": "S", "email": " s@example.com "},
        recipients=[{"name": "A", "email": "a@example.com", "nodes": "all"}],
        owners={"CFO": "cfo@example.com"},
    )
    assert dist.sender.email == "s@example.com" and dist.sender.domain == "example.com"
    assert dist.delivery == models.DeliverySettings(
        max_attachment_mb=10, max_attempts=4, backoff_seconds=1
    )
    assert (dist.html_template, dist.text_template) == ("email.html.j2", "email.txt.j2")
    with pytest.raises(ValueError, match="malformed email address 'cfo'"):
        models.Distribution(**{**dist.model_dump(), "owners": {"CFO": "cfo"}})


def test_default_distribution_files_are_identical_and_valid() -> None:
    repo = Path(__file__).resolve().parents[2]
    shipped = repo / "reportlib" / "defaults" / "distribution.yaml"
    assert shipped.read_bytes() == (repo / "data" / "distribution.yaml").read_bytes()
    dist = models.Distribution(**yaml.safe_load(shipped.read_text(encoding="utf-8")))
    assert dist.delivery.max_attachment_mb == 10 and len(dist.recipients) == 7
    cco = models.select_nodes(dist.recipients[1], ("all", "smb", "smb/emea"))
    assert cco == ("all", "smb", "smb/emea")
