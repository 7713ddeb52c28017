"""How the pack's charts look: colours, the shipped font, matplotlib settings, SVG output, tick labels.

The colours travel in a frozen `ChartStyle` passed to each chart function (default
`DEFAULT_STYLE`), never through module state a notebook could change: a pack drawn in a
warm kernel looks the same whatever the notebook before it did.

Chart text is always literal: segment names, company and perspective names come from
data and configuration, and a name like `Promo $\\x$ 2026` or `$5k-$10k` must be drawn as
written, never read as mathtext (which fails on `\\x` and would stop the whole month).
`literal_text()` turns matplotlib's mathtext off for every Text created after it
(`text.parse_math`, matplotlib >= 3.5); it runs when this module is imported, so the
notebooks (which import reportlib before they plot, seaborn included) get it too, and
`rc()` repeats it for every figure the pack draws.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from . import fileio, resources
from .formatting import DEFAULT_LOCALE, currency_affixes, format_number, percent_affixes

log = logging.getLogger(__name__)

FONT_FAMILY = "IBM Plex Sans"
FONT_FILES = ("IBMPlexSans-Regular.woff2",)
"""The complete face: matplotlib measures chart text with it; WeasyPrint draws it with the pack's fonts."""


@dataclass(frozen=True)
class ChartStyle:
    """The colours and sizes of the pack's charts (pass a changed copy: `dataclasses.replace`)."""

    ink: str = "#1f2933"
    series: str = "#1f3a5f"
    """The KPI's own line and markers."""
    faint_series: str = "#a9b7c8"
    """The line through months below the minimum n."""
    ci: str = "#9fb3c8"
    target: str = "#3d4852"
    muted: str = "#8a8f98"
    grid: str = "#e4e7eb"
    band_alpha: float = 0.09
    """Opacity of the red/amber/green zones."""
    perspectives: tuple[tuple[str, tuple[float, tuple[float, ...]]], ...] = (
        ("#2f6f8f", (0, (1, 0))),
        ("#8c6d3f", (0, (4, 1.5))),
        ("#6b5b95", (0, (1.2, 1.2))),
        ("#4f7f52", (0, (5, 1.5, 1.2, 1.5))),
    )
    """Colour and dash per perspective line in the overview: readable in black and white too."""
    trend_size: tuple[float, float] = (3.6, 1.75)
    spark_size: tuple[float, float] = (1.15, 0.3)


DEFAULT_STYLE = ChartStyle()

LITERAL_TEXT: dict[str, Any] = {"text.parse_math": False, "text.usetex": False}
"""Text is drawn as written: no mathtext (`$...$`) and no LaTeX, whatever the text holds."""


def literal_text() -> None:
    """Make every matplotlib Text created from now on literal (process-wide).

    A Text reads `text.parse_math` when it is created, so this must run before a figure
    is built: it runs on import of this module (and so of `reportlib.notebook`).
    """
    matplotlib.rcParams.update(cast(Any, LITERAL_TEXT))


literal_text()


@functools.lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """Register the shipped IBM Plex Sans with matplotlib (woff2 → ttf once, cached on disk).

    Chart text stays text in the SVG (`svg.fonttype: none`), so the PDF draws it in the
    pack's own embedded font; matplotlib only needs the metrics to lay it out.
    """
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    try:
        woffs = [resources.packaged("fonts") / name for name in FONT_FILES]
        for w in woffs:
            if not w.is_file():
                raise FileNotFoundError(w)
        digest = hashlib.sha256(b"".join(w.read_bytes() for w in woffs)).hexdigest()[:12]
        cache = Path(tempfile.gettempdir()) / f"reportlib-fonts-{digest}"
        for woff in woffs:
            ttf = cache / (woff.stem + ".ttf")
            if not ttf.is_file():
                font = TTFont(woff)
                font.flavor = None
                fileio.write_with(ttf, font.save)
            font_manager.fontManager.addfont(str(ttf))
        return (FONT_FAMILY, "DejaVu Sans")
    except Exception as e:  # a missing font must not stop a pack: fall back to matplotlib's own
        log.warning("charts fall back to DejaVu Sans: %s", e)
        return ("DejaVu Sans",)


