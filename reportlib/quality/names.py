"""The names of the intermediate relations the quality stage creates, all in one place.

The rules run as set-based SQL on the embedded DuckDB of the load (nothing big comes
into Python), so each step leaves a temporary view or table for the next. Per table
`<t>`, in the order they are made:

- `q_base_<t>` (view): the typed rows numbered in file order (`__rn`), the raw text
  kept beside them as `__raw_<i>`, customer ids as read;
- `q_ids_<t>` (table, fact tables): the rows whose customer id is not a kept customer's
  own id, with the customer it resolves to (`identity.py`): the one pass joining ids;
- `q_typed_<t>` (view): `q_base_<t>` with customer ids resolved through `q_ids_<t>`;
- `q_sus` (table): the row numbers of the suspects, rows a rule could reject
  (`suspects.py`); dropped once the table is done;
- `q_all_<t>` (table): the suspects captured once, raw and typed;
- `q_rej_<t>` (table): one row per rejected row with all its rules and details
  (`reject.py`, `repeats.py`);
- `q_fix_<t>` (table, fact tables): per row number, the resolved id (`q_ids_<t>`) and
  whether the row is rejected, so the kept rows are one join on the row number;
- `kept_<t>` / `dropped_<t>` (views): the typed rows without / only the rejected ones.

Across tables: `q_known` (the kept customer ids) and `q_resolve` (every id a fact table
may use → its customer) from `identity.py`; `q_cand`, `q_grp`, `q_next`, `q_chain`,
`q_rep` for the repeat_response walk (`repeats.py`); `q_lines` (row → physical line)
for the quarantine files (`reject.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sources import engine

ROW = "__rn"
"""The column holding a row's 1-based position in its file."""

SUSPECTS = "q_sus"
KNOWN = "q_known"
RESOLVE = "q_resolve"
LINES = "q_lines"
LINES_ARROW = "q_lines_arrow"
REPEAT_CANDIDATES = "q_cand"
REPEAT_GROUPS = "q_grp"
REPEAT_NEXT = "q_next"
REPEAT_CHAIN = "q_chain"
REPEATS = "q_rep"


def number(column: str) -> str:
    """The column of `q_typed_<t>` holding `column` read as a DOUBLE (NaN and ±inf kept), quoted.

    A whole-number column cannot hold `inf` once typed, so the non_finite rule (DOMAIN.md §7)
    reads this one instead.
    """
    return engine.quote("__num_" + column)


@dataclass(frozen=True)
class TableRelations:
    """The quality stage's relations for one input table, quoted for SQL."""

    table: str

    def _name(self, prefix: str) -> str:
        return engine.quote(prefix + self.table)

    @property
    def base(self) -> str:
        """`q_base_<t>`: typed rows with `__rn` and raw text, customer ids as read."""
        return self._name("q_base_")

    @property
    def ids(self) -> str:
        """`q_ids_<t>`: `__rn` and `canonical` of the rows whose id is not a kept customer's own."""
        return self._name("q_ids_")

    @property
    def typed(self) -> str:
        """`q_typed_<t>`: typed rows with `__rn`, raw text and resolved customer ids."""
        return self._name("q_typed_")

    @property
    def fixes(self) -> str:
        """`q_fix_<t>`: `__rn`, `canonical` and `__rejected` of the rows kept differently."""
        return self._name("q_fix_")

    @property
    def captured(self) -> str:
        """`q_all_<t>`: the suspects, raw and typed."""
        return self._name("q_all_")

    @property
    def rejections(self) -> str:
        """`q_rej_<t>`: one row per rejected row (`__rn`, rule, detail, dup_ref, repeat_ref)."""
        return self._name("q_rej_")

    @property
    def kept_name(self) -> str:
        """`kept_<t>` unquoted, for `con.table`."""
        return "kept_" + self.table

    @property
    def kept(self) -> str:
        """`kept_<t>`: the typed rows that were not rejected."""
        return engine.quote(self.kept_name)

    @property
    def dropped_name(self) -> str:
        """`dropped_<t>` unquoted, for `con.table`."""
        return "dropped_" + self.table

    @property
    def dropped(self) -> str:
        """`dropped_<t>`: the typed rows that were rejected."""
        return engine.quote(self.dropped_name)
