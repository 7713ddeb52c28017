"""The rule catalogue of DOMAIN.md §7: which rules check which table, and how, as a registry.

Each `Rule` has its id, the tables it applies to and a function giving its `Check` for
one table: the SQL condition that flags a row and the SQL text saying why. The other
modules never name a rule: `suspects.py` and `reject.py` run whatever `checks(table)`
returns, in the order of `REGISTRY` (the order a row's broken rules are listed in).

Kinds of rule:

- `row`: decided on the row alone (score_range, response_window, speeder, time_order,
  negative_amount, non_finite, sla_range, workforce_range). Adding such a rule is one function and one `Rule(...)` line here.
- `key` (duplicate_id): a repeated primary key; the first row in file order is kept.
- `identity` (unknown_customer): the customer id after identity mapping is not a kept
  customer's (`identity.py` builds the mapping).
- `sequence` (repeat_response): the greedy walk in time order of `repeats.py`; it has
  no per-row condition.

The rules:

- duplicate_id: a repeated primary key; the first row in file order is kept.
  `workforce` is keyed by period and hierarchy levels, `customer_aliases` by
  (source, external_id).
- unknown_customer: customer_id not in the kept customers after identity mapping;
  an alias whose target is not a customer is itself quarantined under this rule.
- score_range: score missing, not a number (NaN included), not whole, or outside the
  survey's scale (nps 0–10, csat 1–5, ces 1–7); an unknown survey type has no scale
  and is quarantined under this rule too. Survey names are compared trimmed and
  lower-cased, and kept rows carry the normalised name.
- response_window: responded_at before sent_at, or more than `response_window_days`
  after it (rows without sent_at cannot be judged and pass).
- speeder: duration_seconds below `min_duration_seconds` (negative included; a
  missing or NaN duration passes).
- repeat_response: same customer and survey within `dedupe_days` after an earlier
  kept response; the first is kept (see `repeats.py`).
- time_order: a ticket's first_response_at or resolved_at before its opened_at, and
  (a decision of this module) a customer's churned_on before its acquired_on; that
  customer's rows then fall under unknown_customer, whose detail says why.
- negative_amount: amount < 0 in revenue unless `allow_credit_notes`.
- non_finite: a number that is NaN, ±inf or beyond ±1e12 (`FINITE_LIMIT`) in revenue's
  amount or workforce's headcount, leavers, training_hours and eNPS counts, in any month.
  It is read from the value as a DOUBLE (`names.number`), so `inf` in a whole-number
  column is quarantined here rather than refused by the schema.
- sla_range: a ticket's sla_hours missing, zero, negative or (a decision of this module,
  since NaN would count as met) not a finite number.
- workforce_range: headcount not positive; leavers, training_hours or an eNPS count
  negative; leavers more than headcount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..config import SURVEY_SCALES, QualitySettings
from ..sources import FINITE_LIMIT, engine
from . import names

RuleKind = Literal["row", "key", "identity", "sequence"]

SCALES = SURVEY_SCALES
"""Survey scales (DOMAIN.md §3), as the configuration checks top-box cuts against them."""

FACTS = ("survey_responses", "tickets", "revenue")
"""Tables whose customer_id goes through identity mapping and the unknown_customer rule."""

FIRST_KEPT = "__first"
"""Column of the duplicate_id join: the first row number of the row's key, when repeated."""

KNOWN_ID = "__known"
"""Column of the unknown_customer join: the row's customer id when it is a kept customer's."""


@dataclass(frozen=True)
class Context:
    """What a rule's check may depend on: the table, its key and the quality settings."""

    table: str
    key: tuple[str, ...]
    """The primary-key columns (empty for a table without one)."""
    settings: QualitySettings
    has_aliases: bool
    """True when the load has a customer_aliases table (changes unknown_customer's wording)."""
    finite: tuple[str, ...] = ()
    """The table's columns that must be finite numbers (the spec's `finite` columns)."""


