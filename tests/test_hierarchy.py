"""Node ids, names and tree order (DOMAIN.md §2)."""

from __future__ import annotations

import pytest

from reportlib.config import HierarchyConfig
from reportlib.errors import DataError
from reportlib.hierarchy import build, slug

CONFIG = HierarchyConfig(
    company="Acme",
    levels=("segment", "region"),
    names={"segment": {"mid-market": "Mid-market"}, "region": {"emea": "EMEA"}},
)


def test_nodes_ids_names_and_order() -> None:
    tree = build(CONFIG, [("mid-market", "emea"), ("enterprise", "emea"), ("enterprise", "amer")])
    assert tree.ids == (
        "all",
        "enterprise",
        "enterprise/amer",
        "enterprise/emea",
        "mid-market",
        "mid-market/emea",
    )
    assert tree.node("all").name == "Acme"
    assert tree.node("mid-market/emea").name == "Mid-market · EMEA"
    assert tree.node("enterprise/amer").name == "Enterprise · Amer"  # no display name: title case
    assert tree.node("enterprise/emea").ancestors == ("enterprise", "all")
    assert [n.id for n in tree.children("enterprise")] == ["enterprise/amer", "enterprise/emea"]
    assert tree.id_for_keys(("enterprise", None)) == "enterprise"
    assert tree.id_for_keys((None, None)) == "all"


def test_slugs_are_filesystem_safe() -> None:
    assert slug("Mid Market") == "mid-market"
    assert slug("../etc") == "etc"
    assert slug("  ") == "unassigned"
    assert slug("Île-de-France") == "le-de-france"


def test_values_colliding_on_one_slug_are_refused() -> None:
    with pytest.raises(DataError, match="'Mid Market' and 'mid-market' both become node"):
        build(CONFIG, [("Mid Market", "emea"), ("mid-market", "emea")])
