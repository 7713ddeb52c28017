"""Survey responses of the sample, and the helpers that plant bad rows in every fact table.

A customer's answers to one survey are always more than seven days apart, scores follow
the story (`company.effects`, plus the branch's own quality in a three-level sample), and
about 1.5% of the rows break exactly one quality rule each (DOMAIN.md §7), counted in the
returned plantings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from .arrays import format_ids, id_width, labels, timestamps
from .company import DAY, HOUR, SURVEYS, Built, Customers, Ids, Window, active

# Surveys: share of responses, score model N(mu + scale*effect, sd) rounded and clipped.
_SURVEY_SHARE = np.array([0.40, 0.35, 0.25])
_SCORE_MU = np.array([8.0, 4.1, 5.3])
_SCORE_SD = np.array([1.8, 0.9, 1.3])
_SCORE_LO = np.array([0, 1, 1])
_SCORE_HI = np.array([10, 5, 7])
_DURATION_MEDIAN = np.array([45.0, 60.0, 75.0])
_SURVEY_CHANNELS = ("email", "in-app", "sms")
_SURVEY_CHANNEL_MIX = np.array([0.55, 0.35, 0.10])
_COMMENTS_GOOD = (
    "Great support team, quick answers.",
    "Easy to find what I needed",
    "Réponse rapide et claire, merci !",
    "The new dashboard is much faster",
    "Sorted out during my coffee at the café, impressive",
    'Love the "quick start" templates',
)
_COMMENTS_MIXED = (
    "OK overall, but the mobile app is slow",
    "Fine. Documentation could be clearer",
    "Good product; pricing page is confusing",
)
_COMMENTS_BAD = (
    "Took three emails to get a straight answer",
    "Onboarding took too long",
    'The "quick start" guide is out of date, please fix.',
    "Export to Excel is broken again",
    "Price increase was not communicated, disappointing",
    "Had to call twice; the second agent solved it",
    "Atendimento demorado, não resolveram o problema",
)

_SURVEY_VOLUME = np.array([1.0, 1, 1, 1, 1, 1, 0.95, 0.9, 1, 1, 1, 0.8])

# Share of the survey rows planted per rule (DOMAIN.md §7).
_PLANT_SURVEYS = {
    "duplicate_id": 0.003,
    "unknown_customer": 0.003,
    "score_range": 0.0025,
    "response_window": 0.0025,
    "speeder": 0.003,
    "repeat_response": 0.0025,
}


def surveys(
    rng: np.random.Generator,
    cust: Customers,
    ids: Ids,
    win: Window,
    rate: float,
    effects: np.ndarray,
) -> Built:
    """Survey responses; a customer's answers to one survey are always > 7 days apart."""
    per_survey = rate * _SURVEY_SHARE
    slots = 1 if per_survey.max() <= 1 else 2
    # Each customer answers a survey near the same point of the month ("phase"), ± 2/28
    # of a month: answers in consecutive slots are then at least 10 days apart.
    span = 24 if slots == 1 else 10
    phase = (2 + span * rng.random((cust.n, len(SURVEYS)))) / 28
    offsets = [0.0] if slots == 1 else [0.0, 14 / 28]
    parts: dict[str, list[np.ndarray]] = {"cust": [], "survey": [], "t": [], "month": []}
    cal = win.calendar
    for m in range(win.months):
        start, stop = int(win.starts[m]), int(win.starts[m + 1])
        act, lo, hi = active(cust, start, stop)
        for k in range(len(SURVEYS)):
            p = per_survey[k] / slots * _SURVEY_VOLUME[cal[m]]
            for offset in offsets:
                hit = np.flatnonzero(rng.random(act.size) < p)
                c = act[hit]
                u = phase[c, k] + offset + rng.uniform(-2 / 28, 2 / 28, c.size)
                t = start + np.floor(u * (stop - start)).astype(np.int64)
                keep = (t >= lo[hit]) & (t < hi[hit])
                parts["cust"].append(c[keep])
                parts["survey"].append(np.full(keep.sum(), k, dtype=np.int8))
                parts["t"].append(t[keep])
                parts["month"].append(np.full(keep.sum(), m, dtype=np.int16))
    c, survey, responded, month = (
        np.concatenate(parts[k]) for k in ("cust", "survey", "t", "month")
    )
    order = np.lexsort((survey, c, responded))
    c, survey, responded, month = c[order], survey[order], responded[order], month[order]
    n = c.size

    effect = effects[cust.cell[c], month]
    if cust.survey_shift is not None:
        effect = effect + cust.survey_shift[c]
    score = np.rint(rng.normal(_SCORE_MU[survey] + _SCORE_SD[survey] * effect, _SCORE_SD[survey]))
    score = np.clip(score, _SCORE_LO[survey], _SCORE_HI[survey]).astype(np.int64)
    delay = np.clip(rng.lognormal(np.log(5 * HOUR), 1.3, n), 120, 3 * DAY).astype(np.int64)
    sent = responded - delay
    duration = np.clip(rng.lognormal(np.log(_DURATION_MEDIAN[survey]), 0.6, n), 10, 600).astype(
        np.int64
    )
    channel = rng.choice(len(_SURVEY_CHANNELS), size=n, p=_SURVEY_CHANNEL_MIX).astype(np.int8)
    comment = _comments(rng, survey, score)
    code = maybe_alias(rng, c, ids.typeform)

    # Planted bad rows: disjoint sets of organic rows, away from the very start and end.
    eligible = np.flatnonzero((np.arange(n) >= 10) & (responded < win.starts[win.months] - 3 * DAY))
    counts = {rule: max(1, round(share * n)) for rule, share in _PLANT_SURVEYS.items()}
    picks = disjoint(rng, eligible, counts)
    tag = np.zeros(n, dtype=np.int8)  # 0 clean, 1 duplicate id, 2 other bad rows
    tag[picks["duplicate_id"]] = 1
    rows = picks["unknown_customer"]
    # Distinct unknown ids, so that no two of them look like a repeated response.
    code[rows] = rng.choice(ids.unknown_survey, rows.size, replace=False)
    rows = picks["score_range"]
    score_null = np.zeros(n, dtype=bool)
    score[rows] = np.array([11, 0, 8])[survey[rows]]
    score_null[rows[rng.random(rows.size) < 0.25]] = True
    rows = picks["response_window"]
    early = rng.random(rows.size) < 0.5  # answered before it was sent; else > 30 days after
    sent[rows] = np.where(
        early,
        responded[rows] + rng.integers(HOUR, 2 * DAY, rows.size),
        responded[rows] - rng.integers(31 * DAY, 60 * DAY, rows.size),
    )
    duration[picks["speeder"]] = rng.integers(0, 3, counts["speeder"])
    for rule in ("unknown_customer", "score_range", "response_window", "speeder"):
        tag[picks[rule]] = 2

    # repeat_response: the same invitation submitted again 1 h to 2 days later.
    r = picks["repeat_response"]
    k = r.size
    columns = {
        "code": np.concatenate([code, code[r]]),
        "survey": np.concatenate([survey, survey[r]]),
        "score": np.concatenate(
            [
                score,
                np.clip(
                    score[r] + rng.integers(-1, 2, k), _SCORE_LO[survey[r]], _SCORE_HI[survey[r]]
                ),
            ]
        ),
        "score_null": np.concatenate([score_null, np.zeros(k, dtype=bool)]),
        "sent": np.concatenate([sent, sent[r]]),
        "responded": np.concatenate([responded, responded[r] + rng.integers(HOUR, 2 * DAY, k)]),
        "channel": np.concatenate([channel, channel[r]]),
        "duration": np.concatenate(
            [duration, np.clip(duration[r] + rng.integers(-5, 30, k), 10, 600)]
        ),
        "comment": np.concatenate([comment, np.full(k, -1, dtype=np.int16)]),
        "tag": np.concatenate([tag, np.full(k, 2, dtype=np.int8)]),
        "seq": np.concatenate([np.arange(n), r]),
    }
    del code, survey, score, score_null, sent, responded, channel, duration, comment, tag
    order = np.lexsort((columns["seq"], columns["responded"]))
    col = {name: columns.pop(name)[order] for name in list(columns)}
    del order
    number = assign_ids(rng, col["tag"])
    comments = pa.array(_COMMENTS_GOOD + _COMMENTS_MIXED + _COMMENTS_BAD)
    table = pa.table(
        {
            "response_id": format_ids("R", number, id_width(n, 8)),
            "customer_id": pc.take(ids.strings, pa.array(col["code"])),
            "survey": labels(SURVEYS, col["survey"]),
            "score": pa.array(col["score"], mask=col["score_null"]),
            "sent_at": timestamps(col["sent"]),
            "responded_at": timestamps(col["responded"]),
            "channel": labels(_SURVEY_CHANNELS, col["channel"]),
            "duration_seconds": pa.array(col["duration"]),
            "comment": pc.take(comments, pa.array(col["comment"], mask=col["comment"] < 0)),
        }
    )
    last = int(max(col["sent"].max(), col["responded"].max()))
    return table, counts, last