@dataclass(frozen=True)
class Check:
    """One rule on one table, as SQL over the captured rows `a` (`q_all_<t>`).

    `when` flags a row, `detail` says why. A rule that needs other rows brings a `join`
    (a LEFT JOIN onto `a`) and the `columns` it adds; `ref` is the row number the detail's
    `{dup_ref}` refers to. `suspect` finds the rows the check may flag with one scan of
    the typed rows (`q_typed_<t>` as `a`, plus `suspect_join`); None when `suspects.py`
    finds them another way (duplicate keys are neighbours in hash order).
    """

    rule: str
    when: str
    detail: str
    join: str = ""
    columns: tuple[str, ...] = ()
    ref: str | None = None
    suspect: str | None = None
    suspect_join: str = ""


CheckFor = Callable[[Context], "Check | None"]


@dataclass(frozen=True)
class Rule:
    """A rule of DOMAIN.md §7: its id, kind, tables, and its check on one of them."""

    id: str
    kind: RuleKind
    tables: tuple[str, ...]
    check: CheckFor | None
    """The check for a table of `tables` (None: not applicable there, or a `sequence` rule)."""


def shown(expr: str) -> str:
    """SQL text of a value quoted for a detail message, cut to 40 characters."""
    return f"('''' || left(CAST({expr} AS VARCHAR), 40) || '''')"


def _row(rule: str, when: str, detail: str) -> Check:
    """A check decided on the row alone: its suspects are the rows it flags."""
    return Check(rule, when, detail, suspect=when)


# --------------------------------------------------------------------------- the checks


def _duplicate_id(ctx: Context) -> Check | None:
    if not ctx.key:
        return None
    keys = ", ".join(engine.quote(k) for k in ctx.key)
    on = " AND ".join(
        f"d.{engine.quote(k)} IS NOT DISTINCT FROM a.{engine.quote(k)}" for k in ctx.key
    )
    table = names.TableRelations(ctx.table).captured
    dup = f"{FIRST_KEPT} IS NOT NULL AND {names.ROW} > {FIRST_KEPT}"
    value = " || '/' || ".join(f"coalesce(CAST({engine.quote(k)} AS VARCHAR), '')" for k in ctx.key)
    return Check(
        "duplicate_id",
        dup,
        f"'{'/'.join(ctx.key)} ' || {shown(value)} || ' repeats line {{dup_ref}} (the first is kept)'",
        join=(
            f"LEFT JOIN (SELECT {keys}, min({names.ROW}) AS {FIRST_KEPT} FROM {table} GROUP BY {keys} "
            f"HAVING count(*) > 1) d ON {on}"
        ),
        columns=(f"d.{FIRST_KEPT} AS {FIRST_KEPT}",),
        ref=FIRST_KEPT,
    )


def _known_join() -> str:
    return (
        f"LEFT JOIN (SELECT customer_id AS {KNOWN_ID} FROM {names.KNOWN}) k "
        f"ON k.{KNOWN_ID} = a.customer_id"
    )


def _unknown_customer(ctx: Context) -> Check:
    aliases = ctx.table == "customer_aliases"
    where = "customers" if aliases or not ctx.has_aliases else "customers or customer_aliases"
    customers = names.TableRelations("customers").captured
    return Check(
        "unknown_customer",
        f"{KNOWN_ID} IS NULL",
        f"'customer_id ' || {shown('customer_id')} || ' is not in {where}' || "
        f"CASE WHEN customer_id IN (SELECT customer_id FROM {customers}) "
        "THEN ' (its customers row is quarantined)' ELSE '' END",
        join=_known_join(),
        columns=(f"k.{KNOWN_ID} AS {KNOWN_ID}",),
        # A fact's id was resolved in its typed view; an alias's target is looked up.
        suspect=f"k.{KNOWN_ID} IS NULL" if aliases else "NOT __resolved",
        suspect_join=_known_join() if aliases else "",
    )


