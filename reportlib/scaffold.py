"""What `reportlib init` writes: a starting configuration made to fit a company's own data.

`survey` looks at the data: which canonical tables the source holds (a folder of
CSV/Parquet files, a `.duckdb` file or a database URL) and the customers table's
columns. Every customers column that is not one reportlib knows (`customer_id`,
`acquired_on`, `churned_on`) and holds few distinct values is taken as a level of the
hierarchy, in the column order of the table. `plan` turns that into the text of five
files, each starting from the packaged defaults (`reportlib/defaults/`):

- the settings file (`reportlib.toml`), pointing at the data;
- `segments.yaml` with the levels found, a display name for each value, and only the
  perspectives that have a KPI;
- `kpis.yaml` with only the KPIs whose table is in the data;
- `targets.csv` with the company-wide (`*`) rows of those KPIs, example values to replace;
- `distribution.yaml` with one placeholder recipient of the company-wide pack.

`write` never replaces a file: what exists is kept and reported. When the folder
already has a settings file, its `data_dir` and `source` are used.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path

import pandas as pd
import yaml

from . import configfile, fileio, kpis
from .config import Settings, TableSettings, load_settings
from .errors import ConfigError, DataError
from .sources import TABLES, database, encoding, files, table_specs

log = logging.getLogger(__name__)

SETTINGS_FILE = "reportlib.toml"
CONFIG_FILES = ("segments.yaml", "kpis.yaml", "targets.csv", "distribution.yaml")
"""The files `init` writes into the data folder (`data_dir`), beside the settings file's."""

MAX_LEVEL_VALUES = 50
"""A customers column with more distinct values than this is not a hierarchy level, unless
it nests under the levels found before it with at most this many values under each."""

MAX_NESTED_VALUES = 2_000
"""The most distinct values a nested level (e.g. branches under regions) may have in all."""


DELIMITERS = (",", ";", "\t", "|")

MAX_SURVEY_ROWS = 1_000_000
"""Customers read from a database to choose the levels (enough to see every level value)."""


@dataclass(frozen=True)
class ColumnSurvey:
    """One customers column that is not a known one: its distinct values, and the verdict."""

    name: str
    values: tuple[str, ...]
    """Its distinct non-empty values, sorted (only kept up to MAX_NESTED_VALUES + 1)."""
    level: bool
    reason: str


@dataclass(frozen=True)
class DataSurvey:
    """What `init` found in the data."""

    source: str
    """The source as the settings file will say it (relative to the project when inside it)."""
    tables: dict[str, str]
    """Each canonical table present, and where (its file, or `<source>:<table>`)."""
    customer_rows: int
    columns: tuple[ColumnSurvey, ...]
    notes: tuple[str, ...] = ()
    """Things the settings must say about the files (e.g. a `;`-separated CSV)."""

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.level)


@dataclass(frozen=True)
class Planned:
    """One file `init` would write."""

    path: Path
    text: str
    what: str
    """What is in it, in a few words, for the summary."""


@dataclass(frozen=True)
class Plan:
    """What `init` would write, and why."""

    survey: DataSurvey
    settings_file: Path
    files: tuple[Planned, ...]
    kpis: tuple[str, ...]
    """The KPIs of kpis.yaml."""
    dropped: dict[str, str]
    """KPIs of the defaults left out, and the table each lacks."""


@dataclass(frozen=True)
class InitResult:
    survey: DataSurvey
    settings_file: Path
    written: tuple[Planned, ...]
    kept: tuple[Planned, ...]
    kpis: tuple[str, ...]
    dropped: dict[str, str] = field(default_factory=dict)
    """KPIs of the defaults left out, and the table each lacks."""


# --- the data ------------------------------------------------------------------------


