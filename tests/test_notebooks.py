"""The committed notebooks, and the kernel sessions `reportlib run` executes them in.

nbval runs the notebooks themselves with their defaults (see notebooks/conftest.py); the
executed notebooks of a real run are checked in test_pipeline.py.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from reportlib import notebook as rl
from reportlib.run import kernel

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PARAMETERS = {
    "scorecard.ipynb": ["period", "config", "output_dir", "accept_quality"],
    "board_pack.ipynb": ["period", "node", "config", "output_dir"],
}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_committed_notebook_has_no_outputs(name: str) -> None:
    raw = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]
    assert "papermill" not in raw["metadata"]
    assert raw["metadata"]["kernelspec"]["name"] == kernel.KERNEL_NAME


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameters_cell_is_tagged_and_readable_by_papermill(name: str) -> None:
    raw = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code[0]["metadata"].get("tags") == ["parameters"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in raw["cells"]) == 1
    # papermill can parse every parameter (a comment with "=" would make it give up).
    found = papermill.inspect_notebook(str(NOTEBOOKS / name))
    assert list(found) == PARAMETERS[name]
    defaults = {k: v["default"] for k, v in found.items()}
    assert defaults["period"] == "None" and defaults["config"] == "None"
    if name == "board_pack.ipynb":
        assert defaults["node"] == '"all"'


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_each_step_has_a_heading(name: str) -> None:
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    for before, cell in itertools.pairwise(cells):
        if cell["cell_type"] == "code" and "parameters" not in cell["metadata"].get("tags", []):
            assert before["cell_type"] == "markdown", cell["source"]
            assert "".join(before["source"]).startswith("## "), before["source"]


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_notebooks_import_only_the_notebook_api(name: str) -> None:
    """Every reportlib name a notebook uses comes through `reportlib.notebook` (as `rl`)."""
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    imports = [
        line.strip()
        for line in code.splitlines()
        if re.match(r"\s*(from|import)\s+reportlib\b", line)
    ]
    assert imports == ["from reportlib import notebook as rl"]
    used = set(re.findall(r"\brl\.(\w+)", code))
    assert used and used <= set(rl.__all__), used - set(rl.__all__)


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)
    return path


def _stdout(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return [
        "".join(o["text"])
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if o["output_type"] == "stream"
    ]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("probe")
    return {
        "set": _notebook(
            root / "set.ipynb", "value = 1", "import sys\nleft_over = value\nprint(sys.executable)"
        ),
        "get": _notebook(
            root / "get.ipynb",
            "value = 2",
            "print('left_over' in globals(), value)",
            "raise ValueError('as planned')",
        ),
        "root": root,
    }


@pytest.mark.slow
def test_kernel_is_this_environments_python_and_is_reset_between_notebooks(
    probes: dict[str, Path],
) -> None:
    root = probes["root"]
    with kernel.KernelSession(root, warm="import json") as session:
        assert session.execute(probes["set"], root / "out1.ipynb", {"value": 5}) is None
        failure = session.execute(probes["get"], root / "out2.ipynb", {})
    # papermill's kernel_name="python3" runs the interpreter of this virtualenv.
    assert _stdout(root / "out1.ipynb") == [sys.executable + "\n"]
    # The second notebook ran in the same kernel with an empty namespace and counts from 1.
    assert _stdout(root / "out2.ipynb") == ["False 2\n"]
    cells = json.loads((root / "out2.ipynb").read_text())["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts[:3] == [1, 2, 3]
    # A failing cell is reported like papermill's PapermillExecutionError, and saved.
    assert failure is not None
    assert (failure.ename, failure.evalue, failure.source) == (
        "ValueError",
        "as planned",
        "raise ValueError('as planned')",
    )
    assert failure.describe().endswith("`raise ValueError('as planned')`: ValueError: as planned")
    assert not list(root.glob(".*.ipynb"))


@pytest.mark.slow
def test_fresh_kernel_session_starts_a_new_kernel_per_notebook(probes: dict[str, Path]) -> None:
    root = probes["root"]
    probe = _notebook(root / "pid.ipynb", "x = 0", "import os\nprint(os.getpid())")
    with kernel.KernelSession(root, fresh=True) as session:
        session.execute(probe, root / "pid1.ipynb", {})
        session.execute(probe, root / "pid2.ipynb", {})
    assert _stdout(root / "pid1.ipynb") != _stdout(root / "pid2.ipynb")


# --------------------------------------------------------------------------- warm-kernel leaks
# `reportlib run` renders several packs in one warm kernel per worker. A notebook that
# changes module state (a module's variable, matplotlib's settings) must not change the
# packs rendered after it in the same kernel.

LEAK_PERIOD = "2026-03"
PACK_HTML = """\
from reportlib import notebook as rl
project = rl.open_project(config)
ctx = rl.pack_context(project, period, node)
html = rl.render_html(ctx, rl.all_charts(ctx), rl.commentary(ctx))
open(out, "w", encoding="utf-8").write(html)"""
MUTATE = """\
import matplotlib
from reportlib import charts, formatting, render
charts.SERIES = "#ff0000"  # the reported leak: a chart colour set for node `all`
formatting.DASH = "n/a"  # read when a figure is formatted
render.views.HISTORY_MONTHS = 2  # months of status history on the escalations page
matplotlib.rcParams["path.sketch"] = (3, 20, 2)  # every line drawn wobbly"""


@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from reportlib.config import load_project
    from reportlib.pipeline import compute

    from .conftest import write_project

    root = tmp_path_factory.mktemp("leak")
    config = write_project(root)
    compute(load_project(config), LEAK_PERIOD)
    params = f"config = {str(config)!r}\nperiod = {LEAK_PERIOD!r}\nnode = 'all'\nout = ''"
    return {
        "root": root,
        "mutate": _notebook(root / "mutate.ipynb", params, MUTATE, PACK_HTML),
        "pack": _notebook(root / "pack.ipynb", params, PACK_HTML),
    }


@pytest.mark.slow
@pytest.mark.long
def test_a_pack_does_not_depend_on_the_notebook_before_it_in_a_warm_kernel(
    leak: dict[str, Path],
) -> None:
    root = leak["root"]
    with kernel.KernelSession(root, warm=kernel.WARM_IMPORTS) as session:
        for nb, node, out in (("mutate", "all", "all"), ("pack", "smb", "smb-warm")):
            params = {"node": node, "out": str(root / f"{out}.html")}
            assert session.execute(leak[nb], root / f"{out}.ipynb", params) is None
    with kernel.KernelSession(root, fresh=True) as session:
        params = {"node": "smb", "out": str(root / "smb-fresh.html")}
        assert session.execute(leak["pack"], root / "smb-fresh.ipynb", params) is None
    with kernel.KernelSession(root, fresh=True) as session:
        params = {"node": "all", "out": str(root / "all-fresh.html")}
        assert session.execute(leak["pack"], root / "all-fresh.ipynb", params) is None
    mutated = (root / "all.html").read_text(encoding="utf-8")
    # The mutations took effect in the pack of the notebook that made them ...
    assert "n/a" in mutated and mutated != (root / "all-fresh.html").read_text(encoding="utf-8")
    # ... and the next pack in the same kernel is the one a fresh kernel renders.
    warm = (root / "smb-warm.html").read_text(encoding="utf-8")
    assert "n/a" not in warm
    assert warm == (root / "smb-fresh.html").read_text(encoding="utf-8")