def _score_range(ctx: Context) -> Check:
    scale = SCALES
    lo = "CASE survey " + " ".join(f"WHEN '{k}' THEN {v[0]}" for k, v in scale.items()) + " END"
    hi = "CASE survey " + " ".join(f"WHEN '{k}' THEN {v[1]}" for k, v in scale.items()) + " END"
    known = ", ".join(f"'{k}'" for k in scale)
    not_number = "(score IS NULL OR NOT isfinite(score))"
    # A missing score is a NULL score too: the text is needed only to say which it was.
    when = (
        f"survey NOT IN ({known}) OR {not_number} "
        f"OR score <> round(score) OR score < {lo} OR score > {hi}"
    )
    detail = (
        f"CASE WHEN survey NOT IN ({known}) THEN 'survey ' || {shown('survey')} || "
        f"' is not one of {', '.join(scale)}: no scale to check the score against' "
        "WHEN __score_text IS NULL THEN 'score is missing' "
        f"WHEN {not_number} THEN 'score ' || {shown('__score_text')} || ' is not a number' "
        "WHEN score <> round(score) THEN 'score ' || __score_text || ' is not a whole number' "
        f"ELSE 'score ' || __score_text || ' is outside the ' || survey || ' scale ' "
        f"|| {lo} || '–' || {hi} END"
    )
    return _row("score_range", when, detail)


def _response_window(ctx: Context) -> Check:
    days = ctx.settings.response_window_days
    late = f"responded_at > sent_at + INTERVAL {days} DAY"
    detail = (
        "CASE WHEN responded_at < sent_at THEN 'responded_at is before sent_at' "
        "ELSE 'responded ' || printf('%.1f', date_diff('second', sent_at, responded_at) / 86400.0) "
        f"|| ' days after sent_at (window {days} days)' END"
    )
    return _row(
        "response_window", f"sent_at IS NOT NULL AND (responded_at < sent_at OR {late})", detail
    )


def _speeder(ctx: Context) -> Check:
    m = ctx.settings.min_duration_seconds
    return _row(
        "speeder",
        f"isfinite(duration_seconds) AND duration_seconds < {m!r}",
        f"'duration ' || printf('%g', duration_seconds) || ' s is under the {m:g} s minimum'",
    )


def _time_order(ctx: Context) -> Check | None:
    if ctx.table == "customers":
        return _row("time_order", "churned_on < acquired_on", "'churned_on is before acquired_on'")
    first = "first_response_at < opened_at"
    resolved = "resolved_at < opened_at"
    return _row(
        "time_order",
        f"{first} OR {resolved}",
        f"concat_ws('; ', CASE WHEN {first} THEN 'first_response_at is before opened_at' END, "
        f"CASE WHEN {resolved} THEN 'resolved_at is before opened_at' END)",
    )


def _negative_amount(ctx: Context) -> Check | None:
    if ctx.settings.allow_credit_notes:
        return None
    return _row(
        "negative_amount",
        "amount < 0",
        "'amount ' || printf('%g', amount) || ' is negative and allow_credit_notes is false'",
    )


LIMIT_TEXT = f"{FINITE_LIMIT:.0e}".replace("e+", "e")
"""The non_finite limit as the details write it (`1e12`)."""


def _non_finite(ctx: Context) -> Check | None:
    if not ctx.finite:
        return None
    parts = []
    for col in ctx.finite:
        num = names.number(col)
        bad = f"({num} IS NOT NULL AND (NOT isfinite({num}) OR abs({num}) > {FINITE_LIMIT!r}))"
        why = (
            f"CASE WHEN isfinite({num}) THEN printf('%g', {num}) || ' is beyond ±{LIMIT_TEXT}' "
            f"ELSE CAST({num} AS VARCHAR) || ' is not a finite number' END"
        )
        parts.append((bad, f"'{col} ' || {why}"))
    return _row(
        "non_finite",
        " OR ".join(bad for bad, _ in parts),
        "concat_ws('; ', " + ", ".join(f"CASE WHEN {b} THEN {d} END" for b, d in parts) + ")",
    )


def _sla_range(ctx: Context) -> Check:
    return _row(
        "sla_range",
        "sla_hours IS NULL OR NOT isfinite(sla_hours) OR sla_hours <= 0",
        "CASE WHEN sla_hours IS NULL THEN 'sla_hours is missing' "
        "WHEN NOT isfinite(sla_hours) THEN 'sla_hours ' || CAST(sla_hours AS VARCHAR) "
        "|| ' is not a finite number' "
        "ELSE 'sla_hours ' || printf('%g', sla_hours) || ' is not positive' END",
    )


