"""The cover's data cut-off, shown in the project's time zone (and named), on a real pack.

The run records the cut-off in UTC without a zone; the `as_of` setting is local time. A
project in Europe/Berlin with `as_of = 2026-03-31T12:00:00` was cut off at 10:00 UTC, and
its cover must say 12:00 Europe/Berlin (it said 10:00 Europe/Berlin).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from reportlib import commentary, packdata, render
from reportlib.charts import Charts
from reportlib.config import load_project
from reportlib.pipeline import compute
from reportlib.render.pdf import build_pack
from reportlib.render.views import created, cut_off

from .conftest import write_project

PERIOD = "2026-03"
BERLIN = "Europe/Berlin"


def test_a_recorded_cut_off_is_utc_and_shown_in_the_project_zone() -> None:
    assert render.as_of_text("2026-03-31T10:00:00", BERLIN) == "31 March 2026, 12:00 Europe/Berlin"
    # winter time: one hour ahead of UTC
    assert (
        render.as_of_text("2026-01-15T06:00:00", BERLIN) == "15 January 2026, 07:00 Europe/Berlin"
    )
    # across the day line
    assert render.as_of_text("2026-03-31T23:30:00", BERLIN) == "1 April 2026, 01:30 Europe/Berlin"
    assert render.as_of_text("2026-11-01T03:00:00", "America/New_York") == (
        "31 October 2026, 23:00 America/New_York"
    )


def test_the_configured_cut_off_is_local_time() -> None:
    configured = "2026-03-31T12:00:00"
    assert render.as_of_text(configured, BERLIN, configured=configured) == (
        "31 March 2026, 12:00 Europe/Berlin"
    )
    assert cut_off(configured, BERLIN, configured).isoformat() == "2026-03-31T12:00:00+02:00"


def test_a_time_with_its_zone_is_converted() -> None:
    assert render.as_of_text("2026-03-31T10:00:00+00:00", BERLIN) == (
        "31 March 2026, 12:00 Europe/Berlin"
    )
    assert render.as_of_text("2026-04-01T06:00:00+00:00") == "1 April 2026, 06:00 UTC"
    assert render.as_of_text("not a time", BERLIN) == "not a time"
    assert render.as_of_text(None, BERLIN) == "not recorded"


def test_the_document_date_is_the_same_instant() -> None:
    assert created("2026-03-31T10:00:00", BERLIN) == "2026-03-31T12:00:00+02:00"
    assert created("2026-03-31T12:00:00", BERLIN, "2026-03-31T12:00:00") == (
        "2026-03-31T12:00:00+02:00"
    )


@pytest.mark.slow
def test_the_cover_of_a_real_pack(tmp_path: Path) -> None:
    settings = f'timezone = "{BERLIN}"\nas_of = "2026-03-31T12:00:00"\n'
    project = load_project(write_project(tmp_path, settings=settings))
    compute(project, PERIOD)
    pdf = build_pack(project, PERIOD, "all", tmp_path / "all.pdf")
    cover = PdfReader(pdf).pages[0].extract_text()
    assert "31 March 2026, 12:00 Europe/Berlin" in cover
    assert "10:00" not in cover
    # the three key messages, generated from the figures, are on the cover (cover_views)
    ctx = packdata.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    text = " ".join(cover.split())
    messages = render.pack_view(ctx, Charts({}, {}, {}), notes).cover.messages
    assert len(messages) == 3
    for message in messages:
        assert " ".join(message.split())[:60] in text
