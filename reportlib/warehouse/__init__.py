"""Compute where the data lives: a warehouse source validated and counted by its own engine.

With `compute = "warehouse"` (the default for PostgreSQL and Spark, docs/warehouse.md),
a PostgreSQL database, a DuckDB file or Spark runs the quality rules, the measures and the
reconciliation through Ibis; only aggregated figures (node × month × measure), counts,
the quarantined rows and a few small side results travel back. The embedded DuckDB
keeps those small parts (kpi_values, the quarantined rows and their details).

- `backend`: which engine, connecting, its time-zone functions, portable rule SQL;
- `tables`: the warehouse's tables, checked and typed as Ibis expressions; the row order;
- `load`: `load(project, warehouse)` → a `sources.Source` whose tables stay remote;
- `validate`: the rules of DOMAIN.md §7 on the warehouse (`validate`).
"""

from __future__ import annotations

from .backend import Warehouse, chosen
from .validate import validate

__all__ = ["Warehouse", "chosen", "validate"]
