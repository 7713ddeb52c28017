"""Restatements: recomputing a period with changed figures keeps the old version (DOMAIN.md §8)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reportlib import audit, commentary, packdata, pipeline, render
from reportlib.charts import Charts
from reportlib.cli import main
from reportlib.config import load_project

from .conftest import write_project

PERIOD = "2026-03"
# A late NPS response from C2 (ent/eu), who has no other NPS within 7 days of it.
LATE = "R20,C2,nps,10,2026-03-20 10:00:00,2026-03-21 10:00:00,email,40,\n"


@pytest.fixture
def restated(tmp_path: Path) -> Path:
    """The tiny project computed, then recomputed after a late survey response arrived."""
    config = write_project(tmp_path)
    project = load_project(config)
    pipeline.compute(project, PERIOD)
    with (tmp_path / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)
    pipeline.compute(project, PERIOD)
    return config


def test_first_compute_keeps_no_version(tiny: Path) -> None:
    project = load_project(tiny)
    pipeline.compute(project, PERIOD)
    out = project.settings.period_dir(PERIOD)
    assert not (out / "versions").exists() and not (out / "restatement.csv").exists()
    assert packdata.load_context(project, PERIOD, "all").version == 1


def test_restatement_keeps_previous_files_and_lists_changes(restated: Path) -> None:
    project = load_project(restated)
    out = project.settings.period_dir(PERIOD)
    v1 = out / "versions" / "1"
    for name in ("scorecard.csv", "scorecard.parquet", "history.parquet"):
        assert (v1 / name).is_file()
    old = pd.read_csv(v1 / "scorecard.csv").set_index(["node", "kpi"])
    assert old.loc[("all", "nps"), "n"] == 7
    changes = pd.read_csv(out / "restatement.csv")
    assert list(changes.columns) == ["node", "kpi", "old", "new", "delta"]
    assert set(changes["kpi"]) == {"nps"}
    rows = changes.set_index("node")
    # all: P 3 D 2 of 7 -> P 4 D 2 of 8; ent: P 2 D 1 of 4 -> P 3 D 1 of 5; ent/eu: n 2 -> 3.
    assert rows.loc["all", "old"] == pytest.approx(100 * 1 / 7, abs=1e-12)
    assert rows.loc["all", "new"] == 25.0
    assert rows.loc["all", "delta"] == pytest.approx(25 - 100 / 7, abs=1e-12)
    assert (rows.loc["ent", "old"], rows.loc["ent", "new"]) == (25.0, 40.0)
    assert (rows.loc["ent/eu", "old"], rows.loc["ent/eu", "new"], rows.loc["ent/eu", "delta"]) == (
        100.0,
        100.0,
        0.0,
    )
    assert sorted(rows.index) == ["all", "ent", "ent/eu"]
    entries = audit.read(audit.path(project.settings.output_path))
    restatements = [e for e in entries if e["what"] == "restatement"]
    assert len(restatements) == 1
    assert restatements[0]["why"] == "3 figures changed"
    assert restatements[0]["period"] == PERIOD
    assert (restatements[0]["old"], restatements[0]["new"]) == ("v1", "v2")
    assert audit.check(audit.path(project.settings.output_path)) == len(entries)


def test_unchanged_recompute_adds_no_version(restated: Path) -> None:
    project = load_project(restated)
    out = project.settings.period_dir(PERIOD)
    before = (out / "restatement.csv").read_bytes()
    log = audit.path(project.settings.output_path)
    n_entries = len(audit.read(log))
    pipeline.compute(project, PERIOD)
    assert not (out / "versions" / "2").exists()
    assert (out / "restatement.csv").read_bytes() == before
    assert len(audit.read(log)) == n_entries


def test_diff_command(
    restated: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--period", PERIOD, "--config", str(restated)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "node,kpi,old,new,delta"
    assert lines[1:] == [
        "all,nps,14.28571429,25,10.71428571",
        "ent,nps,25,40,15",
        "ent/eu,nps,100,100,0",
    ]
    plain = write_project(tmp_path_factory.mktemp("plain"))
    assert main(["compute", "--period", PERIOD, "--config", str(plain)]) == 0
    capsys.readouterr()
    assert main(["diff", "--period", PERIOD, "--config", str(plain)]) == 0
    assert capsys.readouterr().out.strip() == "no restatement"


def test_cover_shows_version(restated: Path) -> None:
    project = load_project(restated)
    ctx = packdata.load_context(project, PERIOD, "all")
    assert ctx.version == 2 and ctx.restated_on
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    html = render.render_section(ctx, Charts({}, {}, {}), notes, "cover")
    assert f"v2, restated on {ctx.restated_on}" in html


def test_stale_commentaries_after_restatement(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path))
    pipeline.compute(project, PERIOD)
    commentary.write_drafts(project, PERIOD, ["all", "ent"])
    no_hash = commentary.path_for(project, PERIOD, "smb")
    no_hash.write_text("## Summary\n\nWritten by hand.\n", encoding="utf-8")
    assert commentary.stale_commentaries(project, PERIOD) == []
    with (tmp_path / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)
    pipeline.compute(project, PERIOD)
    assert commentary.stale_commentaries(project, PERIOD) == ["all", "ent"]
    assert commentary.stale_commentaries(project, "2026-02") == []


def test_a_restatement_names_the_files_that_changed(tmp_path: Path) -> None:
    """Computed as `run` does (recorded in manifest.json), then a late response and a new
    target: the kept version, the audit log and the restatement page name both files."""
    from reportlib import manifest
    from reportlib import notebook as rl
    from reportlib.layout import PeriodOutput
    from reportlib.render import restatement_views

    config = write_project(tmp_path)
    project = load_project(config)
    rl.scorecard_step(project, PERIOD)
    out = PeriodOutput(project.settings.output_path, PERIOD)
    assert manifest.files_changed_since(project, out) == ()
    with (tmp_path / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)
    with (tmp_path / "data" / "targets.csv").open("a", encoding="utf-8") as fh:
        fh.write("csat,*,2025-01,60,40\n")
    changed = ("data/src/survey_responses.csv", "data/targets.csv")
    assert manifest.files_changed_since(project, out) == changed
    rl.scorecard_step(project, PERIOD)
    # Recorded again by the second compute: nothing differs from the new record.
    assert manifest.files_changed_since(project, out) == ()
    ctx = packdata.load_context(project, PERIOD, "all")
    assert (ctx.version, ctx.restated_files) == (2, changed)
    (event,) = [
        e
        for e in audit.read(audit.path(project.settings.output_path))
        if e["what"] == "restatement"
    ]
    assert event["why"].endswith(
        "figures changed; files changed: data/src/survey_responses.csv, data/targets.csv"
    )
    reason = restatement_views.restatement_view(ctx).reason
    assert (
        "was recomputed on " in reason
        and "after its figures were first issued, and a change to data/src/survey_responses.csv "
        "and data/targets.csv changed them: this is version 2."
        in reason
    ), reason


def test_the_reason_names_up_to_four_files() -> None:
    from reportlib.render.restatement_views import changed_inputs

    assert changed_inputs(()).startswith("a change in its inputs (late or corrected rows")
    assert changed_inputs(("data/kpis.yaml",)) == "a change to data/kpis.yaml"
    assert changed_inputs(("a", "b", "c")) == "a change to a, b and c"
    assert changed_inputs(tuple("abcdef")) == "a change to a, b, c, d and 2 more files"
