"""The data-quality stage (DOMAIN.md §7): identity mapping, row rules, quarantine, accounting, gate.

Schema problems (a missing column, a value that does not parse as its type) stop the
load with a DataError in `sources`; the schema level is engine expressions rather than
pandera because the tables are tens of millions of rows that must not be pulled into
pandas. This package then applies the row rules to every table with set-based queries,
none of which pulls rows into Python. One module per concern:

- `rules`: the rule catalogue, a registry of rule → tables → SQL check;
- `identity`: the customer_aliases mapping and its ambiguity check;
- `suspects`: the typed, numbered rows and the rows a rule could reject;
- `reject`, `repeats`: which rows break which rules, and the quarantined rows as read;
- `accounting`: rows in = kept + quarantined per table and rule; KPIs whose n shrank;
- `gate`: the quality gate, its message, and the check before sending;
- `report`: the typed report (report.json) and writing the quality files;
- `names`: the intermediate relations' names; `stage`: `validate`, the sequence of the above.
"""

from __future__ import annotations

from .accounting import N_REDUCED_SHARE, NOT_ROW_COUNTS, n_reduced
from .gate import enforce, require_sendable
from .gate import message as gate_message
from .reject import PROVENANCE
from .report import (
    SCHEMA_VERSION,
    Gate,
    GateFailure,
    NReduced,
    QualityReport,
    TableReport,
    read,
    write,
)
from .rules import FACTS, REGISTRY, RULES, SCALES
from .stage import QualityResult, validate, with_n_reduced

__all__ = [
    "FACTS",
    "NOT_ROW_COUNTS",
    "N_REDUCED_SHARE",
    "PROVENANCE",
    "REGISTRY",
    "RULES",
    "SCALES",
    "SCHEMA_VERSION",
    "Gate",
    "GateFailure",
    "NReduced",
    "QualityReport",
    "QualityResult",
    "TableReport",
    "enforce",
    "gate_message",
    "n_reduced",
    "read",
    "require_sendable",
    "validate",
    "with_n_reduced",
    "write",
]
