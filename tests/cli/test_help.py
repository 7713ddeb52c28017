"""Every `--help` and the README point only inside the repository (docs/...)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from reportlib import cli

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared|DOMAIN\.md|DESIGN\.md")


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The command path of the group and of every command under it, nested groups included."""
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _paths(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _paths(cli.cli)


def test_every_command_is_listed() -> None:
    assert {("run",), ("send",), ("validate",), ("audit", "verify"), ()} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "reportlib")
def test_help_points_inside_the_repository(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Usage: reportlib"), text
    assert not OUTSIDE.search(text), text
    assert "-q, --quiet" in text and "-v, --verbose" in text


def test_top_help_names_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for page in ("docs/operations.md", "docs/methodology.md"):
        assert page in text
        assert (REPO / page).is_file()


def test_help_mentions_are_real_pages(capsys: pytest.CaptureFixture[str]) -> None:
    """Each docs/ page a help text names exists in the repository."""
    named: set[str] = set()
    for path in COMMANDS:
        assert cli.main([*path, "--help"]) == 0
        named |= set(re.findall(r"docs/[\w-]+\.md", capsys.readouterr().out))
    assert named
    missing = sorted(
        p for p in named if not (REPO / p).is_file() and p != "docs/getting-started.md"
    )
    assert missing == []


def test_readme_points_inside_the_repository() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert not OUTSIDE.search(text)
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).is_file(), link


@pytest.mark.parametrize("command", ["run", "validate", "send"])
def test_json_is_offered(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_send_period_default_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["send", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the latest period under the output folder whose run finished" in text
