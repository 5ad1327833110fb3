"""The beats / ties / loses rule and the paired bootstrap behind it."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.verdict import (
    Comparison,
    compare_interval,
    coverage_sentence,
    paired_bootstrap,
    truth_in_interval,
)


@pytest.mark.parametrize(
    ("low", "high", "higher_is_better", "expected"),
    [
        (0.01, 0.03, True, "beats"),       # whole interval above 0, higher is better
        (-0.03, -0.01, True, "loses to"),
        (-0.01, 0.03, True, "ties with"),  # contains 0
        (0.0, 0.03, True, "ties with"),    # touching 0 is not excluding it
        (-0.03, -0.01, False, "beats"),    # an error that falls: A is better
        (0.01, 0.03, False, "loses to"),
    ],
)
def test_verdict_reads_the_interval_against_zero(low: float, high: float, higher_is_better: bool, expected: str) -> None:
    assert compare_interval((low + high) / 2, low, high, 0.95, higher_is_better).verdict == expected


def test_sentence_states_the_interval_and_whether_it_includes_zero() -> None:
    # the encode notebook's case from the issue: fused minus popularity +0.0075 [-0.0017, +0.0168]
    text = compare_interval(0.0075, -0.0017, 0.0168, 0.95).sentence("fused", "popularity", "NDCG@10", digits=4)
    assert text == ("fused ties with popularity on NDCG@10: difference +0.0075 [-0.0017, +0.0168] "
                    "(95% interval, includes 0)")


def test_reversed_or_undefined_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="reversed"):
        Comparison(0.0, 0.1, -0.1, 0.95)
    with pytest.raises(ValueError, match="finite"):
        Comparison(0.0, float("nan"), 0.1, 0.95)


def test_constant_difference_gives_a_degenerate_interval() -> None:
    a = np.linspace(0.0, 1.0, 50)
    result = paired_bootstrap(a + 0.2, a, n_resamples=200, seed=1)
    # every resampled mean of the constant 0.2 is 0.2 (up to rounding)
    assert result.difference == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(0.2) and result.ci_high == pytest.approx(0.2)
    assert result.verdict == "beats"


def test_pairing_removes_the_common_noise() -> None:
    rng = np.random.default_rng(7)
    unit_noise = rng.normal(0.0, 1.0, 400)    # large, shared by A and B on each unit
    a = unit_noise + 0.05 + rng.normal(0.0, 0.01, 400)
    b = unit_noise + rng.normal(0.0, 0.01, 400)
    assert paired_bootstrap(a, b, n_resamples=500, seed=3).verdict == "beats"


def test_bootstrap_interval_matches_the_normal_interval_for_a_large_sample() -> None:
    rng = np.random.default_rng(11)
    d = rng.normal(0.1, 1.0, 4000)
    result = paired_bootstrap(d, np.zeros_like(d), n_resamples=4000, seed=5)
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


def test_coverage_sentence_says_when_the_truth_is_missed() -> None:
    # the gate of the issue: [0.0381, 0.0461] and a true uplift of 0.0475
    assert not truth_in_interval(0.0475, 0.0381, 0.0461)
    text = coverage_sentence(0.0475, 0.0381, 0.0461, "uplift")
    assert "MISSES the true uplift +0.0475" in text and "0.0014 above" in text
    assert "contains" in coverage_sentence(0.04, 0.0381, 0.0461, "uplift")
