"""The sample project's configuration: the packaged defaults, adapted to three levels.

`write_default_config` copies kpis.yaml, segments.yaml, targets.csv and distribution.yaml
into a config folder where they are missing (it never overwrites a file the user may have
edited). A three-level sample gets a segments.yaml naming the `branch` level and its
branches, and a distribution.yaml whose LATAM lead receives every LATAM branch and which
adds a branch manager, so that sending works on the whole tree out of the box.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import yaml

from .. import fileio
from . import branches as branch_mod
from .company import LEVELS, Shape

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILES = ("kpis.yaml", "segments.yaml", "targets.csv", "distribution.yaml")


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"packaged default changed: {old!r} not found exactly once")
    return text.replace(old, new)


def _segments(text: str, shape: Shape) -> str:
    """segments.yaml with the third level and the display names of its branches."""
    text = _replace_once(
        text, "<segment>/<region>.", "<segment>/<region>, <segment>/<region>/<branch>."
    )
    text = _replace_once(text, "levels: [segment, region]", f"levels: [{', '.join(LEVELS)}]")
    names = dict(
        zip(branch_mod.values(shape.branches), branch_mod.names(shape.branches), strict=True)
    )
    block = "".join(f"    {value}: {name}\n" for value, name in names.items())
    return _replace_once(text, "    latam: LATAM\n", "    latam: LATAM\n  branch:\n" + block)


def _distribution(text: str, shape: Shape) -> str:
    """distribution.yaml where the LATAM lead gets every LATAM branch, plus a branch manager."""
    latam = (
        "    nodes: [enterprise/latam, mid-market/latam, smb/latam]\n    include_children: false\n"
    )
    text = _replace_once(text, latam, latam.replace("false", "true"))
    first = branch_mod.values(shape.branches)[-shape.branches]  # the first LATAM branch
    name = branch_mod.names(shape.branches)[-shape.branches]
    nodes = ", ".join(f"{segment}/latam/{first}" for segment in ("enterprise", "mid-market", "smb"))
    return text + (
        f"  - name: Ana Souza\n"
        f"    email: branch-{first}@example.com\n"
        f"    # The {name} branch manager: the branch in every segment.\n"
        f"    nodes: [{nodes}]\n"
        f"    include_children: false\n"
    )


def default_text(name: str, shape: Shape | None = None) -> str:
    """The text of default file `name` for a sample of `shape` (two levels when None)."""
    text = (resources.files("reportlib") / "defaults" / name).read_text(encoding="utf-8")
    if shape is None or shape.levels == 2:
        return text
    if name == "segments.yaml":
        return _segments(text, shape)
    if name == "distribution.yaml":
        return _distribution(text, shape)
    return text


def write_default_config(
    config_dir: Path, *, levels: int = 2, branches: int = 0
) -> tuple[Path, ...]:
    """Copy the default kpis/segments/targets/distribution files into `config_dir` where missing.

    With `levels=3` segments.yaml and distribution.yaml are those of a three-level company
    with `branches` branches per region. An existing file is kept (with a warning when its
    levels differ from the data's).
    """
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    shape = Shape(levels=levels, branches=branches)
    written: list[Path] = []
    for name in DEFAULT_CONFIG_FILES:
        target = config_dir / name
        if target.exists():
            log.debug("keeping existing %s", target)
            if name == "segments.yaml":
                _warn_if_other_levels(target, shape)
            continue
        if shape.levels == 2:  # the packaged bytes, exactly
            data = (resources.files("reportlib") / "defaults" / name).read_bytes()
            fileio.write_bytes(target, data)
        else:
            fileio.write_text(target, default_text(name, shape))
        written.append(target)
        log.info("wrote default %s", target)
    return tuple(written)


def _warn_if_other_levels(path: Path, shape: Shape) -> None:
    try:
        found = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("levels")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        return
    want = list(LEVELS[: shape.levels])
    if isinstance(found, list) and found != want:
        log.warning(
            "kept %s, whose levels %s differ from the sample's %s: edit it or remove it "
            "to get the sample's",
            path,
            found,
            want,
        )
