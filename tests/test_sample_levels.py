"""Three-level samples: the branch column, its workforce, its configuration and its routing.

Two-level samples are covered by test_sample.py (and must not change: the default
arguments and an explicit `levels=2` give the same bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from reportlib import hierarchy
from reportlib.config import load_hierarchy
from reportlib.deliver.models import Distribution, select_nodes
from reportlib.errors import ConfigError
from reportlib.sample import SampleReport, columns, generate_sample

TINY = {"customers": 400, "months": 14, "seed": 5, "levels": 3, "branches": 2}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleReport]:
    root = tmp_path_factory.mktemp("three")
    return root, generate_sample(root / "sample", config_dir=root, **TINY)  # type: ignore[arg-type]


def _tree(root: Path) -> hierarchy.Hierarchy:
    config = load_hierarchy(root / "segments.yaml")
    customers = pd.read_csv(root / "sample" / "customers.csv", dtype=str)
    combos = customers[list(config.levels)].itertuples(index=False, name=None)
    return hierarchy.build(config, combos)


def test_three_levels_add_a_branch_column_to_customers_and_workforce(
    tiny: tuple[Path, SampleReport],
) -> None:
    root, report = tiny
    want = columns(3)
    assert want["customers"] == (
        "customer_id",
        "segment",
        "region",
        "branch",
        "acquired_on",
        "churned_on",
    )
    assert want["workforce"][:4] == ("period", "segment", "region", "branch")
    for table, cols in want.items():
        df = pd.read_csv(root / "sample" / f"{table}.csv", nrows=5)
        assert tuple(df.columns) == cols, table
        assert report.tables[table] > 0
    customers = pd.read_csv(root / "sample" / "customers.csv")
    per_region = customers.groupby("region")["branch"].unique()
    assert sorted(per_region["emea"]) == ["london", "paris"]
    assert sorted(per_region["latam"]) == ["mexico-city", "sao-paulo"]
    # Every segment×region cell has both its branches, so the tree has all 40 nodes.
    assert customers.groupby(["segment", "region", "branch"]).ngroups == 12 * 2


def test_workforce_has_one_row_per_month_and_branch_of_the_customers(
    tiny: tuple[Path, SampleReport],
) -> None:
    root, _ = tiny
    work = pd.read_csv(root / "sample" / "workforce.csv")
    customers = pd.read_csv(root / "sample" / "customers.csv")
    keys = ["segment", "region", "branch"]
    assert set(work[keys].itertuples(index=False, name=None)) == set(
        customers[keys].itertuples(index=False, name=None)
    )
    assert (work.groupby("period").size() == 24).all()
    assert work["period"].nunique() == TINY["months"]
    assert (work["headcount"] >= 8).all()


def test_segments_yaml_names_the_branches_and_the_tree_has_every_node(
    tiny: tuple[Path, SampleReport],
) -> None:
    root, _ = tiny
    config = load_hierarchy(root / "segments.yaml")
    assert config.levels == ("segment", "region", "branch")
    assert config.names["branch"]["sao-paulo"] == "São Paulo"
    tree = _tree(root)
    assert len(tree.nodes) == 1 + 3 + 12 + 24
    assert tree.node("smb/latam/sao-paulo").name == "SMB · LATAM · São Paulo"
    assert [c.id for c in tree.children("smb/latam")] == [
        "smb/latam/mexico-city",
        "smb/latam/sao-paulo",
    ]


def test_same_arguments_same_bytes_and_two_levels_unchanged(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", **TINY)  # type: ignore[arg-type]
    b = generate_sample(tmp_path / "b", **TINY)  # type: ignore[arg-type]
    assert _hashes(a.out) == _hashes(b.out)
    small = {"customers": 300, "months": 14, "seed": 5}
    two = generate_sample(tmp_path / "two", **small)  # type: ignore[arg-type]
    explicit = generate_sample(tmp_path / "explicit", levels=2, branches=0, **small)  # type: ignore[arg-type]
    assert _hashes(two.out) == _hashes(explicit.out)
    # The branch level changes who is where, not the company: same customers and invoices.
    three = generate_sample(tmp_path / "three", levels=3, branches=1, **small)  # type: ignore[arg-type]
    c2 = pd.read_csv(two.out / "customers.csv")
    c3 = pd.read_csv(three.out / "customers.csv")
    assert c2.equals(c3.drop(columns="branch"))
    assert _hashes(two.out)["revenue.csv"] == _hashes(three.out)["revenue.csv"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": 4}, "levels must be 2 (segment, region) or 3"),
        ({"levels": 1}, "levels must be 2 (segment, region) or 3"),
        ({"levels": 3}, "three levels need the number of branches per region"),
        ({"branches": 4}, "branches (4) need three levels"),
        ({"levels": 3, "branches": -1}, "branches must be a whole number"),
        ({"levels": 3, "branches": 61, "customers": 20_000}, "at most 60 per region"),
        ({"levels": 3, "branches": 3, "customers": 500}, "need at least 600 customers"),
    ],
)
def test_bad_level_arguments_raise_config_error_before_writing(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    args = {"customers": 300, "months": 14, **kwargs}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate_sample(tmp_path / "out", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_distribution_routes_each_pack_once_to_its_owners_at_300_nodes(tmp_path: Path) -> None:
    """24 branches per region: 304 nodes. Every recipient gets exactly the packs of their
    nodes (each once), the LATAM lead every LATAM branch, the branch manager one branch."""
    report = generate_sample(
        tmp_path / "sample", config_dir=tmp_path, customers=4800, months=13, levels=3, branches=24
    )
    assert report.tables["workforce"] == 13 * 12 * 24
    nodes = _tree(tmp_path).ids
    assert len(nodes) == 304
    raw = yaml.safe_load((tmp_path / "distribution.yaml").read_text(encoding="utf-8"))
    dist = Distribution(**raw)
    got = {r.email: select_nodes(r, nodes) for r in dist.recipients}
    for email, packs in got.items():
        assert len(packs) == len(set(packs)), email
        assert set(packs) <= set(nodes)
    assert got["ceo@example.com"] == ("all",)
    assert len(got["cco@example.com"]) == 304
    assert len(got["head-smb@example.com"]) == 1 + 4 + 4 * 24
    assert all(n == "smb" or n.startswith("smb/") for n in got["head-smb@example.com"])
    assert got["smb-emea@example.com"] == ("smb/emea",)
    latam = got["latam-lead@example.com"]
    assert len(latam) == 3 + 3 * 24
    assert all(n.split("/")[1] == "latam" for n in latam)
    assert got["branch-sao-paulo@example.com"] == (
        "enterprise/latam/sao-paulo",
        "mid-market/latam/sao-paulo",
        "smb/latam/sao-paulo",
    )
