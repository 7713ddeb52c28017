"""repeat_response (DOMAIN.md §7): the same customer and survey within `dedupe_days`.

The first response is kept, and what "kept" means is decided greedily in time order, so
a third response 10 days after the first survives even when a second one at day 5 was
dropped. A row quarantined for another reason is also marked as a repeat when it falls
within the window of a kept response.

Set-based, like the other rules: only groups where two otherwise clean responses come
within the window are walked (`q_grp`); `next(ord)` is the first response at least the
window after a response, and the kept responses are the chain of `next` from the first
(`q_chain`, a recursive query). The result is merged into `q_rej_survey_responses`.
"""

from __future__ import annotations

from ..sources import Source, engine
from . import names

TABLE = "survey_responses"


def add_repeats(src: Source, dedupe_days: int) -> None:
    """Add repeat_response to q_rej_survey_responses (greedy: the first kept response wins)."""
    if dedupe_days <= 0:
        return
    rel = names.TableRelations(TABLE)
    cand, grp, nxt, chain, rep = (
        names.REPEAT_CANDIDATES,
        names.REPEAT_GROUPS,
        names.REPEAT_NEXT,
        names.REPEAT_CHAIN,
        names.REPEATS,
    )
    d = f"INTERVAL {int(dedupe_days)} DAY"

    def run(sql: str) -> None:
        engine.execute(src.con, sql)

    # Otherwise clean responses; only groups where two come within the window need the greedy walk.
    run(
        f"CREATE OR REPLACE TEMP VIEW {cand} AS SELECT __rn, customer_id, survey, responded_at AS t "
        f"FROM {rel.captured} WHERE __rn NOT IN (SELECT __rn FROM {rel.rejections})"
    )
    run(
        f"CREATE OR REPLACE TEMP TABLE {grp} AS "
        "WITH near AS (SELECT DISTINCT customer_id, survey FROM ("
        "  SELECT customer_id, survey, t, lag(t) OVER (PARTITION BY customer_id, survey ORDER BY t, __rn) AS prev "
        f"  FROM {cand}) WHERE prev IS NOT NULL AND t < prev + {d}) "
        "SELECT c.*, dense_rank() OVER (ORDER BY c.customer_id, c.survey) AS gid, "
        "row_number() OVER (PARTITION BY c.customer_id, c.survey ORDER BY c.t, c.__rn) AS ord "
        f"FROM {cand} c SEMI JOIN near n ON n.customer_id = c.customer_id AND n.survey = c.survey"
    )
    # next(ord): the first response at least the window after it; the kept ones are a chain of next.
    run(
        f"CREATE OR REPLACE TEMP TABLE {nxt} AS "
        f"WITH firsts AS (SELECT gid, t, min(ord) AS ord FROM {grp} GROUP BY gid, t) "
        f"SELECT a.gid, a.ord, f.ord AS next_ord FROM {grp} a "
        f"ASOF LEFT JOIN firsts f ON a.gid = f.gid AND a.t + {d} <= f.t"
    )
    run(
        f"CREATE OR REPLACE TEMP TABLE {chain} AS "
        f"WITH RECURSIVE chain(gid, ord) AS (SELECT DISTINCT gid, 1::BIGINT FROM {grp} UNION ALL "
        f"  SELECT n.gid, n.next_ord FROM chain c JOIN {nxt} n ON n.gid = c.gid AND n.ord = c.ord "
        "  WHERE n.next_ord IS NOT NULL) "
        f"SELECT g.* FROM {grp} g SEMI JOIN chain c ON c.gid = g.gid AND c.ord = g.ord"
    )
    detail = (
        "'repeat_response: repeats the response on line {repeat_ref} ('"
        " || printf('%.1f', date_diff('second', k.t, r.t) / 86400.0) || "
        f"' days earlier, same customer and survey; dedupe window {int(dedupe_days)} days)'"
    )
    # Repeats among clean rows: every grouped row not on the chain, against the kept one before it.
    run(
        f"CREATE OR REPLACE TEMP TABLE {rep} AS "
        "SELECT r.__rn, k.__rn AS ref, " + detail + " AS detail FROM "
        f"(SELECT * FROM {grp} ANTI JOIN {chain} USING (__rn)) r "
        f"ASOF JOIN {chain} k ON r.gid = k.gid AND r.ord >= k.ord"
    )
    # Rows already rejected for another reason that also fall in a kept response's window.
    run(
        f"INSERT INTO {rep} "
        "WITH bad AS (SELECT a.__rn, a.customer_id, a.survey, a.responded_at AS t "
        f"  FROM {rel.captured} a SEMI JOIN {rel.rejections} j ON j.__rn = a.__rn "
        "  WHERE a.responded_at IS NOT NULL), "
        f"keptc AS (SELECT c.* FROM {cand} c SEMI JOIN bad b ON b.customer_id = c.customer_id AND b.survey = c.survey "
        f"  ANTI JOIN (SELECT __rn FROM {grp} ANTI JOIN {chain} USING (__rn)) x ON x.__rn = c.__rn) "
        "SELECT r.__rn, k.__rn AS ref, " + detail + " AS detail FROM bad r "
        "ASOF JOIN keptc k ON r.customer_id = k.customer_id AND r.survey = k.survey AND r.t >= k.t "
        f"WHERE r.t < k.t + {d} AND k.__rn <> r.__rn"
    )
    run(
        f"CREATE OR REPLACE TEMP TABLE {rel.rejections} AS "
        "SELECT coalesce(j.__rn, p.__rn) AS __rn, "
        "concat_ws(';', nullif(j.rule, ''), CASE WHEN p.__rn IS NOT NULL THEN 'repeat_response' END) AS rule, "
        "concat_ws('; ', nullif(j.detail, ''), p.detail) AS detail, j.dup_ref, p.ref AS repeat_ref "
        f"FROM {rel.rejections} j FULL OUTER JOIN {rep} p ON p.__rn = j.__rn"
    )
