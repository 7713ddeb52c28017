"""Text that keeps the pack's layout and meaning: bidi controls removed, quotes flattened, tables cut.

Commentary is written by people and data comes from outside, so the pack guards against
text that would mislead or break the page:

- bidi control characters (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) can make
  a PDF show text in another order than it is stored ("abc\u202edcba" shows "abcabcd"):
  they are removed from commentary and from every text of the pack;
- block quotes nested deeper than `MAX_QUOTE_DEPTH` are flattened to that depth, so no
  text is lost to the Markdown parser's nesting limit;
- a table wider than `MAX_TABLE_COLUMNS` or longer than `MAX_TABLE_ROWS` keeps its first
  columns and rows and says, under it, how many are not shown.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it.rules_core import StateCore
from markdown_it.token import Token

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Characters that change the display order of text: embeddings, overrides, isolates, marks."""

MAX_QUOTE_DEPTH = 3
"""Block quotes deeper than this are shown at this depth (their text is kept)."""

MAX_TABLE_COLUMNS = 8
"""Columns of a commentary table that fit the narrowest commentary box (about 120 mm)."""

MAX_TABLE_ROWS = 50
"""Body rows of a commentary table shown (a longer table continues on the next page up to this)."""

_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
_QUOTE_MARKERS = re.compile(r"^(?:[ ]{0,3}>[ ]?)+")
_FENCE = re.compile(r"^[ ]{0,3}(?:```|~~~)")


def bidi_count(text: str) -> int:
    """How many bidi control characters `text` holds."""
    return len(_BIDI.findall(text))


def strip_bidi(text: str) -> str:
    """`text` without bidi control characters, so it shows in the order it is stored."""
    return _BIDI.sub("", text)


def cap_quotes(text: str, depth: int = MAX_QUOTE_DEPTH) -> tuple[str, int]:
    """Markdown with block quotes nested at most `depth` deep, and how many lines were flattened.

    A line opening with more than `depth` quote markers (`> > > > text`, `>>>>text`) keeps
    `depth` of them and all its text; lines of fenced code blocks are left as they are.
    """
    out: list[str] = []
    flattened = 0
    in_fence = False
    for line in text.split("\n"):
        markers = _QUOTE_MARKERS.match(line)
        if markers is None and _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and markers is not None and markers.group(0).count(">") > depth:
            line = "> " * depth + line[markers.end() :]
            flattened += 1
        out.append(line)
    return "\n".join(out), flattened


def _cells(tokens: list[Token], start: int, end: int) -> list[tuple[int, int]]:
    """(first, last) token index of each cell (th/td) of the row tokens[start:end]."""
    spans, first = [], None
    for i in range(start, end):
        t = tokens[i]
        if t.type in ("th_open", "td_open"):
            first = i
        elif t.type in ("th_close", "td_close") and first is not None:
            spans.append((first, i))
            first = None
    return spans


def _rows(tokens: list[Token], start: int, end: int) -> list[tuple[int, int, bool]]:
    """(tr_open, tr_close, in the body) of each row of the table tokens[start:end]."""
    rows, first, body = [], None, False
    for i in range(start, end):
        t = tokens[i]
        if t.type == "tbody_open":
            body = True
        elif t.type == "tr_open":
            first = i
        elif t.type == "tr_close" and first is not None:
            rows.append((first, i, body))
            first = None
    return rows


def truncation_note(columns: int, hidden_columns: int, rows: int, hidden_rows: int) -> str:
    """The line printed under a cut table: "table truncated: 100 of 120 columns not shown"."""
    parts = []
    if hidden_columns:
        parts.append(f"{hidden_columns} of {columns} columns")
    if hidden_rows:
        parts.append(f"{hidden_rows} of {rows} rows")
    return "table truncated: " + " and ".join(parts) + " not shown"


def _truncate(tokens: list[Token], start: int, end: int) -> tuple[list[Token], str | None]:
    """The table tokens[start:end+1] cut to the limits, and its truncation line (None if whole)."""
    rows = _rows(tokens, start, end)
    columns = max((len(_cells(tokens, a, b)) for a, b, _ in rows), default=0)
    body = [r for r in rows if r[2]]
    drop: set[int] = set()
    for a, b, _ in body[MAX_TABLE_ROWS:]:
        drop.update(range(a, b + 1))
    for a, b, _ in rows:
        for first, last in _cells(tokens, a, b)[MAX_TABLE_COLUMNS:]:
            drop.update(range(first, last + 1))
    hidden_columns = max(0, columns - MAX_TABLE_COLUMNS)
    hidden_rows = max(0, len(body) - MAX_TABLE_ROWS)
    kept = [t for i, t in enumerate(tokens[start : end + 1], start) if i not in drop]
    if not (hidden_columns or hidden_rows):
        return kept, None
    return kept, truncation_note(columns, hidden_columns, len(body), hidden_rows)


def truncate_tables(state: StateCore) -> None:
    """markdown-it core rule: cut each table to the limits and add its truncation line after it."""
    tokens: list[Token] = state.tokens
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i].type != "table_open":
            out.append(tokens[i])
            i += 1
            continue
        end = next(j for j in range(i, len(tokens)) if tokens[j].type == "table_close")
        kept, note = _truncate(tokens, i, end)
        out.extend(kept)
        if note is not None:
            line = Token("html_block", "", 0, content=f'<p class="table-truncated">{note}</p>\n')
            line.level = tokens[i].level
            out.append(line)
        i = end + 1
    state.tokens = out


def install(md: Any) -> Any:
    """Add the table limits to a MarkdownIt parser (a core rule after the block and inline rules)."""
    md.core.ruler.push("truncate_tables", truncate_tables)
    return md
