"""The output contract: every file reportlib writes under `output/`, named in one place.

DESIGN.md "Outputs" lists the files; this module is their only owner. Everything else asks
a `PeriodOutput` (one period's folder) or an `OutputRoot` (the whole output folder) for a
path instead of joining names itself, so a file can be renamed or moved by changing one
line here. `run` and `send` build the layout once and pass it down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import periods

_PERIOD_NAME = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# The names of the files, each written once. Keep this block the only place they appear.
SCORECARD_CSV = "scorecard.csv"
SCORECARD_PARQUET = "scorecard.parquet"
HISTORY_PARQUET = "history.parquet"
MANUAL_VALUES_CSV = "manual_values.csv"
CHANNELS_PARQUET = "channels.parquet"
VERBATIMS_PARQUET = "verbatims.parquet"
QUALITY_DIR = "quality"
QUALITY_REPORT = "report.json"
REJECTED_SUFFIX = ".rejected.csv"
MANIFEST_JSON = "manifest.json"
DELIVERIES_JSONL = "deliveries.jsonl"
OUTBOX_DIR = "outbox"
VERSIONS_DIR = "versions"
VERSION_INFO_JSON = "version.json"
RESTATEMENT_CSV = "restatement.csv"
NOTEBOOKS_DIR = "notebooks"
PREVIEW_DIR = "preview"
PREVIEW_INDEX = "index.html"
PREVIEW_PAGE = "page-{:02d}.png"
PACK_PDF = "board-pack.pdf"
SCORECARD_NOTEBOOK = "scorecard.ipynb"
BOARD_PACK_NOTEBOOK = "board_pack.ipynb"
AUDIT_LOG = "audit.jsonl"
AUDIT_HEAD = "audit.head.json"
LOCK_FILE = ".lock"
LOCK_HOLDER = ".lock.json"

SCORECARD_FILES = (SCORECARD_CSV, SCORECARD_PARQUET, HISTORY_PARQUET)
"""The files a compute writes for the figures; a restatement keeps copies of these."""


def is_period_name(name: str) -> bool:
    """True for a folder name that is a month `YYYY-MM` (a period folder)."""
    return bool(_PERIOD_NAME.match(name))


@dataclass(frozen=True)
class PeriodOutput:
    """`output/<period>/`: every file of one period's run, by name (DESIGN.md "Outputs")."""

    root: Path
    """The output folder (settings `output_dir`), not the period folder."""
    period: str

    @property
    def dir(self) -> Path:
        return self.root / self.period

    # --- the figures -------------------------------------------------------------------
    @property
    def scorecard_csv(self) -> Path:
        return self.dir / SCORECARD_CSV

    @property
    def scorecard_parquet(self) -> Path:
        return self.dir / SCORECARD_PARQUET

    @property
    def history(self) -> Path:
        return self.dir / HISTORY_PARQUET

    @property
    def scorecard_files(self) -> tuple[Path, ...]:
        """scorecard.csv, scorecard.parquet and history.parquet, in that order."""
        return tuple(self.dir / name for name in SCORECARD_FILES)

    @property
    def manual_values(self) -> Path:
        return self.dir / MANUAL_VALUES_CSV

    @property
    def channels(self) -> Path:
        """Survey and ticket KPIs of every node by channel this month (`channels`)."""
        return self.dir / CHANNELS_PARQUET

    @property
    def verbatims(self) -> Path:
        """This month's survey comments, redacted, with the node keys (`verbatims`)."""
        return self.dir / VERBATIMS_PARQUET

    # --- data quality ------------------------------------------------------------------
    @property
    def quality_dir(self) -> Path:
        return self.dir / QUALITY_DIR

    @property
    def quality_report(self) -> Path:
        return self.quality_dir / QUALITY_REPORT

    def rejected(self, table: str) -> Path:
        """`quality/<table>.rejected.csv`: the quarantined rows of one table."""
        return self.quality_dir / f"{table}{REJECTED_SUFFIX}"

    # --- the run's records -------------------------------------------------------------
    @property
    def manifest(self) -> Path:
        return self.dir / MANIFEST_JSON

    @property
    def deliveries(self) -> Path:
        return self.dir / DELIVERIES_JSONL

    @property
    def outbox(self) -> Path:
        return self.dir / OUTBOX_DIR

    @property
    def lock(self) -> Path:
        return self.dir / LOCK_FILE

    @property
    def lock_holder(self) -> Path:
        """Who holds the lock (pid, host, command, since), beside the lock file."""
        return self.dir / LOCK_HOLDER

    # --- restatements ------------------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.dir / VERSIONS_DIR

    def version_dir(self, n: int) -> Path:
        return self.versions_dir / str(n)

    def version_info(self, n: int) -> Path:
        return self.version_dir(n) / VERSION_INFO_JSON

    @property
    def restatement(self) -> Path:
        return self.dir / RESTATEMENT_CSV

    # --- notebooks and packs -----------------------------------------------------------
    @property
    def scorecard_notebook(self) -> Path:
        """The executed scorecard notebook, `notebooks/scorecard.ipynb`."""
        return self.dir / NOTEBOOKS_DIR / SCORECARD_NOTEBOOK

    def node_dir(self, node: str) -> Path:
        """`<period>/<node>/`: a node id `a/b` is a nested folder."""
        return self.dir.joinpath(*node.split("/"))

    def pack_pdf(self, node: str) -> Path:
        return self.node_dir(node) / PACK_PDF

    def executed_notebook(self, node: str) -> Path:
        return self.node_dir(node) / BOARD_PACK_NOTEBOOK

    def preview_dir(self, node: str) -> Path:
        return self.dir.joinpath(PREVIEW_DIR, *node.split("/"))

    def preview_index(self, node: str) -> Path:
        """`preview/<node>/index.html`: the pack's pages in one HTML page (`reportlib preview`)."""
        return self.preview_dir(node) / PREVIEW_INDEX

    def preview_page(self, node: str, page: int) -> Path:
        """`preview/<node>/page-03.png`: page `page` (1-based) of the pack as a PNG."""
        return self.preview_dir(node) / PREVIEW_PAGE.format(page)

    def nodes(self) -> list[str]:
        """The node ids of the computed scorecard, in its order ([] before a compute)."""
        if not self.scorecard_parquet.is_file():
            return []
        column = pd.read_parquet(self.scorecard_parquet, columns=["node"])["node"]
        return list(dict.fromkeys(column.astype(str)))

    def unlisted(self) -> frozenset[Path]:
        """Files the manifest does not list: itself, the send log and the lock."""
        return frozenset({self.manifest, self.deliveries, self.lock, self.lock_holder})


