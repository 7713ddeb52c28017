"""Records of the appendix: data quality, manual values, methodology, definitions and RACI
(formatted, as `records`; split out so each module stays short)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QualityTableView:
    name: str
    file: str
    rows_in: str
    rows_kept: str
    rows_quarantined: str
    share: str
    over: bool
    rules: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ReducedView:
    kpi: str
    share: str


@dataclass(frozen=True)
class QualityView:
    """The data-quality report as the appendix prints it (DOMAIN.md §7)."""

    passed: bool | None
    accepted: bool
    reason: str
    max_share: str
    tables: tuple[QualityTableView, ...]
    n_reduced: tuple[ReducedView, ...]


@dataclass(frozen=True)
class ManualView:
    period: str
    node: str
    kpi: str
    computed: str
    value: str
    n: str
    author: str
    reason: str


@dataclass(frozen=True)
class MethodView:
    name: str
    perspective: str
    definition: str
    unit: str
    direction: str
    kind: str
    version: int
    min_n: str
    weight: str
    owner: str
    responsible: str
    interval: str


@dataclass(frozen=True)
class DefinitionView:
    name: str
    version: str
    effective_from: str
    note: str
    min_n: str
    rule: str


@dataclass(frozen=True)
class RaciView:
    name: str
    accountable: str
    responsible: str
    consulted: str
    informed: str
