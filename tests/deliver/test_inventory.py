"""The packs of a period on disk, the attachment limit as sent, and when a period may not be sent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from reportlib.config import load_project
from reportlib.deliver import inventory
from reportlib.errors import DeliveryError
from reportlib.layout import PeriodOutput

from ..conftest import write_project

PERIOD = "2026-03"


def test_split_packs_keeps_each_email_under_the_limit_as_sent(tmp_path: Path) -> None:
    # As sent: 600 bytes are 800 base64 characters in 11 lines (822), 390 are 520 + 14 (534),
    # 300 are 400 + 12 (412), 800 are 1068 + 30 (1098).
    assert [inventory.encoded_size(n) for n in (600, 390, 300, 800)] == [822, 534, 412, 1098]
    packs = [
        inventory.Pack(n, n, tmp_path, "0", size)
        for n, size in (("a", 600), ("b", 390), ("c", 800), ("d", 300))
    ]
    parts, refused = inventory.split_packs(packs, 1000)
    # a and b are 990 bytes on disk, under 1000, but 1356 as sent: two emails.
    assert [[p.node for p in part] for part in parts] == [["a"], ["b", "d"]]
    assert all(sum(p.encoded_size for p in part) <= 1000 for part in parts)
    assert [p.node for p in refused] == ["c"]


def _output(tmp_path: Path) -> PeriodOutput:
    """A period folder with a scorecard naming three nodes (two rows each) and two packs."""
    output = PeriodOutput(tmp_path / "output", PERIOD)
    output.dir.mkdir(parents=True)
    frame = pd.DataFrame(
        {
            "node": ["all", "all", "ent", "ent", "ent/eu", "ent/eu"],
            "node_name": ["Tiny Co"] * 2 + ["Enterprise"] * 2 + ["Enterprise · Europe"] * 2,
        }
    )
    frame.to_parquet(output.scorecard_parquet)
    for node, data in (("all", b"%PDF all"), ("ent/eu", b"%PDF ent/eu, longer")):
        output.pack_pdf(node).parent.mkdir(parents=True, exist_ok=True)
        output.pack_pdf(node).write_bytes(data)
    return output


def test_nodes_names_and_packs_come_from_the_layout(tmp_path: Path) -> None:
    output = _output(tmp_path)
    assert inventory.period_nodes(output) == ("all", "ent", "ent/eu")
    names = inventory.node_names(output)
    assert names == {"all": "Tiny Co", "ent": "Enterprise", "ent/eu": "Enterprise · Europe"}
    found = inventory.packs(output, ["ent/eu", "all"], names)
    assert list(found) == ["ent/eu", "all"]
    eu = found["ent/eu"]
    assert eu.path == tmp_path / "output" / PERIOD / "ent" / "eu" / "board-pack.pdf"
    assert eu.sha256 == hashlib.sha256(b"%PDF ent/eu, longer").hexdigest() and eu.size == 19
    assert eu.name == "Enterprise · Europe" and eu.filename == "board-pack-ent-eu.pdf"
    assert eu.attachment() == inventory.Attachment("ent/eu", "board-pack-ent-eu.pdf", eu.sha256, 19)


def test_no_scorecard_means_run_first(tmp_path: Path) -> None:
    output = PeriodOutput(tmp_path / "output", PERIOD)
    with pytest.raises(DeliveryError, match=r"scorecard.parquet not found: run `reportlib run"):
        inventory.period_nodes(output)


def test_no_manifest_means_nothing_can_be_sent(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path))
    output = _output(tmp_path)
    with pytest.raises(DeliveryError, match=r"no manifest\.json, so nothing can be sent"):
        inventory.require_current(project, output, ["all"])