def rc(style: ChartStyle = DEFAULT_STYLE) -> dict[str, Any]:
    """The pack's matplotlib style: seaborn "ticks" at paper scale, quiet greys, fixed SVG ids."""
    params: dict[str, Any] = {
        **sns.axes_style("ticks"),
        **sns.plotting_context("paper", font_scale=0.8),
    }
    params.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": list(font_families()),
            "text.color": style.ink,
            "axes.labelcolor": style.ink,
            "axes.edgecolor": "#9aa5b1",
            "axes.linewidth": 0.6,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.color": "#52606d",
            "ytick.color": "#52606d",
            "xtick.major.size": 2.5,
            "ytick.major.size": 0,
            "xtick.major.width": 0.6,
            "xtick.labelsize": 6.5,
            "ytick.labelsize": 6.5,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.color": style.grid,
            "grid.linewidth": 0.5,
            "axes.unicode_minus": True,
            "svg.fonttype": "none",
            "svg.hashsalt": "reportlib",
            "svg.image_inline": True,
            "figure.dpi": 100,
            "savefig.transparent": False,
            **LITERAL_TEXT,
        }
    )
    return params


@contextmanager
def styled(style: ChartStyle = DEFAULT_STYLE) -> Iterator[None]:
    """Apply the pack's style while figures are built and saved."""
    with matplotlib.rc_context(cast(Any, rc(style))):
        yield


def _decimals(step: float) -> int:
    """Fewest decimals (up to 3) that tell ticks `step` apart."""
    for d in range(4):
        if abs(step * 10**d - round(step * 10**d)) < 1e-6 * max(1.0, step * 10**d):
            return d
    return 3


class UnitFormatter(Formatter):
    """Axis ticks by unit, with just enough decimals to tell ticks apart: `$1.5m`, `97.5%`, `12 h`.

    The locale writes the digits and places the currency and `%` (`1,5m\u00a0€` in de_DE).
    """

    def __init__(self, unit: str, currency: str, locale: str = DEFAULT_LOCALE) -> None:
        self.unit = unit
        self.currency = currency
        self.locale = locale
        self._d = 0
        self._scale = (1.0, "")

    def format_ticks(self, values: Any) -> list[str]:
        vals = [float(v) for v in values]
        self._scale = self._pick_scale(vals)
        steps = np.diff(sorted(vals)) / self._scale[0]
        self._d = _decimals(float(np.min(steps))) if len(steps) and np.min(steps) > 0 else 0
        return [self._one(v) for v in vals]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self._one(float(x))

    def _pick_scale(self, vals: list[float]) -> tuple[float, str]:
        if self.unit != "currency":
            return (1.0, "")
        top = max((abs(v) for v in vals), default=0.0)
        for factor, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if top >= factor:
                return (factor, suffix)
        return (1.0, "")

    def _one(self, x: float) -> str:
        factor, suffix = self._scale
        before, after = currency_affixes(self.currency, self.locale)
        if x == 0 and self.unit == "currency":
            return f"{before}0{after}"
        text = format_number(x / factor, self._d, self.locale)
        sign, body = ("\u2212", text[1:]) if text.startswith("\u2212") else ("", text)
        if self.unit == "currency":
            return f"{sign}{before}{body}{suffix}{after}"
        if self.unit == "percent":
            pct_before, pct_after = percent_affixes(self.locale)
            return f"{sign}{pct_before}{body}{pct_after}"
        return text + (" h" if self.unit == "hours" else "")


def to_svg(fig: Figure) -> str:
    """Serialise a figure as deterministic SVG (fixed ids, no date) for the pack."""
    buf = io.StringIO()
    with styled():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "reportlib"})
    return buf.getvalue()


def value_range(unit: str, *arrays: np.ndarray) -> tuple[float, float]:
    """A value axis covering every finite value given, padded, never past 0/100 for percentages.

    One rule for the trend charts and the children comparison, so a KPI reads alike on both.
    """
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if finite.size == 0:
        return (0.0, 100.0) if unit == "percent" else (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1.0)
    lo2, hi2 = lo - pad, hi + pad
    if lo >= 0 and unit in ("percent", "hours", "currency", "ratio", "count"):
        lo2 = max(lo2, 0.0)
    edge = 0.04 * (hi2 - lo2)  # room for a marker sitting on a natural bound
    if unit == "percent" and hi <= 100:
        hi2 = min(hi2, 100.0 + edge)
    if unit == "points" and lo >= -100 and hi <= 100:
        lo2, hi2 = max(lo2, -100.0 - edge), min(hi2, 100.0 + edge)
    return lo2, hi2
