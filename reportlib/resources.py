"""Where reportlib's own notebooks, templates and fonts are, and the one Jinja2 factory.

They ship inside the package (`reportlib/notebooks`, `reportlib/templates`, fonts under
`templates/fonts`), so an installed wheel runs without the repository. In the repository
those two package folders are symbolic links to the top-level `notebooks/` and
`templates/` that analysts edit; building the wheel copies the files they point at.

A project may override any of them: a file in the project's own `notebooks/` or
`templates/` folder (beside its settings file) is used instead of the packaged one of the
same name. Every module asks this one for a resource; nobody else walks up from
`__file__`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import jinja2

Kind = Literal["notebooks", "templates", "fonts"]

PACKAGE_DIR = Path(__file__).parent
"""The installed package: it holds reportlib's own notebooks/ and templates/."""


def packaged(kind: Kind) -> Path:
    """reportlib's own folder of `kind` (fonts live under templates/fonts).

    Resolved, so that in the repository it names the top-level folder the package's
    link points at (one spelling of each path in messages and comparisons).
    """
    if kind == "fonts":
        return (PACKAGE_DIR / "templates" / "fonts").resolve()
    return (PACKAGE_DIR / kind).resolve()


def folder(root: Path, kind: Kind, name: str) -> Path:
    """The folder to read `name` of `kind` from: the project's own when it has that file."""
    own = root / kind
    return own if (own / name).is_file() else packaged(kind)


def find(root: Path, kind: Kind, name: str) -> Path:
    """The file `name` of `kind`: the project's own copy under `root` if present, else ours.

    Raises FileNotFoundError naming both places when neither has it.
    """
    path = folder(root, kind, name) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{kind[:-1]} {name} not found in {root / kind} or {packaged(kind)}"
        )
    return path


def jinja_environment(
    templates: Path | None = None, *, html: bool = True, strict: bool = True
) -> jinja2.Environment:
    """The Jinja2 environment every template is rendered with.

    Autoescaping for HTML (data never becomes markup), undefined names are errors, and
    block tags leave no stray blank lines. `templates=None` gives an environment for
    templates from strings (e.g. an email subject from the settings).
    """
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)) if templates is not None else None,
        autoescape=html,
        undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