def _comments(rng: np.random.Generator, survey: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Comment codes (-1 = none): unhappy respondents write more, and write complaints."""
    bad = score <= np.array([6, 2, 3])[survey]
    good = score >= np.array([9, 5, 6])[survey]
    p = np.where(bad, 0.30, 0.06)
    has = rng.random(score.size) < p
    n_good, n_mixed, n_bad = len(_COMMENTS_GOOD), len(_COMMENTS_MIXED), len(_COMMENTS_BAD)
    pick = rng.random(score.size)
    code = np.where(
        good,
        np.floor(pick * n_good),
        np.where(bad, n_good + n_mixed + np.floor(pick * n_bad), n_good + np.floor(pick * n_mixed)),
    ).astype(np.int16)
    return np.where(has, code, -1).astype(np.int16)


def maybe_alias(rng: np.random.Generator, customer: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """Customer codes, half of them replaced by the customer's external id where it has one."""
    code = customer.astype(np.int64)
    swap = (alias[customer] >= 0) & (rng.random(customer.size) < 0.5)
    code[swap] = alias[customer[swap]]
    return code


def disjoint(
    rng: np.random.Generator, eligible: np.ndarray, counts: dict[str, int]
) -> dict[str, np.ndarray]:
    """Disjoint random sets of rows, one per rule, sorted."""
    need = sum(counts.values())
    if need > eligible.size:
        raise ConfigError("sample too small to plant the bad rows: increase customers or months")
    chosen = rng.choice(eligible, size=need, replace=False)
    out: dict[str, np.ndarray] = {}
    at = 0
    for rule, k in counts.items():
        out[rule] = np.sort(chosen[at : at + k])
        at += k
    return out


def assign_ids(rng: np.random.Generator, tag: np.ndarray) -> np.ndarray:
    """Sequential id numbers in file order; duplicates (tag 1) reuse an earlier clean row's id."""
    dup = tag == 1
    number = np.cumsum(~dup)
    clean = np.flatnonzero(tag == 0)
    where = np.flatnonzero(dup)
    before = np.searchsorted(clean, where)  # clean rows above each duplicate (always > 0)
    source = clean[np.floor(rng.random(where.size) * before).astype(np.int64)]
    number[where] = number[source]
    return number
