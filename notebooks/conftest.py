"""nbval (`pytest --nbval-lax`, part of `make test`) runs these notebooks top to bottom with their defaults.

The defaults find the project from the working directory or $REPORTLIB_CONFIG. So that the
check neither needs nor touches the repository's data/ and output/, the first notebook cell
to run creates a small sample project in a temporary folder and points $REPORTLIB_CONFIG at
it; the kernel nbval then starts inherits it. Everything is removed at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_PROJECT = pytest.StashKey[Path]()
_PREVIOUS = pytest.StashKey[str | None]()


def _make_project() -> Path:
    from reportlib.sample import generate_sample

    root = Path(tempfile.mkdtemp(prefix="reportlib-nbval-"))
    generate_sample(root / "data" / "sample", customers=400, months=14, config_dir=root / "data")
    config = root / "reportlib.toml"
    config.write_text(
        'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\n', encoding="utf-8"
    )
    return config


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first notebook's kernel starts: the sample project and $REPORTLIB_CONFIG."""
    if not item.nodeid.endswith(".ipynb") and ".ipynb::" not in item.nodeid:
        return
    config = item.config
    if _PROJECT in config.stash:
        return
    config.stash[_PREVIOUS] = os.environ.get("REPORTLIB_CONFIG")
    config.stash[_PROJECT] = _make_project()
    os.environ["REPORTLIB_CONFIG"] = str(config.stash[_PROJECT])


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PROJECT not in config.stash:
        return
    previous = config.stash[_PREVIOUS]
    if previous is None:
        os.environ.pop("REPORTLIB_CONFIG", None)
    else:
        os.environ["REPORTLIB_CONFIG"] = previous
    shutil.rmtree(config.stash[_PROJECT].parent, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebook cells run in a real kernel: they belong to the slow tests.

    The cells of a notebook share one kernel and run in order, so `make test` runs this folder
    in one process, after the tests/ folder has run on every core.
    """
    for item in items:
        if ".ipynb" in item.nodeid:
            item.add_marker(pytest.mark.slow)
