"""Intervals and significance (DOMAIN.md §4) against hand-worked numbers, plus properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportlib import stats


def test_nps_value_and_standard_error() -> None:
    # 50 promoters, 20 detractors of 100: NPS 30, SE = 100·sqrt((0.5 + 0.2 − 0.09)/100) = 7.8102.
    assert stats.nps_value(50, 20, 100) == pytest.approx(30.0)
    assert stats.nps_se(50, 20, 100) == pytest.approx(100 * math.sqrt(0.61 / 100))
    lo, hi = stats.nps_interval(30.0, 100 * math.sqrt(0.0061))
    assert lo == pytest.approx(30 - 1.96 * 7.81025, abs=1e-4)
    assert hi == pytest.approx(30 + 1.96 * 7.81025, abs=1e-4)


def test_nps_interval_is_clipped() -> None:
    # All 3 promoters: NPS 100 with SE 0; 2 of 3 promoters gives an upper bound past 100.
    assert stats.nps_interval(100.0, 0.0) == (100.0, 100.0)
    se = stats.nps_se(2, 0, 3)
    lo, hi = stats.nps_interval(stats.nps_value(2, 0, 3), se)
    assert hi == 100.0 and lo < 100 * 2 / 3


def test_zero_sample_gives_nan_not_error() -> None:
    assert math.isnan(stats.nps_value(0, 0, 0))
    assert math.isnan(stats.nps_se(0, 0, 0))
    lo, hi = stats.wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    assert math.isnan(stats.z_two_proportions(0, 0, 3, 10))


def test_wilson_interval_hand_worked() -> None:
    # 8 of 10 at z = 1.96: centre (0.8 + 0.19208)/1.38416, half 1.96·sqrt(0.016 + 0.0096040)/1.38416.
    centre = (0.8 + 1.96**2 / 20) / (1 + 1.96**2 / 10)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 10 + 1.96**2 / 400) / (1 + 1.96**2 / 10)
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(100 * (centre - half))
    assert hi == pytest.approx(100 * (centre + half))
    assert (round(float(lo), 2), round(float(hi), 2)) == (49.02, 94.33)


def test_nps_change_significance() -> None:
    # Δ 10 with SEs 3 and 4: z = 10/5 = 2 ≥ 1.96.
    assert stats.z_difference(10, 3, 4) == pytest.approx(2.0)
    assert stats.significant(stats.z_difference(10, 3, 4))[()] is True
    assert stats.significant(stats.z_difference(9, 3, 4))[()] is False  # z = 1.8
    # Both SEs zero: any change is certain, no change is not significant.
    assert stats.z_difference(5, 0, 0) == math.inf
    assert stats.z_difference(0, 0, 0) == 0.0


def test_two_proportion_z_test_pooled() -> None:
    # 60/100 vs 45/100: pooled 0.525, SE sqrt(0.525·0.475·0.02) = 0.070623; z = 0.15/0.070623.
    z = stats.z_two_proportions(60, 100, 45, 100)
    assert z == pytest.approx(0.15 / math.sqrt(0.525 * 0.475 * 0.02))
    assert stats.significant(z)[()] is True
    assert stats.significant(stats.z_two_proportions(50, 100, 45, 100))[()] is False
    # Both all-yes: no variance and no change.
    assert stats.z_two_proportions(10, 10, 20, 20) == 0.0


def test_significant_keeps_missing_as_none() -> None:
    out = stats.significant(np.array([np.nan, 2.5, -1.0]))
    assert list(out) == [None, True, False]


@given(
    n=st.integers(min_value=1, max_value=5000),
    data=st.data(),
)
def test_nps_interval_contains_estimate(n: int, data: st.DataObject) -> None:
    p = data.draw(st.integers(min_value=0, max_value=n))
    d = data.draw(st.integers(min_value=0, max_value=n - p))
    value = stats.nps_value(p, d, n)
    lo, hi = stats.nps_interval(value, stats.nps_se(p, d, n))
    assert -100 <= lo <= value + 1e-9
    assert value - 1e-9 <= hi <= 100


@given(n=st.integers(min_value=1, max_value=5000), data=st.data())
def test_wilson_interval_contains_estimate(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(min_value=0, max_value=n))
    lo, hi = stats.wilson_interval(x, n)
    assert 0 <= lo <= 100 * x / n + 1e-9
    assert 100 * x / n - 1e-9 <= hi <= 100
