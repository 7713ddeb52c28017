"""Project configuration: settings, KPI catalogue, hierarchy, targets (DESIGN.md "Inputs").

Everything here is an immutable pydantic model read from the project's files:
`[tool.reportlib]` in pyproject.toml (or a reportlib.toml, read by `configfile`), `data/kpis.yaml`,
`data/segments.yaml` and `data/targets.csv`. Problems become a ConfigError that
names the file and the field.
"""

from __future__ import annotations

import codecs
import csv
import math
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import configfile, locales, periods
from .catalogue import PARAMETERS as PARAMETERS  # the KPI records, re-exported
from .catalogue import SURVEY_SCALES as SURVEY_SCALES
from .catalogue import TOP_BOX_DEFAULT as TOP_BOX_DEFAULT
from .catalogue import UNITS as UNITS
from .catalogue import Definition as Definition
from .catalogue import Direction as Direction
from .catalogue import KpiDef as KpiDef
from .catalogue import KpiVersion as KpiVersion
from .catalogue import SlaMetBy as SlaMetBy
from .catalogue import Unit as Unit
from .errors import ConfigError
from .frozen import Frozen as Frozen  # the one frozen base, re-exported

CONFIG_ENV = configfile.CONFIG_ENV


class QualitySettings(Frozen):
    """Thresholds of the data-quality rules (DOMAIN.md §7)."""

    response_window_days: int = Field(30, ge=0)
    min_duration_seconds: float = Field(3, ge=0)
    dedupe_days: int = Field(7, ge=0)
    max_reject_share: float = Field(0.05, ge=0, le=1)
    allow_credit_notes: bool = False


class SmtpSettings(Frozen):
    """Mail server; the password is read only from REPORTLIB_SMTP_PASSWORD."""

    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    security: Literal["none", "starttls", "ssl"] = "none"
    timeout_seconds: float = 30
    allow_insecure_auth: bool = False
    """Log in over `security = "none"` (the password crosses the network in clear)."""


