"""Re-running a pack: unchanged figures give the same PDF bytes; delivery settings re-render nothing.

Real runs (kernels, WeasyPrint) of one node's pack on the tiny project: `--force` renders it
again with an identical sha256 (its dates and font-subset timestamps are the data cut-off),
and editing distribution.yaml or `[smtp]` leaves every pack current.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib import fileio
from reportlib import run as runner
from reportlib.config import load_project
from reportlib.layout import PeriodOutput

from ..conftest import write_project

pytestmark = [pytest.mark.slow, pytest.mark.long]

PERIOD = "2026-03"
NODE = "ent/eu"


def test_forced_rerender_is_byte_identical_and_delivery_edits_skip_the_pack(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    (tmp_path / "data" / "distribution.yaml").write_text("recipients: []\n")
    out = PeriodOutput(tmp_path / "output", PERIOD)

    first = runner.run(load_project(config), PERIOD, nodes=[NODE], workers=1)
    assert [(o.node, o.status) for o in first.nodes] == [(NODE, "done")]
    rendered = fileio.sha256(out.pack_pdf(NODE))

    forced = runner.run(load_project(config), PERIOD, nodes=[NODE], workers=1, force=True)
    assert [(o.node, o.status) for o in forced.nodes] == [(NODE, "done")]
    assert fileio.sha256(out.pack_pdf(NODE)) == rendered

    # Who receives the pack and how it is sent are not part of what it shows.
    (tmp_path / "data" / "distribution.yaml").write_text(
        "recipients:\n  - name: Ann\n    email: ann@example.com\n    nodes: [all]\n"
    )
    with config.open("a") as f:
        f.write('\n[smtp]\nhost = "mail.example.com"\nport = 2525\n')
    again = runner.run(load_project(config), PERIOD, nodes=[NODE], workers=1)
    assert again.scorecard == "skipped"
    assert [(o.node, o.status) for o in again.nodes] == [(NODE, "skipped")]
    assert fileio.sha256(out.pack_pdf(NODE)) == rendered
