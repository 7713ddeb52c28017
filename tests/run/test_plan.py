"""Planning a run: why a step is stale, where the notebooks are, which packs to render (no kernels)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from reportlib import layout, manifest, resources
from reportlib.commentary import OutsideProjectError
from reportlib.config import Project, load_project
from reportlib.errors import ConfigError
from reportlib.run import plan

from ..conftest import write_project

PERIOD = "2026-03"
NODES = ["all", "ent", "ent/eu", "smb"]
PARTS = {"period": PERIOD, "data": {"a.csv": {"sha256": "1"}}, "notebook": "n1"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return load_project(write_project(tmp_path))


def _options(project: Project, **kwargs: object) -> plan.RunOptions:
    args: dict = {
        "nodes": None,
        "workers": 2,
        "force": False,
        "accept_quality": None,
        "fresh_kernels": False,
    }
    return plan.resolve(project, PERIOD, **{**args, **kwargs})


def _computed(out: layout.PeriodOutput) -> None:
    """Stand-ins for the figures a compute writes: the plan reads only their node column and bytes."""
    frame = pd.DataFrame({"node": [n for n in NODES for _ in range(2)], "value": range(8)})
    out.dir.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out.scorecard_parquet)
    frame.to_parquet(out.history)


def test_stale_says_why(tmp_path: Path) -> None:
    output = tmp_path / "scorecard.csv"
    output.write_text("x\n")
    done = plan.stamp("done", 1.0, PARTS)
    assert plan.stale(done, PARTS, [output], force=True) == "forced"
    assert plan.stale({}, PARTS, [output], force=False) == "not run before"
    assert plan.stale({**done, "status": "failed"}, PARTS, [output], False) == "last run failed"
    assert plan.stale(done, PARTS, [output], False) is None
    assert plan.stale({**done, "status": "skipped"}, PARTS, [output], False) is None
    changed = {**PARTS, "data": {"a.csv": {"sha256": "2"}}}
    assert plan.stale(done, changed, [output], False) == "changed: data"
    assert plan.stale({"status": "done", "fingerprint": "old"}, PARTS, [output], False) == (
        "changed: data, notebook, period"  # a stamp without digests: every input is named
    )
    assert plan.stale(done, PARTS, [output, tmp_path / "history.parquet"], False) == (
        "missing history.parquet"
    )


def test_stamp_records_status_time_and_input_digests() -> None:
    s = plan.stamp("failed", 1.23456, PARTS, error={"ename": "X"})
    assert s == {
        "status": "failed",
        "seconds": 1.235,
        "fingerprint": manifest.fingerprint(PARTS),
        "inputs": manifest.input_digests(PARTS),
        "error": {"ename": "X"},
    }
    assert set(s["inputs"]) == set(PARTS)


def test_notebooks_come_from_the_project_before_the_package(project: Project) -> None:
    root = project.settings.root
    packaged = resources.packaged("notebooks")
    assert plan.notebook(project, layout.SCORECARD_NOTEBOOK) == packaged / "scorecard.ipynb"
    own = root / "notebooks" / layout.SCORECARD_NOTEBOOK
    own.parent.mkdir()
    own.write_text("{}")
    assert plan.notebook(project, layout.SCORECARD_NOTEBOOK) == own
    with pytest.raises(ConfigError) as e:
        plan.notebook(project, "nope.ipynb")
    assert str(e.value) == f"notebook nope.ipynb not found in {root / 'notebooks'} or {packaged}"


def test_resolve_keeps_the_request(project: Project) -> None:
    options = _options(project, nodes=["ent", "all", "ent"], workers=3, accept_quality="ok")
    assert options.out == layout.PeriodOutput(project.settings.output_path, PERIOD)
    assert options.nodes == ("ent", "all") and options.workers == 3
    assert options.parameters()["nodes"] == ["ent", "all"]
    assert _options(project).parameters()["nodes"] == "all"
    assert options.notebook_parameters() == {
        "period": PERIOD,
        "config": str(project.config_file),
        "output_dir": str(project.settings.output_path),
    }
    assert options.common["code"] == manifest.code_fingerprint()
    with pytest.raises(ConfigError, match="YYYY-MM"):
        plan.resolve(
            project,
            "2026-13",
            nodes=None,
            workers=1,
            force=False,
            accept_quality=None,
            fresh_kernels=False,
        )


def test_resolve_refuses_unknown_nodes_with_close_matches(project: Project) -> None:
    """Checked against the data's hierarchy before the run starts, so before any write."""
    with pytest.raises(ConfigError) as e:
        _options(project, nodes=["ent", "ent/eux", "mars"])
    assert str(e.value) == (
        "--node 'ent/eux': no such node in the hierarchy (and 1 more unknown); "
        "did you mean ent/eu or ent/us or ent?"
    )
    with pytest.raises(ConfigError, match=r"--node 'zzz': .*; the nodes are all, ent, ent/eu"):
        _options(project, nodes=["zzz"])
    assert _options(project, nodes=["smb", "all", "smb"]).nodes == ("smb", "all")
    assert not (project.settings.output_path).exists()


