"""The beats / ties / loses rule."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.verdict import (
    Comparison,
    compare_interval,
    coverage_sentence,
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


def test_coverage_sentence_says_when_the_truth_is_missed() -> None:
    # the gate of the issue: [0.0381, 0.0461] and a true uplift of 0.0475
    assert not truth_in_interval(0.0475, 0.0381, 0.0461)
    text = coverage_sentence(0.0475, 0.0381, 0.0461, "uplift")
    assert "MISSES the true uplift +0.0475" in text and "0.0014 above" in text
    assert "contains" in coverage_sentence(0.04, 0.0381, 0.0461, "uplift")