@dataclass(frozen=True)
class OutputRoot:
    """The whole output folder: the period folders and the files that span periods."""

    root: Path

    def period(self, period: str) -> PeriodOutput:
        return PeriodOutput(self.root, period)

    @property
    def audit_log(self) -> Path:
        return self.root / AUDIT_LOG

    @property
    def audit_head(self) -> Path:
        """The audit log's anchor: its entry count and last line's hash, kept outside it."""
        return self.root / AUDIT_HEAD

    def periods(self, cadence: periods.CadenceName | None = "month") -> Iterator[str]:
        """Every period folder of `cadence` under the output folder, in calendar order.

        Months by default (the latest month is the default period of several commands);
        `quarter` or `ytd` for those folders (`2026-Q3/`, `2026-09-YTD/`), None for all of
        them, ordered by their last month (a month before the quarter it ends).
        """
        if not self.root.is_dir():
            return iter(())
        if cadence == "month":
            return iter(sorted(d.name for d in self.root.iterdir() if is_period_name(d.name)))
        found = [
            d.name
            for d in self.root.iterdir()
            if periods.any_problem(d.name) is None
            and (cadence is None or periods.cadence_of(d.name).name == cadence)
        ]
        rank = {name: i for i, name in enumerate(periods.CADENCES)}
        return iter(
            sorted(
                found,
                key=lambda p: (periods.months_of(p)[1], rank[periods.cadence_of(p).name], p),
            )
        )

    def computed_periods(self) -> list[str]:
        """The periods that have a computed scorecard, in calendar order."""
        return [p for p in self.periods() if self.period(p).scorecard_parquet.is_file()]

    def latest_computed(self) -> str | None:
        """The latest period with a computed scorecard, or None."""
        found = self.computed_periods()
        return found[-1] if found else None


def checked(root: Path, period: str) -> PeriodOutput:
    """`PeriodOutput(root, period)` once `period` is checked to be a real month, quarter
    (`2026-Q3`) or year to date (`2026-09-YTD`) (else ConfigError)."""
    periods.check(period)
    return PeriodOutput(root, period)