def test_resolve_refuses_a_period_after_the_cut_off(project: Project) -> None:
    with pytest.raises(ConfigError, match="period 2026-04 is after the data cut-off"):
        plan.resolve(
            project,
            "2026-04",
            nodes=None,
            workers=1,
            force=False,
            accept_quality=None,
            fresh_kernels=False,
        )


def test_unknown_nodes_are_named_with_the_known_ones(project: Project) -> None:
    # The scorecard on disk is checked too (a second line of defence): past resolve's check.
    options = dataclasses.replace(_options(project), nodes=("ent", "ent/mars", "mars"))
    _computed(options.out)
    with pytest.raises(ConfigError) as e:
        plan.selected_nodes(options)
    assert str(e.value) == (
        "unknown nodes ent/mars, mars; the nodes of 2026-03 are: all, ent, ent/eu, smb"
    )
    assert plan.selected_nodes(_options(project)) == tuple(NODES)
    assert plan.selected_nodes(_options(project, nodes=["smb", "all"])) == ("smb", "all")


def test_packs_are_rendered_until_their_stamp_is_current(project: Project) -> None:
    options = _options(project)
    out = options.out
    _computed(out)
    first = plan.plan_packs(options, None)
    assert first.selected == tuple(NODES) and first.skipped == ()
    assert [(t.node, t.reason) for t in first.tasks] == [(n, "not run before") for n in NODES]
    task = first.tasks[2]
    assert (task.pdf, task.executed) == (out.pack_pdf("ent/eu"), out.executed_notebook("ent/eu"))
    assert task.parameters == {**options.notebook_parameters(), "node": "ent/eu"}
    # Each pack done: its stamp recorded and its outputs written.
    for t in first.tasks:
        manifest.record_nodes(out, {t.node: {**t.stamp, "seconds": 2.0}})
        t.pdf.parent.mkdir(parents=True, exist_ok=True)
        t.pdf.write_bytes(b"%PDF")
        t.executed.write_text("{}")
    recorded = manifest.load(out)
    again = plan.plan_packs(options, recorded)
    assert again.tasks == ()
    assert [(o.node, o.status, o.seconds) for o in again.skipped] == [
        (n, "skipped", 2.0) for n in NODES
    ]
    # A commentary for one node makes only that pack stale; --force makes them all.
    note = project.settings.data_path / "commentary" / PERIOD / "ent" / "eu.md"
    note.parent.mkdir(parents=True)
    note.write_text("## Customer\nBetter.\n")
    stale = plan.plan_packs(options, recorded)
    assert [(t.node, t.reason) for t in stale.tasks] == [("ent/eu", "changed: commentary")]
    forced = plan.plan_packs(_options(project, force=True), recorded)
    assert [t.reason for t in forced.tasks] == ["forced"] * len(NODES)


def _done(options: plan.RunOptions) -> manifest.Manifest | None:
    """Every pack of `options` rendered and stamped current."""
    out = options.out
    for t in plan.plan_packs(options, None).tasks:
        manifest.record_nodes(out, {t.node: {**t.stamp, "seconds": 1.0}})
        t.pdf.parent.mkdir(parents=True, exist_ok=True)
        t.pdf.write_bytes(b"%PDF")
        t.executed.write_text("{}")
    return manifest.load(out)


def test_distribution_and_smtp_are_not_part_of_a_packs_fingerprint(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    data = tmp_path / "data"
    (data / "distribution.yaml").write_text("recipients: []\n")
    project = load_project(config)
    _computed(_options(project).out)
    recorded = _done(_options(project))
    # Who receives the packs, and how they are sent: no pack shows either.
    (data / "distribution.yaml").write_text(
        "recipients:\n  - name: Ann\n    email: ann@example.com\n    nodes: [all]\n"
    )
    with config.open("a") as f:
        f.write('\n[smtp]\nhost = "mail.example.com"\nport = 2525\n')
    edited = load_project(config)
    assert edited.settings.smtp.port == 2525
    again = plan.plan_packs(_options(edited), recorded)
    assert again.tasks == () and [o.node for o in again.skipped] == NODES
    # What a pack shows does count: the targets.
    targets = data / "targets.csv"
    targets.write_text(targets.read_text() + "\n")
    changed = plan.plan_packs(_options(load_project(config)), recorded)
    assert {t.reason for t in changed.tasks} == {"changed: config"}
    assert len(changed.tasks) == len(NODES)


def test_resolve_refuses_commentary_leading_out_of_the_project(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any month's commentary linked outside the project stops the run up front, before a write."""
    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text("## Summary\nsecret text\n", encoding="utf-8")
    folder = project.settings.data_path / "commentary" / "2026-02"  # an earlier month
    folder.mkdir(parents=True)
    (folder / "all.md").symlink_to(outside)
    try:
        with pytest.raises(OutsideProjectError, match=r"all\.md leads to .*outside the project"):
            _options(project)
    finally:
        (folder / "all.md").unlink()
    _options(project)  # the same folder without the link is accepted
    assert not project.settings.output_path.exists()
