"""Notebooks, templates and fonts: the project's own copy wins over the packaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib import resources


def test_packaged_resources_exist() -> None:
    assert (resources.packaged("notebooks") / "board_pack.ipynb").is_file()
    assert (resources.packaged("templates") / "board_pack.html.j2").is_file()
    assert any(resources.packaged("fonts").glob("*.woff2"))


def test_a_projects_own_file_overrides_the_packaged_one(tmp_path: Path) -> None:
    assert resources.find(tmp_path, "templates", "email.txt.j2").parent == resources.packaged(
        "templates"
    )
    own = tmp_path / "templates" / "email.txt.j2"
    own.parent.mkdir()
    own.write_text("mine", encoding="utf-8")
    assert resources.find(tmp_path, "templates", "email.txt.j2") == own
    # Only the file it has is taken from the project; others still come from the package.
    assert resources.folder(tmp_path, "templates", "board_pack.html.j2") == resources.packaged(
        "templates"
    )


def test_a_missing_resource_names_both_places(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.ipynb not found in .*notebooks or "):
        resources.find(tmp_path, "notebooks", "nope.ipynb")


def test_jinja_environment_escapes_html_and_refuses_unknown_names() -> None:
    env = resources.jinja_environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert resources.jinja_environment(html=False).from_string("{{ x }}").render(x="<b>") == "<b>"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ y }}").render()


def test_in_the_repository_the_package_folders_are_links_to_the_edited_ones() -> None:
    # reportlib/notebooks and reportlib/templates point at the top-level folders, so the
    # wheel carries exactly what analysts edit (tests/test_wheel.py builds and lists it).
    package = resources.PACKAGE_DIR
    for kind in ("notebooks", "templates"):
        link = package / kind
        assert link.is_symlink() and link.readlink() == Path("..") / kind
        assert resources.packaged(kind) == (package.parent / kind).resolve()
    assert resources.packaged("fonts") == (package.parent / "templates" / "fonts").resolve()
