"""The output contract: each file of DESIGN.md "Outputs" has one name, given by layout.py."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from reportlib import layout
from reportlib.layout import OutputRoot, PeriodOutput

PACKAGE = Path(layout.__file__).parent


def test_period_files_sit_where_the_contract_says(tmp_path: Path) -> None:
    out = PeriodOutput(tmp_path, "2026-03")
    d = tmp_path / "2026-03"
    assert out.scorecard_csv == d / "scorecard.csv"
    assert out.scorecard_parquet == d / "scorecard.parquet"
    assert out.history == d / "history.parquet"
    assert out.manual_values == d / "manual_values.csv"
    assert out.quality_report == d / "quality" / "report.json"
    assert out.rejected("tickets") == d / "quality" / "tickets.rejected.csv"
    assert out.manifest == d / "manifest.json"
    assert out.deliveries == d / "deliveries.jsonl"
    assert out.outbox == d / "outbox"
    assert out.version_info(2) == d / "versions" / "2" / "version.json"
    assert out.restatement == d / "restatement.csv"
    assert out.scorecard_notebook == d / "notebooks" / "scorecard.ipynb"
    assert out.pack_pdf("ent/eu") == d / "ent" / "eu" / "board-pack.pdf"
    assert out.executed_notebook("all") == d / "all" / "board_pack.ipynb"
    assert out.preview_dir("ent/eu") == d / "preview" / "ent" / "eu"
    assert out.scorecard_files == (out.scorecard_csv, out.scorecard_parquet, out.history)


def test_nodes_come_from_the_scorecard_in_order(tmp_path: Path) -> None:
    out = PeriodOutput(tmp_path, "2026-03")
    assert out.nodes() == []
    out.dir.mkdir(parents=True)
    pd.DataFrame({"node": ["all", "all", "ent", "ent/eu", "ent"], "kpi": list("abcde")}).to_parquet(
        out.scorecard_parquet
    )
    assert out.nodes() == ["all", "ent", "ent/eu"]


def test_latest_computed_period_ignores_other_folders(tmp_path: Path) -> None:
    root = OutputRoot(tmp_path)
    assert root.latest_computed() is None
    for name in ("2026-02", "2026-10", "2026-11", "2026-13", "notes", "2026-1"):
        (tmp_path / name).mkdir()
    for name in ("2026-02", "2026-10", "2026-13"):
        (tmp_path / name / "scorecard.parquet").write_bytes(b"")
    assert list(root.periods()) == ["2026-02", "2026-10", "2026-11"]
    assert root.computed_periods() == ["2026-02", "2026-10"]
    assert root.latest_computed() == "2026-10"
    assert root.audit_log == tmp_path / "audit.jsonl"


def test_each_output_file_name_is_written_only_in_layout() -> None:
    names = [
        v
        for k, v in vars(layout).items()
        if k.isupper()
        and isinstance(v, str)
        and re.search(r"\.(csv|parquet|json|jsonl|pdf|ipynb)$", v)
    ]
    assert len(names) >= 10
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("layout.py", "sample.py"):  # sample.py writes the *input* tables
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names if f'"{n}"' in text]
    assert offenders == []
