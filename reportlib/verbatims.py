"""What customers say: NPS comments of the month, redacted, and the top ones for a node's pack.

At compute time every NPS answer of the month with a comment is kept (after the quality
rules, DOMAIN.md §7) with the finest node of its customer, its score and channel, and its
text redacted, in output/<period>/verbatims.parquet: the file never holds an e-mail
address, a phone number or a long run of digits (an account, card or order number).
A pack then picks its node's detractors (score 0–6) and promoters (9–10), the customers
under the node counted as for every figure (§1).

"Top" means the most substantial: longest comment first (after redaction), then the most
recent, then the response id, so the choice is the same on every run.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata

import pandas as pd

from . import measures, periods
from .hierarchy import Hierarchy
from .measures import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN
from .sources import Source

log = logging.getLogger(__name__)

MAX_CHARS = 280
"""A comment longer than this is cut at a word boundary and ends with an ellipsis."""

COLUMNS = ("node", "response_id", "score", "responded_at", "channel", "comment")

EMAIL = "[e-mail]"
PHONE = "[phone]"
NUMBER = "[number]"

_EMAIL = re.compile(
    r"[\w.+%-]+\s*(?:@|\(at\)|\[at\]|\{at\})\s*[\w-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\{dot\})\s*[\w-]+)+",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
PHONE_DIGITS = 7
"""A digit group with separators (spaces, dots, dashes, brackets) and this many digits or
more reads as a phone number."""
MAX_PHONE_DIGITS = 15
"""The most digits a phone number has (E.164); more, with separators, is a card or account."""
LONG_RUN = 6
"""An unbroken run of this many digits or more (an account or card number) is redacted."""


def _clean(text: str) -> str:
    """NFKC (full-width @ and digits become plain) without invisible format characters.

    Zero-width spaces or joiners inside an address or a number would otherwise hide it
    from the patterns; line breaks and tabs become spaces.
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return re.sub(r"\s+", " ", text).strip()


def _number(match: re.Match[str]) -> str:
    """A phone number (7–15 digits with separators), a long number, or the text as it was."""
    s = match.group(0)
    digits = sum(ch.isdigit() for ch in s)
    if _DATE.match(s.strip()):
        return s
    separated = bool(re.search(r"[\s().\-/+]", s))
    if separated and PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return PHONE
    if digits >= LONG_RUN and (not separated or digits > MAX_PHONE_DIGITS):
        return NUMBER
    return s


def redact(text: str) -> str:
    """The comment without e-mail addresses, phone numbers or long digit runs, one line."""
    text = _EMAIL.sub(EMAIL, _clean(text))
    return _DIGITS.sub(_number, text)


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def compute(src: Source, tree: Hierarchy, period: str) -> pd.DataFrame:
    """This month's NPS comments, redacted, each with its customer's finest node."""
    if "survey_responses" not in src.tables:
        return pd.DataFrame(columns=list(COLUMNS))
    levels = tree.levels
    c = src.tables["customers"]
    c = c.mutate(**{lv: measures.level_value(c[lv]) for lv in levels})
    src = dataclasses.replace(src, tables={**src.tables, "customers": c})
    r = measures.with_levels(src.tables["survey_responses"], src.tables["customers"], levels)
    r = r.filter(
        r.responded_at_month.between(*periods.months_of(period)),
        r.responded_at <= src.as_of,
        r.survey == "nps",
        r.score.notnull(),
        r.comment.notnull(),
    )
    df = r.select(*levels, "response_id", "score", "responded_at", "channel", "comment").execute()
    df["node"] = (
        [
            tree.id_for_keys(tuple(str(v) for v in k))
            for k in zip(*(df[lv] for lv in levels), strict=True)
        ]
        if len(df)
        else []
    )
    df["comment"] = [shorten(redact(str(t))) for t in df["comment"]]
    df = df[df["comment"] != ""]
    df["score"] = df["score"].astype("int64")
    df["channel"] = df["channel"].fillna("").astype(str)
    df["responded_at"] = df["responded_at"].astype(str)
    # Text columns stay text when the month has no comment at all: an empty list assigned
    # above would make them float, and the pack reads them back as such.
    text = {c: str for c in ("node", "response_id", "responded_at", "channel", "comment")}
    out = df[list(COLUMNS)].astype(text).sort_values(["node", "response_id"], kind="stable")
    log.info("verbatims: %d comments for %s", len(out), period)
    return out.reset_index(drop=True)


def _under(frame: pd.DataFrame, node_id: str) -> pd.DataFrame:
    """The rows of the customers under `node_id` (all of them for the company)."""
    if node_id == "all":
        return frame
    return frame[(frame["node"] == node_id) | frame["node"].str.startswith(node_id + "/")]


def top(frame: pd.DataFrame, node_id: str, limit: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The node's top detractor and promoter comments (see the module docstring).

    The same text said by several customers is shown once, its row carrying `same`: how
    many others said it too (a board reads five distinct voices, not one five times).
    """
    mine = _under(frame, node_id)
    mine = mine.assign(_len=mine["comment"].str.len())
    order = ["_len", "responded_at", "response_id"]
    picked = []
    for side in (mine[mine["score"] <= NPS_DETRACTOR_MAX], mine[mine["score"] >= NPS_PROMOTER_MIN]):
        side = side.sort_values(order, ascending=[False, False, True], kind="stable")
        key = side["comment"].str.casefold()
        same = [int(n) - 1 for n in key.map(key.value_counts())]
        side = side.assign(same=same)[~key.duplicated()]
        picked.append(side.head(limit).drop(columns="_len"))
    return picked[0], picked[1]


def counts(frame: pd.DataFrame, node_id: str) -> tuple[int, int]:
    """How many detractor and promoter comments the node has this month."""
    mine = _under(frame, node_id)
    return (
        int((mine["score"] <= NPS_DETRACTOR_MAX).sum()),
        int((mine["score"] >= NPS_PROMOTER_MIN).sum()),
    )
