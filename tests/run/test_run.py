"""`reportlib run` end to end on the tiny project: notebooks, PDFs, manifest, skip/resume, failures.

One real run (papermill, real kernels, two worker processes) is shared by the module, and its
outputs are copied as they were right after it, so the checks on the first run read that copy
whatever ran since. The re-runs build on it in the project itself (an unchanged re-run, a fixed
commentary, --force, a bad --node); each fixture keeps what its checks need, taken right after
its run, so no test depends on the order the tests run in.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from pypdf import PdfReader

from reportlib import cli, fileio, manifest, resources
from reportlib import run as runner
from reportlib.config import load_project
from reportlib.layout import BOARD_PACK_NOTEBOOK, LOCK_FILE

from ..conftest import SURVEYS, write_project

pytestmark = pytest.mark.slow

PERIOD = "2026-03"
NODES = ("all", "ent", "ent/eu", "ent/us", "smb", "smb/eu", "smb/us")
BROKEN = "smb/us"
# The company's own board pack notebook adds a check after the commentary cell: a note held back
# by its front matter stops that node's pack. A broken front matter would stop the whole run
# before it computes anything (commentary.check_period); this fails one node's notebook only.
HOLD_CHECK = (
    'if notes.front_matter.get("hold"):\n'
    "    raise RuntimeError(f\"held back: {notes.front_matter['hold']}\")"
)
HELD_COMMENTARY = "---\nhold: legal review\n---\n## Customer\nBetter than last month.\n"
GOOD_COMMENTARY = "# Small business · United States\n\n## Customer\nBetter than last month.\n"
REPORTLIB = Path(sys.executable).with_name("reportlib")
# Two NPS scores out of range (2 of 17 survey rows, over the 5% gate): every run accepts them
# with this reason, which must reach the manifest and the pack.
ACCEPT = "fixture: two planted out-of-range scores"
SURVEYS_WITH_BAD_SCORES = (
    SURVEYS
    + "R90,C1,nps,11,2026-03-05 10:00:00,2026-03-05 11:00:00,email,40,\n"
    + "R91,C3,nps,12,2026-03-06 10:00:00,2026-03-06 11:00:00,email,40,\n"
)


def _commentary(root: Path, node: str) -> Path:
    return root / "data" / "commentary" / PERIOD / f"{node}.md"


def _project(root: Path) -> Path:
    """The tiny project with its own board pack notebook (the shipped one and a hold check),
    and a commentary file for smb/us that is held back."""
    config = write_project(root, tables={"survey_responses": SURVEYS_WITH_BAD_SCORES})
    shipped = nbformat.read(resources.find(root, "notebooks", BOARD_PACK_NOTEBOOK), as_version=4)
    at = next(
        i for i, c in enumerate(shipped.cells) if c.source.startswith("notes = rl.commentary")
    )
    shipped.cells.insert(at + 1, nbformat.v4.new_code_cell(HOLD_CHECK))
    (root / "notebooks").mkdir()
    nbformat.write(shipped, root / "notebooks" / BOARD_PACK_NOTEBOOK)
    note = _commentary(root, BROKEN)
    note.parent.mkdir(parents=True)
    note.write_text(HELD_COMMENTARY, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    _project(root)
    return root


@dataclass(frozen=True)
class FirstRun:
    """`reportlib run` as the reporting lead types it, and a copy of output/<period>/ right after."""

    process: subprocess.CompletedProcess[str]
    out: Path
    """The copy of output/<period>/ as the first run left it."""

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    @property
    def manifest(self) -> dict:
        return json.loads(self.path("manifest.json").read_text())


@pytest.fixture(scope="module")
def first(root: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The first run (not on a terminal: plain progress lines), its outputs kept aside."""
    process = subprocess.run(
        [str(REPORTLIB), "run", "--period", PERIOD, "--workers", "2", "--accept-quality", ACCEPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    copy = tmp_path_factory.mktemp("first") / PERIOD
    shutil.copytree(root / "output" / PERIOD, copy)
    return FirstRun(process, copy)


def _out(root: Path, *parts: str) -> Path:
    return root.joinpath("output", PERIOD, *parts)


# --------------------------------------------------------------------------- the first run


def test_failed_node_is_reported_and_the_others_finish(first: FirstRun) -> None:
    run = first.process
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    # The summary names the node, the cell (index, first source line) and the error.
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith(f"FAILED {BROKEN}: cell ")
    assert '`if notes.front_matter.get("hold"):`' in failed[0]
    assert failed[0].endswith("RuntimeError: held back: legal review")
    assert f"error: 1 of {len(NODES)} board packs failed: {BROKEN}" in run.stderr
    assert "6 done, 1 failed" in run.stdout
    # Plain progress lines, one per node.
    for node in NODES:
        if node != BROKEN:
            assert re.search(rf"^\[\d/7\] {re.escape(node)} done in \d+\.\ds$", run.stderr, re.M), (
                node
            )
    assert re.search(rf"^\[\d/7\] {BROKEN} FAILED after", run.stderr, re.M)


def test_every_node_has_its_pack_and_executed_notebook(first: FirstRun) -> None:
    assert first.path("notebooks", "scorecard.ipynb").is_file()
    for node in NODES:
        assert first.path(node, "board_pack.ipynb").is_file(), node
        assert first.path(node, "board-pack.pdf").is_file() == (node != BROKEN), node
    # Atomic writes leave no temporary files behind (the period's lock file stays, free).
    assert [p.name for p in first.out.rglob(".*")] == [LOCK_FILE]


def _fonts(obj: Any, seen: set[int] | None = None) -> dict[str, bool]:
    """Every font reachable from a page or form XObject: base name -> embedded?"""
    seen = set() if seen is None else seen
    out: dict[str, bool] = {}
    res = obj.get("/Resources")
    if res is None:
        return out
    res = res.get_object()
    for ref in (res.get("/Font") or {}).values():
        font = ref.get_object()
        desc = font.get("/FontDescriptor")
        if desc is None and font.get("/Subtype") == "/Type0":
            desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        desc = desc.get_object() if desc is not None else None
        embedded = desc is not None and any(
            k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        out[str(font.get("/BaseFont"))] = embedded or font.get("/Subtype") == "/Type3"
    for ref in (res.get("/XObject") or {}).values():
        if getattr(ref, "idnum", None) in seen:
            continue
        seen.add(getattr(ref, "idnum", -1))
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            out.update(_fonts(xobj, seen))
    return out


@pytest.mark.parametrize("node", ["all", "ent/eu"])
def test_pack_pdf(root: Path, first: FirstRun, node: str) -> None:
    project = load_project(root / "reportlib.toml")
    reader = PdfReader(first.path(node, "board-pack.pdf"))
    assert len(reader.pages) > 3
    assert reader.outline, "no bookmarks"
    names = {"all": "Tiny Co", "ent/eu": "Enterprise · Europe"}
    assert names[node] in (reader.metadata.title or "")
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert names[node] in text
    for k in project.kpis:
        assert k.name in text, k.name
    assert ACCEPT in text  # the quality override, in the appendix
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        fonts.update(_fonts(page))
    assert fonts and all(fonts.values()), fonts


def test_manifest_hashes_match_the_files_on_disk(first: FirstRun) -> None:
    files = first.manifest["files"]
    on_disk = {
        p.relative_to(first.out).as_posix()
        for p in first.out.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", LOCK_FILE)
    }
    assert set(files) == on_disk
    assert {
        "scorecard.csv",
        "scorecard.parquet",
        "history.parquet",
        "notebooks/scorecard.ipynb",
    } <= on_disk
    for rel, entry in files.items():
        p = first.path(rel)
        assert entry == {"sha256": fileio.sha256(p), "size": p.stat().st_size}, rel


def test_manifest_records_inputs_code_parameters_and_steps(root: Path, first: FirstRun) -> None:
    m = first.manifest
    assert m["schema_version"] == manifest.SCHEMA_VERSION
    assert m["period"] == PERIOD
    assert m["as_of"] == "2026-03-31T12:00:00"
    assert m["code"]["version"] and re.fullmatch(r"[0-9a-f]{40}|unknown", m["code"]["commit"])
    for rel in ("reportlib.toml", "data/kpis.yaml", "data/segments.yaml", "data/targets.csv"):
        assert m["config"][rel]["sha256"] == fileio.sha256(root / rel), rel
    for table in ("customers", "survey_responses", "tickets", "revenue", "workforce"):
        rel = f"data/src/{table}.csv"
        assert m["inputs"][rel]["sha256"] == fileio.sha256(root / rel), rel
    assert m["parameters"]["period"] == PERIOD and m["parameters"]["workers"] == 2
    assert m["parameters"]["accept_quality"] == ACCEPT
    assert m["quality"]["passed"] is False
    assert m["quality"]["accepted"] is True and m["quality"]["reason"] == ACCEPT
    assert m["quality"]["sha256"] == fileio.sha256(first.path("quality", "report.json"))
    assert m["steps"]["scorecard"]["status"] == "done" and m["steps"]["scorecard"]["seconds"] > 0
    assert set(m["steps"]["compute"]["seconds"]) >= {"load", "measures", "scorecard", "write"}
    nodes = m["steps"]["nodes"]
    assert set(nodes) == set(NODES)
    for node, stamp in nodes.items():
        assert stamp["status"] == ("failed" if node == BROKEN else "done")
        assert stamp["seconds"] > 0 and len(stamp["fingerprint"]) == 64
    error = nodes[BROKEN]["error"]
    assert error["ename"] == "RuntimeError" and error["source"] == HOLD_CHECK.splitlines()[0]
    assert isinstance(error["cell_index"], int) and error["execution_count"] == 6
    assert m["run"]["seconds"] > 0 and m["run"]["timings"]["packs"] > 0
    # Where the packs' seconds went, summed over the rendered packs (run/timing.py).
    for part in ("kernel", "notebook", "charts", "render"):
        assert m["run"]["timings"][f"packs_{part}"] > 0, part


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _text(cell: dict) -> str:
    """A code cell's outputs as text (stream text and text/plain results)."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "data" in out:
            parts.append("".join(out["data"].get("text/plain", "")))
    return "".join(parts)


def test_executed_scorecard_notebook_shows_the_summary(first: FirstRun) -> None:
    cells = _cells(first.path("notebooks", "scorecard.ipynb"))
    injected = next(c for c in cells if "injected-parameters" in c["metadata"].get("tags", []))
    assert f'period = "{PERIOD}"' in "".join(injected["source"])
    summary = next(
        c for c in cells if "".join(c["source"]).startswith("summary = rl.summary_table")
    )
    shown = _text(summary)
    for name in (
        "Tiny Co",
        "Enterprise · Europe",
        "Small business · United States",
        "Overall",
        "status",
    ):
        assert name in shown, name
    assert any("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", [])), (
        "no chart in the executed scorecard notebook"
    )
    assert not [out for c in cells for out in c.get("outputs", []) if out["output_type"] == "error"]


def test_executed_board_pack_notebooks(first: FirstRun) -> None:
    for node in ("ent/eu", "smb"):
        cells = [
            c for c in _cells(first.path(node, "board_pack.ipynb")) if c["cell_type"] == "code"
        ]
        # Each notebook ran in a clean namespace: execution counts start at 1 in a reused kernel.
        assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
        injected = next(c for c in cells if "injected-parameters" in c["metadata"].get("tags", []))
        assert f'node = "{node}"' in "".join(injected["source"])
        charts = next(
            c for c in cells if "".join(c["source"]).startswith("figures = rl.all_charts")
        )
        assert any("image/svg+xml" in out.get("data", {}) for out in charts["outputs"])
        rendered = next(
            c for c in cells if "".join(c["source"]).startswith("html = rl.render_html")
        )
        assert f"{node}/board-pack.pdf" in _text(rendered)
    failed = _cells(first.path(BROKEN, "board_pack.ipynb"))
    errors = [out for c in failed for out in c.get("outputs", []) if out["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["RuntimeError"]


# --------------------------------------------------------------------------- re-runs


@dataclass(frozen=True)
class Rerun:
    """A re-run's result, with the manifest and the packs' sha256 as it left them."""

    result: runner.RunResult
    manifest: dict[str, Any]
    pdfs: dict[str, str]
    """sha256 of each rendered pack right after the run."""
    pdfs_before: dict[str, str]
    """sha256 of each rendered pack right before the run."""


def _pdfs(root: Path) -> dict[str, str]:
    return {
        n: fileio.sha256(_out(root, n, "board-pack.pdf"))
        for n in NODES
        if _out(root, n, "board-pack.pdf").is_file()
    }


def _rerun(root: Path, **kwargs: Any) -> Rerun:
    before = _pdfs(root)
    result = runner.run(load_project(root / "reportlib.toml"), PERIOD, workers=1, **kwargs)
    return Rerun(result, json.loads(result.manifest.read_text()), _pdfs(root), before)


@pytest.fixture(scope="module")
def second(root: Path, first: FirstRun) -> Rerun:
    """The same run again with nothing changed: everything current is skipped."""
    return _rerun(root, accept_quality=ACCEPT)


def test_rerun_skips_what_is_current(second: Rerun) -> None:
    result = second.result
    assert result.scorecard == "skipped", result.scorecard_reason
    status = {o.node: o.status for o in result.nodes}
    assert status == {n: "failed" if n == BROKEN else "skipped" for n in NODES}
    # Skipped packs are untouched and still listed with their stamps.
    assert set(second.pdfs_before) == set(NODES) - {BROKEN}
    assert second.pdfs == second.pdfs_before
    m = second.manifest
    assert m["steps"]["scorecard"]["status"] == "skipped"
    assert m["steps"]["nodes"]["ent"]["status"] == "skipped"
    assert m["steps"]["nodes"][BROKEN]["status"] == "failed"


@pytest.fixture(scope="module")
def fixed(root: Path, second: Rerun) -> Rerun:
    """The hold lifted from the commentary; a run for that node and one current node."""
    _commentary(root, BROKEN).write_text(GOOD_COMMENTARY, encoding="utf-8")
    return _rerun(root, nodes=[BROKEN, "ent"], accept_quality=ACCEPT)


def test_resume_redoes_only_the_failed_node(root: Path, fixed: Rerun) -> None:
    result = fixed.result
    assert result.scorecard == "skipped", result.scorecard_reason
    assert [(o.node, o.status) for o in result.nodes] == [(BROKEN, "done"), ("ent", "skipped")]
    reader = PdfReader(_out(root, BROKEN, "board-pack.pdf"))
    assert "Better than last month." in " ".join(p.extract_text() for p in reader.pages)
    m = fixed.manifest
    assert (
        m["steps"]["nodes"][BROKEN]["status"] == "done"
        and "error" not in m["steps"]["nodes"][BROKEN]
    )
    assert m["parameters"]["nodes"] == [BROKEN, "ent"]
    pdf = m["files"][f"{BROKEN}/board-pack.pdf"]
    assert pdf["sha256"] == fixed.pdfs[BROKEN]
    assert fixed.pdfs["ent"] == fixed.pdfs_before["ent"]


@pytest.mark.long
def test_force_reexecutes_current_outputs(
    root: Path, fixed: Rerun, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(fixed.result.manifest.read_text())
    executed = _out(root, "ent/eu", "board_pack.ipynb")
    started = json.loads(executed.read_text())["metadata"]["papermill"]["start_time"]
    code = cli.main(
        [
            "run",
            "--period",
            PERIOD,
            "--node",
            "ent/eu",
            "--force",
            "--workers",
            "1",
            "--accept-quality",
            ACCEPT,
            "--config",
            str(root / "reportlib.toml"),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "scorecard computed (forced)" in out.out and "board packs 1 done" in out.out
    after = json.loads(fixed.result.manifest.read_text())
    assert after["steps"]["scorecard"]["status"] == "done"
    assert after["steps"]["compute"]["at"] >= before["steps"]["compute"]["at"]
    assert after["steps"]["nodes"]["ent/eu"]["status"] == "done"
    assert after["parameters"]["force"] is True
    assert json.loads(executed.read_text())["metadata"]["papermill"]["start_time"] != started
    # The same inputs give the same figures.
    assert after["files"]["scorecard.csv"] == before["files"]["scorecard.csv"]


def test_unknown_node_is_a_usage_error(
    root: Path, fixed: Rerun, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(root / "reportlib.toml")
    recorded = (root / "output" / PERIOD / "manifest.json").read_bytes()
    code = cli.main(
        [
            "run",
            "--period",
            PERIOD,
            "--node",
            "ent/mars",
            "--accept-quality",
            ACCEPT,
            "--config",
            config,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --node 'ent/mars': no such node in the hierarchy; did you mean ")
    assert "ent/us" in err and err.count("\n") == 1 and "Traceback" not in err
    # Refused before the run started: the manifest is as the last run left it.
    assert (root / "output" / PERIOD / "manifest.json").read_bytes() == recorded


def test_manifest_stamps_are_what_the_skip_logic_reads(first: FirstRun) -> None:
    m = manifest.Manifest.from_json(first.manifest)
    assert manifest.stamp(m)["status"] == "done"
    assert manifest.stamp(m, "ent")["status"] == "done"
    assert manifest.stamp(m, "nope") == {}
    assert m.finished and m.failed_nodes() == [BROKEN]


def test_quality_gate_stops_the_run_without_an_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project of its own: the failed gate leaves its period with a failed scorecard step."""
    config = _project(tmp_path)
    code = cli.main(["run", "--period", PERIOD, "--workers", "1", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: data-quality gate failed: survey_responses: 2 of 17 rows quarantined" in err
    assert "--accept-quality" in err and "Traceback" not in err
    m = json.loads(_out(tmp_path, "manifest.json").read_text())
    assert m["steps"]["scorecard"]["status"] == "failed"
    assert m["steps"]["scorecard"]["error"]["ename"] == "QualityGateError"
