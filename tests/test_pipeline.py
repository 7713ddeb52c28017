"""`reportlib run` end to end on the tiny project: notebooks, PDFs, manifest, skip/resume, failures.

One real run (papermill, real kernels, two worker processes) is shared by the module; later
runs build on its outputs: an unchanged re-run, a fixed commentary, --force, a bad --node.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reportlib import cli, fileio, manifest, notebook
from reportlib import run as runner
from reportlib.config import load_project
from reportlib.executor import Failed, Finished, LocalExecutor, Started

from .conftest import SURVEYS, write_project

PERIOD = "2026-03"
NODES = ("all", "ent", "ent/eu", "ent/us", "smb", "smb/eu", "smb/us")
BROKEN = "smb/us"
BAD_COMMENTARY = "---\nstatus: [draft\n---\n## Customer\nBetter than last month.\n"
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


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project, with a commentary file for smb/us whose front matter is broken."""
    root = tmp_path_factory.mktemp("run")
    write_project(root, tables={"survey_responses": SURVEYS_WITH_BAD_SCORES})
    note = _commentary(root, BROKEN)
    note.parent.mkdir(parents=True)
    note.write_text(BAD_COMMENTARY, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def first(root: Path) -> subprocess.CompletedProcess[str]:
    """`reportlib run` as the reporting lead types it (not on a terminal: plain progress lines)."""
    return subprocess.run(
        [str(REPORTLIB), "run", "--period", PERIOD, "--workers", "2", "--accept-quality", ACCEPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def first_manifest(root: Path, first: subprocess.CompletedProcess[str]) -> dict:
    return json.loads((root / "output" / PERIOD / "manifest.json").read_text())


def _out(root: Path, *parts: str) -> Path:
    return root.joinpath("output", PERIOD, *parts)


# --------------------------------------------------------------------------- the first run


def test_failed_node_is_reported_and_the_others_finish(
    first: subprocess.CompletedProcess[str],
) -> None:
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    # The summary names the node, the cell (index, first source line) and the error.
    failed = [line for line in first.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith(f"FAILED {BROKEN}: cell ")
    assert "`notes = rl.commentary(ctx)`" in failed[0]
    assert "ConfigError:" in failed[0] and "front matter is not valid YAML" in failed[0]
    assert f"error: 1 of {len(NODES)} board packs failed: {BROKEN}" in first.stderr
    assert "6 done, 1 failed" in first.stdout
    # Plain progress lines, one per node.
    for node in NODES:
        if node != BROKEN:
            assert re.search(
                rf"^\[\d/7\] {re.escape(node)} done in \d+\.\ds$", first.stderr, re.M
            ), node
    assert re.search(rf"^\[\d/7\] {BROKEN} FAILED after", first.stderr, re.M)


def test_every_node_has_its_pack_and_executed_notebook(
    root: Path, first: subprocess.CompletedProcess[str]
) -> None:
    assert _out(root, "notebooks", "scorecard.ipynb").is_file()
    for node in NODES:
        assert _out(root, node, "board_pack.ipynb").is_file(), node
        assert _out(root, node, "board-pack.pdf").is_file() == (node != BROKEN), node
    # Atomic writes leave no temporary files behind.
    assert not [p for p in _out(root).rglob(".*")]


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
def test_pack_pdf(root: Path, first: subprocess.CompletedProcess[str], node: str) -> None:
    project = load_project(root / "reportlib.toml")
    reader = PdfReader(_out(root, node, "board-pack.pdf"))
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


def test_manifest_hashes_match_the_files_on_disk(root: Path, first_manifest: dict) -> None:
    files = first_manifest["files"]
    on_disk = {
        p.relative_to(_out(root)).as_posix()
        for p in _out(root).rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert set(files) == on_disk
    assert {
        "scorecard.csv",
        "scorecard.parquet",
        "history.parquet",
        "notebooks/scorecard.ipynb",
    } <= on_disk
    for rel, entry in files.items():
        p = _out(root, rel)
        assert entry == {"sha256": fileio.sha256(p), "size": p.stat().st_size}, rel


def test_manifest_records_inputs_code_parameters_and_steps(
    root: Path, first_manifest: dict
) -> None:
    m = first_manifest
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
    assert m["quality"]["sha256"] == fileio.sha256(_out(root, "quality", "report.json"))
    assert m["steps"]["scorecard"]["status"] == "done" and m["steps"]["scorecard"]["seconds"] > 0
    assert set(m["steps"]["compute"]["seconds"]) >= {"load", "measures", "scorecard", "write"}
    nodes = m["steps"]["nodes"]
    assert set(nodes) == set(NODES)
    for node, stamp in nodes.items():
        assert stamp["status"] == ("failed" if node == BROKEN else "done")
        assert stamp["seconds"] > 0 and len(stamp["fingerprint"]) == 64
    error = nodes[BROKEN]["error"]
    assert error["ename"] == "ConfigError" and error["source"].startswith("notes = rl.commentary")
    assert isinstance(error["cell_index"], int) and error["execution_count"] == 5
    assert m["run"]["seconds"] > 0 and m["run"]["timings"]["packs"] > 0


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


def test_executed_scorecard_notebook_shows_the_summary(
    root: Path, first: subprocess.CompletedProcess[str]
) -> None:
    cells = _cells(_out(root, "notebooks", "scorecard.ipynb"))
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


def test_executed_board_pack_notebooks(root: Path, first: subprocess.CompletedProcess[str]) -> None:
    for node in ("ent/eu", "smb"):
        cells = [
            c for c in _cells(_out(root, node, "board_pack.ipynb")) if c["cell_type"] == "code"
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
    failed = _cells(_out(root, BROKEN, "board_pack.ipynb"))
    errors = [out for c in failed for out in c.get("outputs", []) if out["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ConfigError"]


# --------------------------------------------------------------------------- re-runs


@pytest.fixture(scope="module")
def second(root: Path, first_manifest: dict) -> tuple[runner.RunResult, dict[str, str]]:
    """The same run again with nothing changed: everything current is skipped."""
    before = {n: fileio.sha256(_out(root, n, "board-pack.pdf")) for n in NODES if n != BROKEN}
    result = runner.run(
        load_project(root / "reportlib.toml"), PERIOD, workers=1, accept_quality=ACCEPT
    )
    return result, before


def test_rerun_skips_what_is_current(
    root: Path, second: tuple[runner.RunResult, dict[str, str]]
) -> None:
    result, before = second
    assert result.scorecard == "skipped", result.scorecard_reason
    status = {o.node: o.status for o in result.nodes}
    assert status == {n: "failed" if n == BROKEN else "skipped" for n in NODES}
    # Skipped packs are untouched and still listed with their stamps.
    assert before == {n: fileio.sha256(_out(root, n, "board-pack.pdf")) for n in before}
    m = json.loads(result.manifest.read_text())
    assert m["steps"]["scorecard"]["status"] == "skipped"
    assert m["steps"]["nodes"]["ent"]["status"] == "skipped"
    assert m["steps"]["nodes"][BROKEN]["status"] == "failed"


@pytest.fixture(scope="module")
def fixed(root: Path, second: tuple[runner.RunResult, dict[str, str]]) -> runner.RunResult:
    """The broken commentary corrected; a run for that node and one current node."""
    _commentary(root, BROKEN).write_text(GOOD_COMMENTARY, encoding="utf-8")
    return runner.run(
        load_project(root / "reportlib.toml"),
        PERIOD,
        nodes=[BROKEN, "ent"],
        workers=1,
        accept_quality=ACCEPT,
    )


def test_resume_redoes_only_the_failed_node(root: Path, fixed: runner.RunResult) -> None:
    assert fixed.scorecard == "skipped", fixed.scorecard_reason
    assert [(o.node, o.status) for o in fixed.nodes] == [(BROKEN, "done"), ("ent", "skipped")]
    reader = PdfReader(_out(root, BROKEN, "board-pack.pdf"))
    assert "Better than last month." in " ".join(p.extract_text() for p in reader.pages)
    m = json.loads(fixed.manifest.read_text())
    assert (
        m["steps"]["nodes"][BROKEN]["status"] == "done"
        and "error" not in m["steps"]["nodes"][BROKEN]
    )
    assert m["parameters"]["nodes"] == [BROKEN, "ent"]
    pdf = m["files"][f"{BROKEN}/board-pack.pdf"]
    assert pdf["sha256"] == fileio.sha256(_out(root, BROKEN, "board-pack.pdf"))


def test_force_reexecutes_current_outputs(
    root: Path, fixed: runner.RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(fixed.manifest.read_text())
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
    after = json.loads(fixed.manifest.read_text())
    assert after["steps"]["scorecard"]["status"] == "done"
    assert after["steps"]["compute"]["at"] >= before["steps"]["compute"]["at"]
    assert after["steps"]["nodes"]["ent/eu"]["status"] == "done"
    assert after["parameters"]["force"] is True
    assert json.loads(executed.read_text())["metadata"]["papermill"]["start_time"] != started
    # The same inputs give the same figures.
    assert after["files"]["scorecard.csv"] == before["files"]["scorecard.csv"]


def test_unknown_node_is_a_usage_error(
    root: Path, fixed: runner.RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(root / "reportlib.toml")
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
    assert "error: unknown node ent/mars; the nodes of 2026-03 are: all, ent, ent/eu" in err
    assert "Traceback" not in err


def test_quality_gate_stops_the_run_without_an_override(
    root: Path, fixed: runner.RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    # Last in the module: it leaves the period with a failed scorecard step.
    code = cli.main(["run", "--period", PERIOD, "--config", str(root / "reportlib.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: data-quality gate failed: survey_responses: 2 of 17 rows quarantined" in err
    assert "--accept-quality" in err and "Traceback" not in err
    m = json.loads(fixed.manifest.read_text())
    assert m["steps"]["scorecard"]["status"] == "failed"
    assert m["steps"]["scorecard"]["error"]["ename"] == "QualityGateError"


# --------------------------------------------------------------------------- the executor


def _square(_session: object, x: int) -> int:
    return x * x


def _fragile(_session: object, x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    if x == 3:
        os._exit(7)  # the worker process dies mid-task
    return x


def test_local_executor_runs_every_item() -> None:
    with LocalExecutor(2, contextlib.nullcontext) as ex:
        events = list(ex.map(_square, [1, 2, 3, 4]))
    finished = {e.index: e.result for e in events if isinstance(e, Finished)}
    assert finished == {0: 1, 1: 4, 2: 9, 3: 16}
    assert sorted(e.index for e in events if isinstance(e, Started)) == [0, 1, 2, 3]


def test_local_executor_survives_failing_tasks_and_dead_workers() -> None:
    with LocalExecutor(2, contextlib.nullcontext) as ex:
        events = list(ex.map(_fragile, [1, 2, 3, 4, 5]))
    done = {e.index: e.result for e in events if isinstance(e, Finished)}
    failed = {e.index: e.message for e in events if isinstance(e, Failed)}
    assert failed[1] == "ValueError: two is not allowed"
    assert failed[2] == "worker process died (exit code 7)"
    assert set(done) | set(failed) == {0, 1, 2, 3, 4}
    assert all(done[i] == i + 1 for i in done)


def test_manifest_module_is_used_by_the_run(first_manifest: dict) -> None:
    # The stamp lookup the skip logic relies on.
    assert manifest.stamp(first_manifest)["status"] == "done"
    assert manifest.stamp(first_manifest, "ent")["status"] == "done"
    assert manifest.stamp(first_manifest, "nope") == {}


# --------------------------------------------------------------------------- the cell timeout

SLOW = "smb/us"


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook whose first cell is the papermill parameters cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_kernel_session_times_out_a_cell_and_replaces_the_kernel(tmp_path: Path) -> None:
    from reportlib.kernel import KernelSession

    slow = _notebook(tmp_path / "slow.ipynb", "x = 0", "import time\ntime.sleep(60)", "x = 1")
    quick = _notebook(tmp_path / "quick.ipynb", "x = 0", "print(x + 1)")
    with KernelSession(tmp_path, cell_timeout=1) as session:
        failure = session.execute(slow, tmp_path / "slow-out.ipynb", {"x": 1})
        assert session.execute(quick, tmp_path / "quick-out.ipynb", {"x": 41}) is None
    assert failure is not None
    # Cell 1 is the injected parameters.
    assert (
        failure.describe() == "cell 2 (In [3]) `import time`: CellTimeoutError: timed out after 1 s"
    )
    cells = json.loads((tmp_path / "slow-out.ipynb").read_text())["cells"]
    assert "injected-parameters" in cells[1]["metadata"]["tags"]
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert [(e["ename"], e["evalue"]) for e in errors] == [
        ("CellTimeoutError", "timed out after 1 s")
    ]
    assert cells[2]["metadata"]["papermill"]["status"] == "failed"
    assert cells[3]["metadata"]["papermill"]["status"] == "pending"  # nothing runs after it
    assert _text(json.loads((tmp_path / "quick-out.ipynb").read_text())["cells"][2]) == "42\n"


def test_a_cell_over_the_timeout_fails_only_its_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project's own notebooks/ with a board pack that hangs for one node; 2 s per cell.

    The scorecard is computed beforehand, so the project's scorecard.ipynb has nothing to do
    and no cell but the hanging one comes near the 2 s.
    """
    config = write_project(
        tmp_path,
        settings='timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\ncell_timeout_seconds = 2\n',
    )
    params = 'period = None\nnode = "all"\nconfig = None\noutput_dir = None'
    notebook.scorecard_step(load_project(config), PERIOD)
    _notebook(tmp_path / "notebooks" / "scorecard.ipynb", params + "\naccept_quality = None")
    _notebook(
        tmp_path / "notebooks" / "board_pack.ipynb",
        params,
        "import time\n"
        "from reportlib import pipeline, render\n"
        "project = pipeline.open_project(config, output_dir)",
        f"if node == {SLOW!r}:\n    time.sleep(60)",
        "render.default_out(project, period, node).write_bytes(b'%PDF-1.4 stub')",
    )
    code = cli.main(["run", "--period", PERIOD, "--workers", "2", "--config", str(config)])
    out = capsys.readouterr()
    assert code == 1, out.err
    failed = [line for line in out.out.splitlines() if line.startswith("FAILED")]
    assert failed == [
        f"FAILED {SLOW}: cell 3 (In [4]) `if node == '{SLOW}':`: "
        "CellTimeoutError: timed out after 2 s"
    ]
    assert f"error: 1 of {len(NODES)} board packs failed: {SLOW}" in out.err
    assert "6 done, 1 failed" in out.out
    m = json.loads((tmp_path / "output" / PERIOD / "manifest.json").read_text())
    status = {n: s["status"] for n, s in m["steps"]["nodes"].items()}
    assert status == {n: "failed" if n == SLOW else "done" for n in NODES}
    assert m["steps"]["nodes"][SLOW]["error"]["evalue"] == "timed out after 2 s"
