"""Project configuration: settings, KPI catalogue, hierarchy, targets (DESIGN.md "Inputs").

Everything here is an immutable pydantic model read from the project's files:
`[tool.reportlib]` in pyproject.toml (or a reportlib.toml, read by `configfile`), `data/kpis.yaml`,
`data/segments.yaml` and `data/targets.csv`. Problems become a ConfigError that
names the file and the field.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import configfile, periods
from .errors import ConfigError

CONFIG_ENV = configfile.CONFIG_ENV


class Frozen(BaseModel):
    """The base of every settings and configuration record: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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


class Settings(Frozen):
    """Project settings; relative paths are resolved against `root`."""

    root: Path
    data_dir: Path = Path("data")
    source: str = "data/sample"
    output_dir: Path = Path("output")
    timezone: str = "UTC"
    currency: str = "USD"
    trend_months: int = Field(24, ge=2, le=120)
    escalate_after: int = Field(3, ge=1)
    classification: str = "Confidential: internal use only"
    as_of: str | None = None
    workers: int = Field(0, ge=0)
    cell_timeout_seconds: int = Field(600, gt=0)
    """Longest a notebook cell may run before its node fails (papermill's execution_timeout)."""
    quality: QualitySettings = QualitySettings()
    smtp: SmtpSettings = SmtpSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

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
        periods.parse(period)
        return self.output_path / period


Direction = Literal["up", "down"]
Unit = Literal["currency", "percent", "points", "hours", "ratio", "count", "score"]


SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
"""Survey scales (DOMAIN.md §3)."""

TOP_BOX_DEFAULT = {"csat": 4, "ces": 5}
"""Top-box cut of the proportion KPIs: CSAT top-2-box ≥ 4, CES "easy" ≥ 5 (DOMAIN.md §3)."""

SlaMetBy = Literal["first_response", "resolution"]

PARAMETERS = {
    "top_box_min": ("csat", "ces"),
    "sla_hours": ("sla_compliance",),
    "sla_met_by": ("sla_compliance",),
}
"""The definition parameters a version may change besides `min_n`, and the KPIs that have them."""


class _Parameters(Frozen):
    """Definition parameters that a KPI or one of its versions may set (DOMAIN.md §3, §8)."""

    min_n: int | None = Field(None, ge=1)
    top_box_min: int | None = None
    """CSAT/CES: the lowest score counted as top box (default 4 for CSAT, 5 for CES)."""
    sla_hours: float | None = Field(None, gt=0)
    """sla_compliance: one deadline in hours for every ticket; omitted, each ticket's `sla_hours`."""
    sla_met_by: SlaMetBy | None = None
    """sla_compliance: what must happen by the deadline (default `first_response`)."""

    def _check_parameters(self, kpi_id: str) -> None:
        for name, owners in PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if kpi_id not in owners:
                raise ValueError(
                    f"{name} is a parameter of {' and '.join(owners)}, not of {kpi_id}"
                )
            if name == "top_box_min":
                lo, hi = SURVEY_SCALES[kpi_id]
                if not lo < value <= hi:
                    raise ValueError(
                        f"top_box_min {value} is outside the {kpi_id} scale {lo}–{hi} "
                        f"(it must leave at least one score below it)"
                    )


class KpiVersion(_Parameters):
    """One version of a KPI's definition and the month it takes effect (DOMAIN.md §8).

    A parameter the version omits takes the KPI's own (current) value.
    """

    version: int = Field(ge=1)
    effective_from: str
    change_note: str

    @field_validator("effective_from", mode="before")
    @classmethod
    def _month(cls, v: Any) -> Any:
        try:
            periods.parse(str(v))
        except ConfigError:
            raise ValueError(f"effective_from {v!r} is not a month YYYY-MM") from None
        return str(v)


class Definition(Frozen):
    """The definition of one KPI in force in one period: its version and parameters (§8)."""

    version: int
    min_n: int | None
    top_box_min: int | None = None
    sla_hours: float | None = None
    sla_met_by: SlaMetBy | None = None
    """Set for sla_compliance only (default `first_response`)."""
    change_note: str = ""

    def rule(self) -> str:
        """The versioned rule in words for the history tables, e.g. "top box ≥ 4" ("" if none)."""
        parts = []
        if self.top_box_min is not None:
            parts.append(f"top box ≥ {self.top_box_min}")
        if self.sla_met_by is not None:
            deadline = (
                "per ticket (sla_hours)" if self.sla_hours is None else f"{self.sla_hours:g} h"
            )
            parts.append(f"deadline {deadline}, met by {self.sla_met_by.replace('_', ' ')}")
        return "; ".join(parts)


