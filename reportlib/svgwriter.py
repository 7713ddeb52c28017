"""A small SVG writer for the pack's charts: deterministic bytes, few elements, text kept as text.

Matplotlib lays a chart out by drawing it (twice with a layout engine) and writes every
line as a long path with clip paths and marker definitions; for the 46 small charts of a
pack that cost seconds of drawing and again seconds in WeasyPrint. The pack's charts are
simple (lines, steps, bands, dots, a few labels), so they are written here directly:

- coordinates in points (1/72 in), rounded to 0.01 pt, so the same inputs give the same bytes;
- text stays `<text>` in the pack's font (WeasyPrint draws it with the embedded face); its
  width, needed for the margins, is measured from the shipped font's advance widths;
- `Frame` maps data to the plot box (y up, as in a chart) and `ticks` picks round tick values.
"""

from __future__ import annotations

import functools
import logging
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from matplotlib.ticker import MaxNLocator

from . import resources
from .chartstyle import FONT_FAMILY, FONT_FILES

log = logging.getLogger(__name__)

FONT = f"{FONT_FAMILY}, DejaVu Sans, sans-serif"
"""The charts' font-family: the pack's embedded face first."""
TICK_STEPS = (1, 2, 2.5, 5, 10)
"""Round steps for value-axis ticks (1, 2, 2.5 or 5 times a power of ten)."""

Point = tuple[float, float]


def num(v: float) -> str:
    """A coordinate as short, stable text: 0.01 pt precision, no `-0`."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@functools.lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, float], float]:
    """Advance widths (in em) by code point of the shipped font, and a default for the rest."""
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(resources.packaged("fonts") / FONT_FILES[0], lazy=True)
        upm = float(font["head"].unitsPerEm)
        hmtx = font["hmtx"]
        widths = {cp: hmtx[name][0] / upm for cp, name in font.getBestCmap().items()}
        return widths, widths.get(ord("n"), 0.55)
    except Exception as e:  # a missing font must not stop a pack: an average width will do
        log.warning("chart text measured with an average width: %s", e)
        return {}, 0.55


def _fallback(ch: str, default: float) -> float:
    """The width of a character the shipped font lacks (drawn by a system font): wide for CJK."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else default


def text_width(text: str, size: float) -> float:
    """Width in points of `text` set at `size` points in the pack's font (no kerning)."""
    widths, default = _advances()
    return size * sum(widths.get(ord(ch)) or _fallback(ch, default) for ch in text)


def ticks(lo: float, hi: float, nbins: int = 4) -> list[float]:
    """Round tick values inside [lo, hi] (matplotlib's MaxNLocator rule, without a figure)."""
    values = MaxNLocator(nbins=nbins, steps=list(TICK_STEPS)).tick_values(lo, hi)
    eps = 1e-9 * max(abs(hi - lo), 1e-12)
    return [float(v) for v in values if lo - eps <= v <= hi + eps]


@dataclass(frozen=True)
class Frame:
    """The plot box (points, from the top-left) and the data ranges it shows."""

    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return self.left + (v - lo) / (hi - lo) * self.width

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return self.bottom - (v - lo) / (hi - lo) * self.height

    def points(self, xs: Iterable[float], ys: Iterable[float]) -> list[Point | None]:
        """Data points in page coordinates; None where a value is missing (a break in a line)."""
        return [
            (self.x(a), self.y(b)) if math.isfinite(a) and math.isfinite(b) else None
            for a, b in zip(xs, ys, strict=True)
        ]

    def clip_y(self, values: np.ndarray) -> np.ndarray:
        """Values held inside the y range (a band drawn to the box's edge, not past it)."""
        return np.clip(values, *self.ylim)


def _style(**attrs: object) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        text = num(value) if isinstance(value, float) else str(value)
        parts.append(f"{key.rstrip('_').replace('_', '-')}={quoteattr(text)}")
    return " ".join(parts)


def dash(pattern: Sequence[float], width: float) -> str:
    """A dash pattern scaled by the line width, as matplotlib does."""
    return ",".join(num(p * width) for p in pattern)


class Svg:
    """An SVG document of `width` x `height` points, written element by element."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self._parts: list[str] = []
        self._open = 0

    def group(self, gid: str | None = None, **attrs: object) -> None:
        """Open a `<g>`; close it with `end()`."""
        self._parts.append(f"<g {_style(id=gid, **attrs)}>".replace("<g >", "<g>"))
        self._open += 1

    def end(self) -> None:
        self._parts.append("</g>")
        self._open -= 1

    def add(self, tag: str, **attrs: object) -> None:
        self._parts.append(f"<{tag} {_style(**attrs)}/>")

    def line(self, points: Sequence[Point | None], gid: str | None = None, **attrs: object) -> None:
        """A polyline broken where a point is None (stroke attributes in `attrs`)."""
        d = []
        pen_down = False
        for p in points:
            if p is None:
                pen_down = False
                continue
            d.append(f"{'L' if pen_down else 'M'}{num(p[0])} {num(p[1])}")
            pen_down = True
        if d:
            self.add("path", id=gid, d="".join(d), fill="none", **attrs)

    def polygon(self, points: Sequence[Point], **attrs: object) -> None:
        """A closed, filled shape (fill and an `id` in `attrs`)."""
        if points:
            d = "M" + "L".join(f"{num(x)} {num(y)}" for x, y in points) + "Z"
            self.add("path", d=d, **attrs)

    def rect(self, x: float, y: float, w: float, h: float, **attrs: object) -> None:
        self.add("rect", x=float(x), y=float(y), width=float(w), height=float(h), **attrs)

    def marker(self, shape: str, x: float, y: float, size: float, **attrs: object) -> None:
        """A marker of diameter `size` points: `o` circle, `^` triangle, `s` square, `|` tick."""
        r = size / 2
        if shape == "o":
            self.add("circle", cx=float(x), cy=float(y), r=float(r), **attrs)
        elif shape == "s":
            s = r * 0.9
            self.rect(x - s, y - s, 2 * s, 2 * s, **attrs)
        elif shape == "^":
            self.polygon(
                [(x, y - r), (x + r * 0.87, y + r * 0.5), (x - r * 0.87, y + r * 0.5)], **attrs
            )
        elif shape == "|":
            self.add("path", d=f"M{num(x)} {num(y - r)}V{num(y + r)}", **attrs)
        else:
            raise ValueError(f"unknown marker {shape!r}")

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        fill: str,
        anchor: str = "start",
        gid: str | None = None,
        weight: str | None = None,
    ) -> None:
        """`text` with its baseline at `y` (use `middle_baseline` to centre it on a line)."""
        attrs = _style(
            id=gid,
            x=float(x),
            y=float(y),
            font_size=float(size),
            font_weight=weight,
            fill=fill,
            text_anchor=None if anchor == "start" else anchor,
        )
        self._parts.append(f"<text {attrs}>{escape(text)}</text>")

    def render(self) -> str:
        """The document: an XML declaration, then the `<svg>` with every element in order."""
        if self._open:
            raise ValueError("an SVG group was left open")
        w, h = num(self.width), num(self.height)
        head = (
            '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" '
            f'viewBox="0 0 {w} {h}" version="1.1" font-family={quoteattr(FONT)}>\n'
        )
        return head + "\n".join(self._parts) + "\n</svg>\n"


def middle_baseline(y: float, size: float) -> float:
    """The baseline that centres a line of `size`-point digits and capitals on `y`."""
    return y + 0.35 * size
