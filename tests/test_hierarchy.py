"""Node ids, names and tree order (DOMAIN.md §2)."""

from __future__ import annotations

import hashlib
import re

import pytest

from reportlib.config import HierarchyConfig
from reportlib.errors import DataError
from reportlib.hierarchy import LISTED, build, known_nodes, slug

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
    assert slug("Île-de-France") == "ile-de-france"  # transliterated, not dropped


@pytest.mark.parametrize(
    ("value", "node_id"),
    [
        ("München", "munchen"),
        ("中国", "zhongguo"),
        ("日本", "riben"),
        ("Россия", "rossiya"),
        ("Ελλάδα", "ellada"),
        ("São Paulo / Centro", "sao-paulo-centro"),
        ("..", "id-" + hashlib.sha256(b"..").hexdigest()[:8]),
        ("★", "id-" + hashlib.sha256("★".encode()).hexdigest()[:8]),  # anyascii: "*"
        ("\u200b", "id-" + hashlib.sha256("\u200b".encode()).hexdigest()[:8]),
    ],
)
def test_values_in_any_script_become_ascii_ids(value: str, node_id: str) -> None:
    assert slug(value) == node_id
    assert slug(value) == slug(value)  # deterministic
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug(value))  # no separator, dot or blank


def test_a_value_with_no_ascii_reading_gets_a_stable_hash_id() -> None:
    assert slug("?!") == slug(" ?! ") == "id-" + hashlib.sha256(b"?!").hexdigest()[:8]
    assert slug("?!") != slug("!?")


def test_non_latin_values_keep_their_text_as_display_names() -> None:
    config = HierarchyConfig(company="Acme", levels=("segment", "country"), names={})
    tree = build(config, [("München", "中国"), ("München", "日本")])
    assert tree.ids == ("all", "munchen", "munchen/riben", "munchen/zhongguo")
    assert tree.node("munchen").name == "München"
    assert tree.node("munchen/zhongguo").name == "München · 中国"
    assert tree.node("munchen/riben").keys == ("München", "日本")
    assert tree.id_for_keys(("München", "中国")) == "munchen/zhongguo"


def test_configured_names_match_the_value_or_its_id() -> None:
    config = HierarchyConfig(
        company="Acme",
        levels=("segment", "country"),
        names={"segment": {"munchen": "Munich office"}, "country": {"中国": "China"}},
    )
    tree = build(config, [("München", "中国")])
    assert tree.node("munchen/zhongguo").name == "Munich office · China"


def test_non_latin_values_with_one_reading_are_refused_naming_both_and_the_level() -> None:
    config = HierarchyConfig(company="Acme", levels=("segment", "country"), names={})
    with pytest.raises(DataError) as e:
        build(config, [("ent", "北京"), ("ent", "背景")])
    assert str(e.value) == (
        "column country: country values '北京' and '背景' both become node 'beijing'; "
        "make them identical or distinct"
    )


def test_values_colliding_on_one_slug_are_refused() -> None:
    with pytest.raises(DataError, match="'Mid Market' and 'mid-market' both become node"):
        build(CONFIG, [("Mid Market", "emea"), ("mid-market", "emea")])


def test_unknown_node_messages_stay_one_readable_line_at_300_nodes() -> None:
    few = ["all", "ent", "ent/eu", "smb"]
    assert known_nodes(few, ["mars"]) == "all, ent, ent/eu, smb"  # small trees: every id
    many = (
        ["all"]
        + [f"smb/latam/{city}" for city in ("lima", "quito", "sao-paulo")]
        + [f"seg{i}/reg{j}" for i in range(3) for j in range(100)]
    )
    assert len(many) > LISTED
    text = known_nodes(many, ["smb/latam/sao-paolo"])
    assert text.startswith(f"{len(many)} nodes (all, smb/latam/lima, smb/latam/quito, ")
    assert "; did you mean smb/latam/sao-paulo" in text  # the closest first
    assert len(text) < 200
