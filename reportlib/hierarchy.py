"""Nodes of the cascading scorecards (DOMAIN.md §2): `all`, one per segment, one per segment×region."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anyascii import anyascii

from .config import HierarchyConfig
from .errors import DataError

UNASSIGNED = "unassigned"
"""Level value for customers with a blank segment/region, so nothing falls out of the tree."""


@dataclass(frozen=True)
class Node:
    """One node: a filesystem-safe slug path id, a display name, and its level keys."""

    id: str
    name: str
    level: int
    keys: tuple[str, ...]
    parent: str | None

    @property
    def ancestors(self) -> tuple[str, ...]:
        """Ids from the parent up to `all`, nearest first."""
        if self.level == 0:
            return ()
        parts = self.id.split("/")
        return (*("/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)), "all")


@dataclass(frozen=True)
class Hierarchy:
    """All nodes in display order (parents before children, siblings alphabetical)."""

    levels: tuple[str, ...]
    nodes: tuple[Node, ...]

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes)

    def children(self, node_id: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.parent == node_id)

    def id_for_keys(self, keys: tuple[str | None, ...]) -> str:
        """Node id for a row of level keys where rolled-up levels are None."""
        depth = sum(1 for k in keys if k is not None)
        if depth == 0:
            return "all"
        return "/".join(slug(k) for k in keys[:depth])  # type: ignore[arg-type]

    def descendants(self, node_id: str) -> tuple[Node, ...]:
        prefix = node_id + "/"
        if node_id == "all":
            return tuple(n for n in self.nodes if n.id != "all")
        return tuple(n for n in self.nodes if n.id.startswith(prefix))


_NON_SLUG = re.compile(r"[^a-z0-9]+")


FALLBACK_PREFIX = "id-"
"""Start of the id of a value with no ASCII reading (`id-` and 8 hex digits of its SHA-256)."""


def slug(value: str) -> str:
    """Filesystem-safe ASCII form of a level value, used as its node id and folder name.

    Any script is transliterated to ASCII first (`München` -> `munchen`, `中国` -> `zhongguo`),
    then lower-cased with runs of other characters turned into '-'. The result never holds a
    path separator or a leading dot and is never empty: a blank value is `unassigned`, and a
    value that transliterates to nothing (only symbols or invisible characters) gets a stable
    `id-` plus the first 8 hex digits of the SHA-256 of its text.
    """
    text = value.strip()
    if not text:
        return UNASSIGNED
    s = _NON_SLUG.sub("-", anyascii(text).lower()).strip("-")
    if s:
        return s
    return FALLBACK_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _display(config: HierarchyConfig, level: str, value: str) -> str:
    names = config.names.get(level, {})
    return (
        names.get(value)
        or names.get(slug(value))
        or value.replace("-", " ").replace("_", " ").title()
    )


def build(config: HierarchyConfig, combos: Iterable[tuple[str, ...]]) -> Hierarchy:
    """Build the tree from the distinct level-value combinations seen in the data."""
    levels = config.levels
    seen_slug: dict[tuple[int, str], str] = {}
    nodes: dict[str, Node] = {
        "all": Node(id="all", name=config.company, level=0, keys=(), parent=None)
    }
    for combo in sorted(set(combos)):
        if len(combo) != len(levels):
            raise ValueError("combination length differs from the number of levels")
        for depth in range(1, len(levels) + 1):
            keys = combo[:depth]
            value = keys[-1]
            s = slug(value)
            other = seen_slug.setdefault((depth, "/".join(slug(k) for k in keys)), value)
            if other != value:
                raise DataError(
                    f"{levels[depth - 1]} values {other!r} and {value!r} both become node {s!r}; "
                    "make them identical or distinct",
                    column=levels[depth - 1],
                )
            node_id = "/".join(slug(k) for k in keys)
            if node_id in nodes:
                continue
            parent = "all" if depth == 1 else "/".join(slug(k) for k in keys[:-1])
            name = " · ".join(_display(config, levels[i], k) for i, k in enumerate(keys))
            nodes[node_id] = Node(id=node_id, name=name, level=depth, keys=keys, parent=parent)
    ordered = sorted(nodes.values(), key=lambda n: (n.id != "all", n.id.split("/")))
    return Hierarchy(levels=levels, nodes=tuple(ordered))


LISTED = 20
"""Most node ids an error message lists in full; beyond, a count and the closest ids."""


def known_nodes(known: Sequence[str], asked: Iterable[str] = ()) -> str:
    """The known node ids for an error message about unknown ones (`asked`).

    Up to `LISTED` ids, all of them; a company of 300 nodes gets their count, the first
    few and the ids closest to those asked for, so the message stays one readable line.
    """
    if len(known) <= LISTED:
        return ", ".join(known)
    close: list[str] = []
    for wanted in asked:
        for match in difflib.get_close_matches(wanted, known, n=3, cutoff=0.6):
            if match not in close:
                close.append(match)
    text = f"{len(known)} nodes ({', '.join(known[:4])}, ...)"
    return text + (f"; did you mean {', '.join(close)}?" if close else "")