class TableSettings(Frozen):
    """How one canonical table is read from the user's own export or database (docs/sources.md).

    Every key is optional: an unmapped table is `<name>.csv` / `<name>.parquet` (or the table
    `<name>` of a database) with the canonical column names, commas, ISO dates and UTF-8.
    """

    file: str | None = None
    """The file in the source folder holding this table (a CSV or Parquet file name)."""
    table: str | None = None
    """The table (or view) of a database source holding this table."""
    query: str | None = None
    """A SQL query run on a database source instead of reading `table`."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Canonical column name -> the user's column name."""
    delimiter: str = ","
    decimal: Literal[".", ","] = "."
    thousands: Literal[".", ",", " ", "'", "\u00a0"] | None = None
    date_format: str | None = None
    """strptime-style formats, e.g. `%d/%m/%Y` and `%d/%m/%Y %H:%M`; default ISO 8601."""
    timestamp_format: str | None = None
    encoding: str | None = None
    """The text encoding of a CSV file (a Python codec name); default: detected."""

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str) -> str:
        if len(v) != 1 or v in '"\r\n':
            raise ValueError(
                f"delimiter must be one character (not a quote or line break), got {v!r}"
            )
        return v

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return codecs.lookup(v).name
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (a Python codec name, e.g. cp1252)") from None

    @field_validator("date_format", "timestamp_format")
    @classmethod
    def _strptime_format(cls, v: str | None) -> str | None:
        if v is not None and "%" not in v:
            raise ValueError(f"{v!r} is not a strptime format (e.g. %d/%m/%Y)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TableSettings:
        if self.thousands is not None and self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal separators are both {self.decimal!r}")
        if self.file is not None and self.table is not None:
            raise ValueError("give either file (a folder source) or table (a database), not both")
        if self.query is not None and self.table is not None:
            raise ValueError("give either table or query, not both")
        renamed = list(self.columns.values())
        twice = sorted({c for c in renamed if renamed.count(c) > 1})
        if twice:
            raise ValueError(f"column(s) {', '.join(twice)} mapped to two canonical columns")
        return self


def _known_table(name: str) -> str:
    # The canonical names live with the schema; imported here, after both modules are loaded.
    from .sources.schema import MAPPABLE

    if name not in MAPPABLE:
        raise ValueError(f"unknown table {name!r} (one of: {', '.join(MAPPABLE)})")
    return name


TableName = Annotated[str, AfterValidator(_known_table)]


class Settings(Frozen):
    """Project settings; relative paths are resolved against `root`."""

    root: Path
    data_dir: Path = Path("data")
    source: str = "data/sample"
    compute: Literal["warehouse", "local"] | None = None
    """Where a database source is validated and counted (docs/warehouse.md): in the source's
    own engine ("warehouse": PostgreSQL, Spark, a DuckDB file) or in the embedded DuckDB
    ("local"). Unset: "warehouse" for PostgreSQL and Spark, "local" for the rest."""
    output_dir: Path = Path("output")
    timezone: str = "UTC"
    currency: str = "USD"
    locale: str = locales.DEFAULT
    """Language and region of the figures and dates in packs and emails (`de_DE`), see locales."""
    trend_months: int = Field(24, ge=2, le=120)
    escalate_after: int = Field(3, ge=1)
    classification: str = "Confidential: internal use only"
    as_of: str | None = None
    workers: int = Field(0, ge=0)
    cell_timeout_seconds: int = Field(600, gt=0)
    """Longest a notebook cell may run before its node fails (papermill's execution_timeout)."""
    executor: str = "local"
    """Where the board packs render: `local` (worker processes here) or `dask` (a cluster)."""
    scheduler: str | None = None
    """The Dask scheduler's address (`tcp://host:8786`) when `executor = "dask"`."""
    quality: QualitySettings = QualitySettings()
    smtp: SmtpSettings = SmtpSettings()
    tables: dict[TableName, TableSettings] = Field(default_factory=dict)
    """Per-table mapping of the user's files, columns and formats (docs/sources.md)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        return locales.canonical(v)

    def path(self, p: Path | str) -> Path:
        """Resolve a project-relative path."""
        p = Path(p)
        return p if p.is_absolute() else (self.root / p)

    @property
    def data_path(self) -> Path:
        return self.path(self.data_dir)

    @property
    def output_path(self) -> Path:
        return self.path(self.output_dir)

    def period_dir(self, period: str) -> Path:
        """`output/<period>/`, refusing anything that is not a real month."""
        periods.check(period)
        return self.output_path / period


class Perspective(Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    weight: float = Field(1.0, gt=0)


class HierarchyConfig(Frozen):
    """`segments.yaml`: company name, hierarchy levels, display names, perspectives."""

    company: str = "Company"
    levels: tuple[str, ...] = ("segment", "region")
    names: dict[str, dict[str, str]] = Field(default_factory=dict)
    perspectives: tuple[Perspective, ...] = (
        Perspective(id="financial", name="Financial"),
        Perspective(id="customer", name="Customer"),
        Perspective(id="process", name="Internal process"),
        Perspective(id="learning", name="Learning and growth"),
    )


class Target(Frozen):
    """A row of targets.csv (DOMAIN.md §5)."""

    kpi: str
    node: str
    effective_from: str
    target: float
    threshold: float
    line: int


class ManualValue(Frozen):
    """A row of kpi_values.csv: a manual value or an override (DOMAIN.md §8)."""

    period: str
    node: str
    kpi: str
    value: float
    n: int | None
    author: str
    reason: str
    line: int


class Project(Frozen):
    """Everything configured for one project, read once and passed along."""

    settings: Settings
    kpis: tuple[KpiDef, ...]
    hierarchy: HierarchyConfig
    targets: tuple[Target, ...]
    config_file: Path

    def kpi(self, kpi_id: str) -> KpiDef:
        for k in self.kpis:
            if k.id == kpi_id:
                return k
        raise ConfigError(f"unknown KPI {kpi_id!r}")

    @property
    def perspective_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.hierarchy.perspectives)


def _pydantic_message(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(x) for x in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def find_config(explicit: Path | str | None = None, cwd: Path | None = None) -> Path:
    """The settings file: --config, $REPORTLIB_CONFIG, ./reportlib.toml, or ./pyproject.toml."""
    return configfile.find(explicit, cwd)


def load_settings(config_file: Path) -> Settings:
    """Read `[tool.reportlib]` (pyproject.toml) or reportlib.toml (flat or under that header).

    A refused setting is named with its file, line (when found) and key, in one line.
    """
    raw = configfile.read(config_file)
    try:
        return Settings(root=config_file.parent.resolve(), **raw)
    except ValidationError as e:
        first = e.errors()[0]
        # A refused mapping key (`[tables.x]`) is at `loc + ("[key]",)`: its table header is the line.
        line = configfile.key_line(config_file, tuple(first["loc"]))
        loc = tuple(x for x in first["loc"] if x != "[key]")
        where = f"{config_file} line {line}" if line else str(config_file)
        key = ".".join(str(x) for x in loc)
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown setting (see the README's configuration section)"
        raise ConfigError(
            f"{where}: {key}: {msg}" if key else f"{where}: {msg}",
            file=str(config_file),
            row=line,
        ) from e


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path} is missing", file=str(path))
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}", file=str(path)) from e


def load_kpis(path: Path) -> tuple[KpiDef, ...]:
    """Read the KPI catalogue; ids must be unique."""
    raw = _read_yaml(path)
    items = raw.get("kpis") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: expected a list under 'kpis:'", file=str(path))
    out = []
    for i, item in enumerate(items):
        try:
            out.append(KpiDef(**item))
        except (ValidationError, TypeError) as e:
            msg = _pydantic_message(e) if isinstance(e, ValidationError) else str(e)
            kid = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise ConfigError(f"{path}: KPI {kid}: {msg}", file=str(path)) from e
    seen: set[str] = set()
    for k in out:
        if k.id in seen:
            raise ConfigError(f"{path}: KPI id {k.id!r} is defined twice", file=str(path))
        seen.add(k.id)
    return tuple(out)


def load_hierarchy(path: Path) -> HierarchyConfig:
    raw = _read_yaml(path)
    try:
        return HierarchyConfig(**raw)
    except (ValidationError, TypeError) as e:
        msg = _pydantic_message(e) if isinstance(e, ValidationError) else str(e)
        raise ConfigError(f"{path}: {msg}", file=str(path)) from e


def _number(value: str, *, path: Path, line: int, column: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{path} line {line}, column {column}: {value!r} is not a number", file=str(path)
        ) from None
    if not math.isfinite(x):
        raise ConfigError(f"{path} line {line}, column {column}: {value!r} is not finite")
    return x


def load_targets(path: Path, kpis: tuple[KpiDef, ...]) -> tuple[Target, ...]:
    """Read targets.csv; KPI ids and the threshold's side are checked here, nodes later."""
    if not path.is_file():
        raise ConfigError(f"{path} is missing", file=str(path))
    by_id = {k.id: k for k in kpis}
    out: list[Target] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        thr_col = "threshold" if "threshold" in cols else "red_below_or_above"
        missing = {"kpi", "node", "effective_from", "target", thr_col} - cols
        if missing:
            raise ConfigError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}", file=str(path)
            )
        for line, row in enumerate(reader, start=2):
            kpi = (row["kpi"] or "").strip()
            if kpi not in by_id:
                raise ConfigError(f"{path} line {line}: unknown KPI {kpi!r}", file=str(path))
            eff = (row["effective_from"] or "").strip()
            try:
                periods.parse(eff)
            except ConfigError:
                raise ConfigError(
                    f"{path} line {line}, column effective_from: {eff!r} is not a month YYYY-MM",
                    file=str(path),
                ) from None
            target = _number(row["target"], path=path, line=line, column="target")
            threshold = _number(row[thr_col], path=path, line=line, column=thr_col)
            up = by_id[kpi].direction == "up"
            if (up and threshold > target) or (not up and threshold < target):
                side = "at or below" if up else "at or above"
                raise ConfigError(
                    f"{path} line {line}: threshold {threshold:g} of {kpi} must be {side} "
                    f"its target {target:g} (direction {by_id[kpi].direction})",
                    file=str(path),
                )
            out.append(
                Target(
                    kpi=kpi,
                    node=(row["node"] or "").strip() or "*",
                    effective_from=eff,
                    target=target,
                    threshold=threshold,
                    line=line,
                )
            )
    return tuple(out)


