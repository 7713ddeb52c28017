"""Intervals and significance tests for survey KPIs (DOMAIN.md §4).

Functions take numpy arrays (or scalars) so they serve one value or a whole scorecard;
a zero or missing sample gives NaN, never an error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Z95 = 1.96
"""Two-sided 95% critical value used for every interval and test (§4)."""

Array = npt.ArrayLike


def _f(x: Array) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def nps_value(promoters: Array, detractors: Array, n: Array) -> np.ndarray:
    """100·(P − D)/n; NaN when n is 0 (§3)."""
    p, d, n = _f(promoters), _f(detractors), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, 100.0 * (p - d) / n, np.nan)


def nps_se(promoters: Array, detractors: Array, n: Array) -> np.ndarray:
    """SE = 100·sqrt((pP + pD − (pP − pD)²)/n) (§4)."""
    p, d, n = _f(promoters), _f(detractors), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp, pd = p / n, d / n
        var = np.maximum(pp + pd - (pp - pd) ** 2, 0.0) / n
        return np.where(n > 0, 100.0 * np.sqrt(var), np.nan)


def nps_interval(value: Array, se: Array) -> tuple[np.ndarray, np.ndarray]:
    """NPS ± 1.96·SE, clipped to [−100, 100] (§4)."""
    v, s = _f(value), _f(se)
    return np.clip(v - Z95 * s, -100.0, 100.0), np.clip(v + Z95 * s, -100.0, 100.0)


def wilson_interval(successes: Array, n: Array) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval at 95% for a proportion, in percent (§4)."""
    x, n = _f(successes), _f(n)
    z2 = Z95**2
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        lo = np.where(n > 0, 100.0 * np.maximum(centre - half, 0.0), np.nan)
        hi = np.where(n > 0, 100.0 * np.minimum(centre + half, 1.0), np.nan)
    return lo, hi


def z_difference(delta: Array, se1: Array, se2: Array) -> np.ndarray:
    """z = Δ / sqrt(SE₁² + SE₂²) for a change in NPS (§4).

    With both standard errors zero (every answer identical in both periods) any
    change is certain: z is ±inf, and 0 when nothing changed.
    """
    d, a, b = _f(delta), _f(se1), _f(se2)
    denom = np.sqrt(a * a + b * b)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = d / denom
    certain = np.where(d == 0, 0.0, np.copysign(np.inf, d))
    return np.where(denom == 0, certain, z)


def z_two_proportions(x1: Array, n1: Array, x2: Array, n2: Array) -> np.ndarray:
    """Pooled two-proportion z statistic for p1 − p2 (§4); NaN when either n is 0."""
    x1, n1, x2, n2 = _f(x1), _f(n1), _f(x2), _f(n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
    # se = 0 only when both proportions are 0 or both are 1: no change.
    z = np.where(se == 0, 0.0, z)
    return np.where((n1 > 0) & (n2 > 0), z, np.nan)


def significant(z: Array) -> np.ndarray:
    """|z| ≥ 1.96 as a nullable boolean array (None where z is NaN)."""
    z = _f(z)
    out = np.abs(z) >= Z95
    return np.asarray(np.where(np.isnan(z), None, out), dtype=object)
