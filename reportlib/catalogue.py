"""The KPI catalogue's records: a KPI, its definition versions and parameters (DOMAIN.md §3, §8).

`KpiDef` is one entry of `data/kpis.yaml` (read by `config.load_kpis`, re-exported by
`config`); a declared KPI's measures are the records of `declaration.py`.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from . import periods
from .declaration import Measure
from .errors import ConfigError
from .frozen import Frozen

Direction = Literal["up", "down"]
Unit = Literal["currency", "percent", "points", "hours", "ratio", "count", "score"]
UNITS: tuple[str, ...] = get_args(Unit)
"""The units a built-in KPI may have; declared and manual KPIs accept any short label."""


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
    unit: str
    """One of UNITS for a built-in KPI; any short label (e.g. "tickets", "days") otherwise."""
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
    source: Literal["builtin", "manual", "declared"] = "builtin"
    """builtin: a formula of kpis.py; manual: kpi_values.csv; declared: the measures below."""
    measure: Measure | None = None
    """declared: the value is this one measure (see `declaration.py`)..."""
    numerator: Measure | None = None
    """...or scale × numerator / denominator (empty where the denominator is 0)."""
    denominator: Measure | None = None
    scale: float = Field(1.0, gt=0)
    sample: bool = False
    """True for survey KPIs: a sample with a 95% interval and significance tests (§4)."""
    history: tuple[KpiVersion, ...] = ()
    """Earlier and current versions of the definition, oldest first (DOMAIN.md §8)."""

    @model_validator(mode="after")
    def _source_fits(self) -> KpiDef:
        label = self.unit.strip()
        if self.source == "builtin" and self.unit not in UNITS:
            raise ValueError(
                f"unit: {self.unit!r} is not a unit of a built-in KPI ({', '.join(UNITS)}); "
                "declared and manual KPIs may use any label"
            )
        if not label or len(label) > 40 or "\n" in label:
            raise ValueError("unit: a unit label is one line of 1 to 40 characters")
        ratio = (self.numerator, self.denominator)
        if self.source != "declared":
            if self.measure or any(ratio) or "scale" in self.model_fields_set:
                raise ValueError(
                    "source: measure, numerator, denominator and scale are for `source: declared`"
                )
        elif (self.measure is None) == (None in ratio) or (self.measure and any(ratio)):
            raise ValueError(
                "measure: a declared KPI gives either `measure` or both `numerator` and `denominator`"
            )
        return self

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

    def changed_since(self, period: str) -> str | None:
        """The month the definition in force in `period` replaced an earlier one, or None
        when it is the first (or only) definition (§8). Targets stated before it lapse (§5)."""
        since = None
        for i, v in enumerate(self.history):
            if v.effective_from <= period:
                since = v.effective_from if i > 0 else None
        return since

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