def default_source(folder: Path) -> Path:
    """The folder's data: `data/`, the folder itself, or the first folder under `data/`
    (sorted by name) that holds a customers table."""
    data = folder / "data"
    candidates = [data, folder]
    if data.is_dir():
        candidates += sorted(p for p in data.iterdir() if p.is_dir())
    for c in candidates:
        if c.is_dir() and files.locate(c, "customers") is not None:
            return c
    raise ConfigError(
        f"no customers table (customers.csv or customers.parquet) in {data}, {folder} "
        f"or a folder under {data}: pass --source with the folder of your exports"
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return str(path.resolve())


def _sniff_delimiter(path: Path, codec: str) -> str:
    with path.open(newline="", encoding=codec, errors="replace") as fh:
        header = fh.readline()
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_customers_file(
    path: Path, mapping: TableSettings | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The customers table of a file as text (canonical column names), and notes on how
    it is written."""
    renamed = {user: canonical for canonical, user in (mapping.columns if mapping else {}).items()}
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype("string").rename(columns=renamed), []
    enc = mapping.encoding if mapping and mapping.encoding else encoding.detect(path)
    codec = encoding.python_codec(enc)
    delimiter = mapping.delimiter if mapping else _sniff_delimiter(path, codec)
    notes = []
    if mapping is None and delimiter != ",":
        shown = {"\t": "tab", ";": "semicolon", "|": "pipe"}[delimiter]
        notes.append(
            f"{path.name} is {shown}-separated: say so in the table's settings "
            "(see docs/sources.md), as reportlib reads commas by default"
        )
    frame = pd.read_csv(
        path, sep=delimiter, dtype=str, keep_default_na=False, encoding=codec, engine="python"
    )
    return frame.rename(columns=renamed), notes


def _survey_columns(frame: pd.DataFrame) -> tuple[int, tuple[ColumnSurvey, ...]]:
    """How many customers, and the verdict on each column that is not a known one.

    A column is a level when it has between 2 and MAX_LEVEL_VALUES values and is not nearly
    one per customer. A column with more values is still a level when it nests under the
    levels found before it (branches under segment and region): at most MAX_LEVEL_VALUES
    values under each combination of theirs, and MAX_NESTED_VALUES in all.
    """
    known = {c.name for c in table_specs(())[0].columns}
    rows = len(frame)
    out = []
    levels: list[str] = []
    cleaned = frame.astype("string").apply(lambda col: col.str.strip().replace("", pd.NA))
    for name in frame.columns:
        if name in known:
            continue
        series = cleaned[name].dropna()
        distinct = sorted(set(series))
        n = len(distinct)
        widest = _widest_group(cleaned, levels, str(name)) if levels else n
        if n < 2:
            level, reason = False, "one value only" if n == 1 else "empty"
        elif n > max(2, rows // 2):
            level, reason = False, f"{n} values in {rows} rows: nearly one per customer"
        elif n <= MAX_LEVEL_VALUES:
            level, reason = True, f"{n} values"
        elif levels and widest <= MAX_LEVEL_VALUES and n <= MAX_NESTED_VALUES:
            level = True
            reason = f"{n} values, at most {widest} under each {' × '.join(levels)}"
        else:
            level, reason = False, f"more than {MAX_LEVEL_VALUES} values"
            if levels and n <= MAX_NESTED_VALUES:
                reason += f" ({widest} under one {' × '.join(levels)})"
        if level:
            levels.append(str(name))
        out.append(ColumnSurvey(str(name), tuple(distinct[: MAX_NESTED_VALUES + 1]), level, reason))
    return rows, tuple(out)


def _widest_group(frame: pd.DataFrame, levels: Sequence[str], name: str) -> int:
    """The most distinct values of `name` under one combination of the `levels` above it."""
    kept = frame[[*levels, name]].dropna(subset=[name])
    return int(kept.groupby(list(levels), dropna=False)[name].nunique().max())


def _survey_database(
    source: str, mapping: Mapping[str, TableSettings]
) -> tuple[dict[str, str], pd.DataFrame]:
    """The canonical tables a database holds (under their own names, or the table or
    query the mapping gives) and the first rows of its customers table."""
    import ibis

    try:
        con = (
            ibis.duckdb.connect(source, read_only=True)
            if "://" not in source
            else ibis.connect(source)
        )
    except Exception as e:  # any backend's connection failure is a data-source problem
        raise DataError(
            f"cannot connect to {database.shown(source)}: {e}", file=database.shown(source)
        ) from e
    try:
        names = set(con.list_tables())
        tables = {}
        for t in TABLES:
            own = mapping.get(t)
            name = own.table if own is not None and own.table else t
            if own is not None and own.query:
                tables[t] = f"{database.shown(source)}: query"
            elif name in names:
                tables[t] = f"{database.shown(source)}:{name}"
        if "customers" not in tables:
            raise DataError(
                f"no customers table in {database.shown(source)}", file=database.shown(source)
            )
        own = mapping.get("customers")
        customers = (
            con.sql(own.query)
            if own is not None and own.query
            else con.table(own.table if own is not None and own.table else "customers")
        )
        frame = customers.limit(MAX_SURVEY_ROWS).execute().astype("string")
    finally:
        con.disconnect()
    renamed = {user: canonical for canonical, user in (own.columns if own else {}).items()}
    return tables, frame.rename(columns=renamed)


def survey(
    source: str, root: Path, mapping: Mapping[str, TableSettings] | None = None
) -> DataSurvey:
    """Look at the data of `source` (a folder, `.duckdb` file or URL; relative to `root`).

    `mapping` is the settings' per-table mapping when a settings file exists already: its
    file names, delimiters, encodings and column renames are applied, so a company whose
    exports are not in the canonical shape writes the mapping first and then runs `init`.
    """
    mapping = mapping or {}
    if database.is_database(source):
        where = database.url_for(source, root) if "://" in source else str(_path(source, root))
        tables, frame = _survey_database(where, mapping)
        notes: list[str] = []
        shown = source if "://" in source else _relative(Path(where), root)
    else:
        folder = _path(source, root)
        if not folder.is_dir():
            raise DataError("the source folder does not exist", file=str(folder))
        found = {
            t: p
            for t in TABLES
            if (p := files.locate(folder, t, m.file if (m := mapping.get(t)) else None)) is not None
        }
        if "customers" not in found:
            raise DataError(
                "no customers table (customers.csv or customers.parquet) in the source folder",
                file=str(folder),
            )
        tables = {t: str(p) for t, p in found.items()}
        frame, notes = _read_customers_file(found["customers"], mapping.get("customers"))
        shown = _relative(folder, root)
    missing = [c.name for c in table_specs(())[0].columns if c.name not in frame.columns]
    if missing:
        notes.append(
            f"the customers table has no {', '.join(missing)} column: map your column names "
            "in the table's settings (see docs/sources.md); `reportlib doctor` checks them"
        )
    rows, columns = _survey_columns(frame)
    log.info("init: tables %s; levels %s", ", ".join(tables), [c.name for c in columns if c.level])
    return DataSurvey(shown, tables, rows, columns, tuple(notes))


def _path(p: str, root: Path) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else root / path


# --- the files -----------------------------------------------------------------------


def _default(name: str) -> str:
    return (importlib_resources.files("reportlib") / "defaults" / name).read_text(encoding="utf-8")


_KPI_ITEM = re.compile(r"^  - id: *([a-z][a-z0-9_]*) *$", re.M)


def kpis_text(tables: Sequence[str]) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """The default kpis.yaml without the KPIs whose table is absent; kept ids, dropped ones.

    The file is cut at each `  - id:` line so its comments and layout are kept as written.
    """
    text = _default("kpis.yaml")
    starts = [m.start() for m in _KPI_ITEM.finditer(text)]
    head, blocks = (
        text[: starts[0]],
        [text[a:b] for a, b in itertools.pairwise([*starts, len(text)])],
    )
    kept, dropped, out = [], {}, []
    for block in blocks:
        m = _KPI_ITEM.match(block)
        assert m is not None
        kpi = m.group(1)
        formula = kpis.BUILTINS.get(kpi)
        missing = [t for t in formula.tables if t not in tables] if formula else []
        if missing:
            dropped[kpi] = ", ".join(missing)
            continue
        kept.append(kpi)
        out.append(block)
    note = ""
    if dropped:
        note = (
            "# Left out by `reportlib init` (their table is not in the data): "
            + ", ".join(f"{k} ({t})" for k, t in dropped.items())
            + ".\n"
        )
    result = head.replace("kpis:\n", note + "kpis:\n", 1) + "".join(out)
    if not result.endswith("\n"):
        result += "\n"
    return result, tuple(kept), dropped


def targets_text(kpis: Sequence[str]) -> str:
    """The company-wide (`*`) rows of the default targets for the kept KPIs (example values)."""
    reader = csv.DictReader(io.StringIO(_default("targets.csv")))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=reader.fieldnames or (), lineterminator="\n")
    writer.writeheader()
    for row in reader:
        if row["node"] == "*" and row["kpi"] in kpis:
            writer.writerow(row)
    return buf.getvalue()


def segments_text(company: str, data: DataSurvey, kpis: Sequence[str]) -> str:
    """segments.yaml: the company, the levels found, their values as display names."""
    default = yaml.safe_load(_default("segments.yaml"))
    kpi_perspectives = {
        k["id"]: k["perspective"] for k in yaml.safe_load(_default("kpis.yaml"))["kpis"]
    }
    used = {kpi_perspectives.get(k) for k in kpis}
    levels = data.levels
    lines = [
        "# Hierarchy of the scorecards and the perspectives of the pack (written by `reportlib init`).",
        yaml.safe_dump({"company": company}, allow_unicode=True).rstrip(),
        "# Columns of the customers table, from the top down: the nodes are all, <level 1>,",
        "# <level 1>/<level 2>, ... Remove a level to leave it out of the scorecards.",
        "levels: " + json.dumps(list(levels), ensure_ascii=False),
    ]
    skipped = [c for c in data.columns if not c.level]
    if skipped:
        lines.append(
            "# Not taken as levels: " + ", ".join(f"{c.name} ({c.reason})" for c in skipped) + "."
        )
    lines.append(
        "# Display names of the values of each level (a value without one is title-cased)."
    )
    names = {c.name: {v: display_name(v) for v in c.values} for c in data.columns if c.level}
    if names:
        lines.append(yaml.safe_dump({"names": names}, allow_unicode=True, sort_keys=False).rstrip())
    else:
        lines.append("names: {}")
    lines.append("# Perspectives in the order the pack shows them; weights for the overall score.")
    lines.append("perspectives:")
    for p in default["perspectives"]:
        item = f"  - {{id: {p['id']}, name: {p['name']}, weight: {p.get('weight', 1)}}}"
        if p["id"] in used:
            lines.append(item)
        else:
            lines.append(f"# {item.strip()}  (no KPI of kpis.yaml yet)")
    return "\n".join(lines) + "\n"


def display_name(value: str) -> str:
    """A starting display name: the value as written when it has capitals ("DE", "München"),
    else title-cased as reportlib would show it ("mid-market" → "Mid Market")."""
    if value != value.lower():
        return value
    return value.replace("-", " ").replace("_", " ").title()


def distribution_text() -> str:
    """distribution.yaml: the default sender and delivery settings, one placeholder recipient
    of the company-wide pack."""
    text = _default("distribution.yaml")
    head = text[: text.index("\nrecipients:")]
    return (
        head
        + "\n# Replace with the real people. nodes are node ids: all, <value>, <value>/<value>\n"
        "# (the folders of output/<period>/); include_children: true adds every pack below them.\n"
        "recipients:\n"
        "  - name: Board\n"
        "    email: board@example.com\n"
        "    nodes: [all]\n"
        "    include_children: false\n"
    )


def settings_text(source: str, data_dir: str = "data") -> str:
    """reportlib.toml: where the data and configuration are, and the usual settings."""
    return (
        "# reportlib settings, written by `reportlib init`; paths are relative to this file.\n"
        "# kpis.yaml, segments.yaml, targets.csv and distribution.yaml are in data_dir.\n"
        f"data_dir = {_toml_string(data_dir)}\n"
        "# The input tables: a folder of CSV/Parquet files, a .duckdb file or a database URL.\n"
        f"source = {_toml_string(source)}\n"
        'output_dir = "output"\n'
        "# Months are calendar months in this time zone; timestamps without a zone are read in it.\n"
        'timezone = "UTC"\n'
        'currency = "USD"\n'
        "# The data cut-off; by default the latest timestamp of the surveys and tickets.\n"
        '# as_of = "2026-03-31T23:59:59"\n'
        "\n"
        "[quality]\n"
        "# Allow negative invoices (credit notes) instead of quarantining them.\n"
        "allow_credit_notes = true\n"
        "\n"
        "# The mail server of `reportlib send` (the password only from REPORTLIB_SMTP_PASSWORD).\n"
        "# [smtp]\n"
        '# host = "smtp.example.com"\n'
        "# port = 587\n"
        '# security = "starttls"\n'
    )


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def existing_settings(folder: Path) -> Path | None:
    """The folder's own settings file: reportlib.toml, or a pyproject.toml with [tool.reportlib]."""
    if (folder / SETTINGS_FILE).is_file():
        return folder / SETTINGS_FILE
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and configfile.read(pyproject):
        return pyproject
    return None


def plan(folder: Path, source: str | None = None, company: str | None = None) -> Plan:
    """The files `init` would write in `folder`, made from what the data holds."""
    folder = folder.resolve()
    settings_file = existing_settings(folder)
    settings: Settings | None = None
    if settings_file is not None:
        settings = load_settings(settings_file)
        data_path = settings.data_path
        src = source if source is not None else settings.source
    else:
        settings_file = folder / SETTINGS_FILE
        data_path = folder / "data"
        src = source if source is not None else str(default_source(folder))
    if source is not None and "://" not in source:
        src = str(Path(source).expanduser().resolve())
    data = survey(src, folder, settings.tables if settings is not None else None)
    kpis, kept, dropped = kpis_text(tuple(data.tables))
    name = company or folder.name.replace("-", " ").replace("_", " ").title() or "Company"
    files = [
        Planned(
            settings_file,
            settings_text(data.source) + "".join(f"\n# NOTE: {n}\n" for n in data.notes),
            f"settings, source {data.source}",
        ),
        Planned(
            data_path / "segments.yaml",
            segments_text(name, data, kept),
            "levels " + (", ".join(data.levels) or "none (one scorecard for the company)"),
        ),
        Planned(data_path / "kpis.yaml", kpis, f"{len(kept)} KPIs the data supports"),
        Planned(
            data_path / "targets.csv",
            targets_text(kept),
            "company-wide (*) targets: example values to replace",
        ),
        Planned(
            data_path / "distribution.yaml",
            distribution_text(),
            "one placeholder recipient: put in the real people",
        ),
    ]
    return Plan(data, settings_file, tuple(files), kept, dropped)


def init(folder: Path, source: str | None = None, company: str | None = None) -> InitResult:
    """Write the starting configuration of `folder`; never replace a file that exists."""
    planned = plan(folder, source, company)
    folder.mkdir(parents=True, exist_ok=True)
    written, existing = [], []
    for f in planned.files:
        if f.path.exists() or f.path.is_symlink():
            log.info("init: keeping %s", f.path)
            existing.append(f)
            continue
        fileio.write_text(f.path, f.text)
        written.append(f)
    return InitResult(
        planned.survey,
        planned.settings_file,
        tuple(written),
        tuple(existing),
        planned.kpis,
        planned.dropped,
    )
