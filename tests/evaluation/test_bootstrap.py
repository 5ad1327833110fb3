"""The shared bootstrap: resampled means and the paired interval built on them."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.bootstrap import paired_bootstrap, resampled_means


def test_constant_difference_gives_a_degenerate_interval() -> None:
    a = np.linspace(0.0, 1.0, 50)
    result = paired_bootstrap(a + 0.2, a, n_bootstrap=200, seed=1)
    # every resampled mean of the constant 0.2 is 0.2 (up to rounding)
    assert result.difference == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(0.2) and result.ci_high == pytest.approx(0.2)
    assert result.verdict == "beats"


def test_pairing_removes_the_common_noise() -> None:
    rng = np.random.default_rng(7)
    unit_noise = rng.normal(0.0, 1.0, 400)    # large, shared by A and B on each unit
    a = unit_noise + 0.05 + rng.normal(0.0, 0.01, 400)
    b = unit_noise + rng.normal(0.0, 0.01, 400)
    assert paired_bootstrap(a, b, n_bootstrap=500, seed=3).verdict == "beats"


def test_bootstrap_interval_matches_the_normal_interval_for_a_large_sample() -> None:
    rng = np.random.default_rng(11)
    d = rng.normal(0.1, 1.0, 4000)
    result = paired_bootstrap(d, np.zeros_like(d), n_bootstrap=4000, seed=5)
    # independent computation: mean +- 1.96 sd / sqrt(n); the percentile bootstrap agrees to
    # a few per cent of the half-width at n = 4000
    half = 1.959964 * d.std(ddof=1) / np.sqrt(d.size)
    assert result.ci_low == pytest.approx(d.mean() - half, abs=0.1 * half)
    assert result.ci_high == pytest.approx(d.mean() + half, abs=0.1 * half)


def test_bootstrap_is_reproducible_from_its_seed() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert paired_bootstrap(a, b, seed=9) == paired_bootstrap(a, b, seed=9)


def test_bootstrap_rejects_unpaired_or_missing_values() -> None:
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        paired_bootstrap([1.0, float("nan")], [1.0, 2.0])


def test_missing_pairs_are_dropped_only_when_asked() -> None:
    a = np.array([1.0, np.nan, 3.0, 5.0])
    b = np.array([0.0, 1.0, np.nan, 4.0])
    # the two complete pairs differ by 1 each: difference 1, degenerate interval
    result = paired_bootstrap(a, b, drop_missing=True, n_bootstrap=100, seed=0)
    assert (result.difference, result.ci_low, result.ci_high) == (1.0, 1.0, 1.0)


def test_resampled_means_do_not_depend_on_the_chunk_size() -> None:
    columns = np.random.default_rng(3).normal(size=(57, 2))
    whole = resampled_means(columns, 40, seed=4)
    chunked = resampled_means(columns, 40, seed=4, chunk_size=7)
    np.testing.assert_allclose(whole, chunked, rtol=1e-12)  # same resamples, BLAS blocking aside


def test_resampled_means_match_an_explicit_resample() -> None:
    columns = np.arange(10.0)[:, None]
    rng = np.random.default_rng(12)
    draws = rng.integers(0, 10, size=(3, 10), dtype=np.int32)
    expected = columns[draws, 0].mean(axis=1)
    np.testing.assert_allclose(resampled_means(columns, 3, seed=12)[:, 0], expected)