WORKFORCE_COUNTS = (
    "leavers",
    "training_hours",
    "enps_promoters",
    "enps_passives",
    "enps_detractors",
)
"""Workforce columns that cannot be negative (workforce_range, DOMAIN.md §7)."""


def _workforce_range(ctx: Context) -> Check:
    def text(col: str) -> str:
        return f"CAST({engine.quote(col)} AS VARCHAR)"

    parts = [("headcount <= 0", f"'headcount ' || {text('headcount')} || ' is not positive'")]
    parts += [
        (f"{engine.quote(c)} < 0", f"'{c} ' || {text(c)} || ' is negative'")
        for c in WORKFORCE_COUNTS
    ]
    parts.append(
        (
            "headcount IS NOT NULL AND leavers > greatest(headcount, 0)",
            f"'leavers ' || {text('leavers')} || ' exceed headcount ' || {text('headcount')}",
        )
    )
    return _row(
        "workforce_range",
        " OR ".join(f"coalesce({w}, false)" for w, _ in parts),
        "concat_ws('; ', " + ", ".join(f"CASE WHEN {w} THEN {d} END" for w, d in parts) + ")",
    )


# --------------------------------------------------------------------------- the registry

REGISTRY: tuple[Rule, ...] = (
    Rule(
        "duplicate_id",
        "key",
        (
            "customers",
            "customer_aliases",
            "survey_responses",
            "tickets",
            "revenue",
            "workforce",
        ),
        _duplicate_id,
    ),
    Rule("unknown_customer", "identity", (*FACTS, "customer_aliases"), _unknown_customer),
    Rule("score_range", "row", ("survey_responses",), _score_range),
    Rule("response_window", "row", ("survey_responses",), _response_window),
    Rule("speeder", "row", ("survey_responses",), _speeder),
    Rule("repeat_response", "sequence", ("survey_responses",), None),
    Rule("time_order", "row", ("customers", "tickets"), _time_order),
    Rule("negative_amount", "row", ("revenue",), _negative_amount),
    Rule("non_finite", "row", ("revenue", "workforce"), _non_finite),
    Rule("sla_range", "row", ("tickets",), _sla_range),
    Rule("workforce_range", "row", ("workforce",), _workforce_range),
)
"""Every rule of DOMAIN.md §7 that reportlib applies, in the order a row's rules are listed."""

RULES = tuple(r.id for r in REGISTRY)
"""Rule ids of DOMAIN.md §7, in the order they are listed for a row that breaks several."""


def rule_ids() -> tuple[str, ...]:
    """The registered rule ids, in registry order (read when called, so the registry decides)."""
    return tuple(r.id for r in REGISTRY)


def rule(rule_id: str) -> Rule:
    """The registered rule with this id (KeyError for an unknown one)."""
    for r in REGISTRY:
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)


def for_table(table: str) -> tuple[Rule, ...]:
    """The rules that apply to a table, in registry order."""
    return tuple(r for r in REGISTRY if table in r.tables)


def key_columns(table: str, spec_key: str | None, levels: tuple[str, ...]) -> tuple[str, ...]:
    """A table's primary key for duplicate_id: `workforce` by period and hierarchy levels,
    `customer_aliases` by (source, external_id), the others by their id column."""
    if table == "workforce":
        return ("period", *levels)
    if table == "customer_aliases":
        return ("source", "external_id")
    return (spec_key,) if spec_key else ()


def checks(ctx: Context) -> list[Check]:
    """The checks of every rule that applies to `ctx.table`, in registry order."""
    out = []
    for r in for_table(ctx.table):
        found = r.check(ctx) if r.check is not None else None
        if found is not None:
            out.append(found)
    return out


def sequence_rules(table: str) -> tuple[str, ...]:
    """The ids of the rules on `table` that run as a walk over its rows (`repeats.py`)."""
    return tuple(r.id for r in for_table(table) if r.kind == "sequence")