def load_project(config: Path | str | None = None) -> Project:
    """Read every configuration file of a project."""
    config_file = find_config(config)
    settings = load_settings(config_file)
    data = settings.data_path
    for name in ("kpis.yaml", "segments.yaml", "targets.csv"):
        if not (data / name).is_file():
            raise ConfigError(
                f"{data / name} is missing: run `reportlib init` to write a starting "
                "configuration made from your data (docs/getting-started.md)",
                file=str(data / name),
            )
    kpis = load_kpis(data / "kpis.yaml")
    hierarchy = load_hierarchy(data / "segments.yaml")
    perspectives = {p.id for p in hierarchy.perspectives}
    for k in kpis:
        if k.perspective not in perspectives:
            raise ConfigError(
                f"{data / 'kpis.yaml'}: KPI {k.id} has perspective {k.perspective!r}, "
                f"not one of {', '.join(sorted(perspectives))} (segments.yaml)"
            )
    # A perspective without KPIs is left out of the pack and the overall score (DOMAIN.md §6).
    used = {k.perspective for k in kpis}
    kept = tuple(p for p in hierarchy.perspectives if p.id in used)
    hierarchy = hierarchy.model_copy(update={"perspectives": kept})
    targets = load_targets(data / "targets.csv", kpis)
    return Project(
        settings=settings,
        kpis=kpis,
        hierarchy=hierarchy,
        targets=targets,
        config_file=config_file,
    )
