"""The sandbox: a run, compute or validate that writes under a folder of the analyst's choice.

An analyst trying a KPI definition or a chart wants the whole output (figures, quality
files, notebooks, packs, manifest) without restating the official record or adding to
its audit log. `sandboxed` returns the project with its output folder moved to the
sandbox folder; everything downstream already takes the output folder from the settings,
so nothing else needs to know. The sandbox keeps its own audit log and anchors inside
the sandbox folder (a sandbox is a complete output folder of its own, `audit verify`
reads it like the official one), and the official folder is never opened for writing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .config import Project
from .errors import ConfigError

log = logging.getLogger(__name__)


def sandboxed(project: Project, folder: Path) -> Project:
    """`project` writing under `folder` (relative to the working directory, as typed).

    Refused with a ConfigError when `folder` is the official output folder or inside it,
    where a sandbox would overwrite or mix with the official record.
    """
    target = folder.expanduser().resolve()
    official = project.settings.output_path.resolve()
    if target == official or official in target.parents:
        raise ConfigError(
            f"--output-dir {folder}: is the official output folder {official}"
            + ("" if target == official else " or inside it")
            + "; give a folder outside it"
        )
    log.info("sandbox: writing under %s instead of %s", target, official)
    settings = project.settings.model_copy(update={"output_dir": target})
    return project.model_copy(update={"settings": settings})