class KpiDef(_Parameters):
    """One KPI of the catalogue (DOMAIN.md §3); its parameters are those of the current version."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    perspective: str
    unit: Unit
    direction: Direction
    kind: Literal["leading", "lagging"] = "lagging"
    weight: float = Field(1.0, gt=0)
    owner: str
    owner_email: str | None = None
    responsible: str | None = None
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    version: int = Field(1, ge=1)
    definition: str
    source: Literal["builtin", "manual"] = "builtin"
    sample: bool = False
    """True for survey KPIs: a sample with a 95% interval and significance tests (§4)."""
    history: tuple[KpiVersion, ...] = ()
    """Earlier and current versions of the definition, oldest first (DOMAIN.md §8)."""

    @model_validator(mode="after")
    def _history_in_order(self) -> KpiDef:
        self._check_parameters(self.id)
        h = self.history
        for v in h:
            try:
                v._check_parameters(self.id)
            except ValueError as e:
                raise ValueError(f"history: version {v.version}: {e}") from None
        for a, b in itertools.pairwise(h):
            if not (b.version > a.version and b.effective_from > a.effective_from):
                raise ValueError(
                    f"history: version {b.version} ({b.effective_from}) must follow "
                    f"version {a.version} ({a.effective_from}) in both number and month"
                )
        if h and h[-1].version != self.version:
            raise ValueError(
                f"history: the latest version is {h[-1].version} but version is {self.version}"
            )
        return self

    def in_force(self, period: str) -> Definition:
        """The definition in force in `period`: the latest history entry effective by then (§8).

        Periods before the first entry use the first; without history, the KPI's own
        version and parameters. A parameter an entry omits is the KPI's own.
        """
        chosen: _Parameters = self
        version, note = self.version, ""
        if self.history:
            entry = self.history[0]
            for v in self.history:
                if v.effective_from <= period:
                    entry = v
            chosen, version, note = entry, entry.version, entry.change_note

        def pick(name: str) -> Any:
            value = getattr(chosen, name)
            return getattr(self, name) if value is None else value

        return Definition(
            version=version,
            min_n=pick("min_n"),
            top_box_min=pick("top_box_min") or TOP_BOX_DEFAULT.get(self.id),
            sla_hours=pick("sla_hours"),
            sla_met_by=pick("sla_met_by")
            or ("first_response" if self.id in PARAMETERS["sla_met_by"] else None),
            change_note=note,
        )

    def definitions(self) -> tuple[tuple[KpiVersion | None, Definition], ...]:
        """Each history entry with the definition it puts in force, oldest first (§8).

        Without history, one pair: no entry, and the KPI's own (current) definition.
        """
        if not self.history:
            return ((None, self.in_force(periods.label(0))),)
        return tuple((v, self.in_force(v.effective_from)) for v in self.history)

    @field_validator("weight", mode="before")
    @classmethod
    def _weight_number(cls, v: Any) -> Any:
        if isinstance(v, str):
            raise ValueError(f"weight must be a number, got {v!r}")
        return v


class Perspective(Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    weight: float = Field(1.0, gt=0)


class HierarchyConfig(Frozen):
    """`segments.yaml`: company name, hierarchy levels, display names, perspectives."""

    company: str = "Company"
    levels: tuple[str, ...] = ("segment", "region")
    names: dict[str, dict[str, str]] = {}
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
        loc = tuple(first["loc"])
        line = configfile.key_line(config_file, loc)
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


def load_manual_values(path: Path, kpis: tuple[KpiDef, ...]) -> tuple[ManualValue, ...]:
    """Read kpi_values.csv (optional); author and reason are required on every row."""
    if not path.is_file():
        return ()
    ids = {k.id for k in kpis}
    out: list[ManualValue] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        need = {"period", "node", "kpi", "value", "n", "author", "reason"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            where = f"{path} line {line}"
            try:
                periods.parse((row["period"] or "").strip())
            except ConfigError as e:
                raise ConfigError(f"{where}, column period: {e}", file=str(path)) from None
            if row["kpi"] not in ids:
                raise ConfigError(f"{where}: unknown KPI {row['kpi']!r}", file=str(path))
            for col in ("author", "reason"):
                if not (row[col] or "").strip():
                    raise ConfigError(
                        f"{where}: column {col} is empty; manual values need an author and a reason",
                        file=str(path),
                    )
            n_raw = (row["n"] or "").strip()
            out.append(
                ManualValue(
                    period=row["period"].strip(),
                    node=row["node"].strip(),
                    kpi=row["kpi"].strip(),
                    value=_number(row["value"], path=path, line=line, column="value"),
                    n=int(_number(n_raw, path=path, line=line, column="n")) if n_raw else None,
                    author=row["author"].strip(),
                    reason=row["reason"].strip(),
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
    targets = load_targets(data / "targets.csv", kpis)
    return Project(
        settings=settings,
        kpis=kpis,
        hierarchy=hierarchy,
        targets=targets,
        config_file=config_file,
    )
