"""A kernel session: a cell over the timeout fails its notebook, and the kernel is replaced."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from reportlib.run.kernel import KernelSession

pytestmark = pytest.mark.slow


def notebook(path: Path, *cells: str) -> Path:
    """A notebook whose first cell is the papermill parameters cell."""
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


def text(cell: dict) -> str:
    """A code cell's outputs as text (stream text and text/plain results)."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "data" in out:
            parts.append("".join(out["data"].get("text/plain", "")))
    return "".join(parts)


def test_kernel_session_times_out_a_cell_and_replaces_the_kernel(tmp_path: Path) -> None:
    slow = notebook(tmp_path / "slow.ipynb", "x = 0", "import time\ntime.sleep(60)", "x = 1")
    quick = notebook(tmp_path / "quick.ipynb", "x = 0", "print(x + 1)")
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
    assert text(json.loads((tmp_path / "quick-out.ipynb").read_text())["cells"][2]) == "42\n"


def test_a_session_says_where_each_notebooks_seconds_went(tmp_path: Path) -> None:
    charts = "import time\ndef all_charts(x):\n    time.sleep(x)\nfigures = all_charts(0.3)"
    render = "def write_pdf(x):\n    time.sleep(x)\nwrite_pdf(0.5)"
    pack = notebook(tmp_path / "pack.ipynb", "x = 0", charts, render)
    with KernelSession(tmp_path) as session:
        first = session.run(pack, tmp_path / "first.ipynb", {"x": 1})
        second = session.run(pack, tmp_path / "second.ipynb", {"x": 2})
    for run in (first, second):
        assert run.failure is None
        assert 0.3 <= run.split.charts < run.split.render
        assert run.split.render >= 0.5 and run.split.kernel > 0
    # The kernel's start is carried by the session's first notebook only.
    assert first.split.kernel > second.split.kernel


def test_a_cells_prints_are_one_output_however_the_kernel_flushed_them(tmp_path: Path) -> None:
    """Prints flushed apart (as a busy machine's kernel does) are kept as one stream output."""
    cell = "import sys, time\nprint('a')\nsys.stdout.flush()\ntime.sleep(0.5)\nprint('b')"
    nb = notebook(tmp_path / "prints.ipynb", "x = 0", cell)
    with KernelSession(tmp_path) as session:
        assert session.execute(nb, tmp_path / "out.ipynb", {}) is None
    cells = json.loads((tmp_path / "out.ipynb").read_text())["cells"]
    outputs = cells[-1]["outputs"]
    assert [(o["output_type"], o["name"]) for o in outputs] == [("stream", "stdout")]
    assert text(cells[-1]) == "a\nb\n"
