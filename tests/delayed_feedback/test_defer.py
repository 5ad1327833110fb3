"""DEFER stream and weights against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.defer import defer_loss, defer_stream, defer_weights

NAN = float("nan")

# four clicks, waiting window 1 day, attribution window 10 days:
# A at 0 converts at 0.5 (immediate), B at 0 converts at 3 (delayed), C at 1 never, D at 2 converts at 2.2
CLICK = np.array([0.0, 0.0, 1.0, 2.0])
CONVERSION = np.array([0.5, 3.0, NAN, 2.2])


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_stream_of_four_clicks_by_hand() -> None:
    rows = defer_stream(CLICK, CONVERSION, 1.0, 10.0)
    # every click twice: 8 rows; A: first(1, 1) + immediate(1, 1); B: first(1, 0) + delayed(3, 1);
    # C: first(2, 0) + real negative(11, 0); D: first(3, 1) + immediate(3, 1)
    assert len(rows.click) == 8
    assert np.bincount(rows.click).tolist() == [2, 2, 2, 2]
    assert [rows.count(kind) for kind in ("first", "delayed_positive", "immediate_positive", "real_negative")] == [
        4, 1, 2, 1]
    assert list(zip(rows.click.tolist(), rows.time.tolist(), rows.label.tolist())) == [
        (0, 1.0, 1), (1, 1.0, 0), (0, 1.0, 1), (2, 2.0, 0), (3, 3.0, 1), (1, 3.0, 1), (3, 3.0, 1), (2, 11.0, 0)]
    # at t = 5 C's real negative (due at 11) is not in yet: 7 rows, 5 of them positive
    early = defer_stream(CLICK, CONVERSION, 1.0, 10.0, t_now=5.0)
    assert len(early.click) == 7 and int(early.label.sum()) == 5
    # at t = 1.5 only the three rows due at 1
    assert len(defer_stream(CLICK, CONVERSION, 1.0, 10.0, t_now=1.5).click) == 3


def test_weights_by_hand() -> None:
    # p = 0.3, f_dp = 0.2: w+ = 0.3 / (0.3 - 0.1) = 1.5, w- = 0.7 / (0.7 + 0.1) = 0.875
    weights = defer_weights(tensor([0.3, 0.3]), tensor([0.2, 0.2]), torch.tensor([1, 0]))
    assert weights.tolist() == pytest.approx([1.5, 0.875], abs=1e-15)
    # f_dp above p is clipped to p: w+ = 0.1 / 0.05 = 2, w- = 0.9 / 0.95
    clipped = defer_weights(tensor([0.1, 0.1]), tensor([0.5, 0.5]), torch.tensor([1, 0]))
    assert clipped.tolist() == pytest.approx([2.0, 0.9 / 0.95], abs=1e-15)
    assert defer_weights(tensor([0.0]), tensor([0.0]), torch.tensor([1])).tolist() == [1.0]


def test_loss_by_hand() -> None:
    logits = tensor([0.0, 0.0])  # p = 0.5: w+ = 0.5 / 0.4 = 1.25, w- = 0.5 / 0.6 with f_dp = 0.2
    loss = defer_loss(logits, torch.tensor([1, 0]), tensor([0.2, 0.2]))
    assert float(loss) == pytest.approx((1.25 + 0.5 / 0.6) * math.log(2) / 2, abs=1e-14)


def test_zero_delay_reduces_to_plain_labels() -> None:
    rows = defer_stream(CLICK, np.array([0.0, NAN, NAN, 2.0]), 1.0, 10.0)
    truth = {0: 1, 1: 0, 2: 0, 3: 1}
    assert np.bincount(rows.click).tolist() == [2, 2, 2, 2]
    assert all(label == truth[click] for click, label in zip(rows.click.tolist(), rows.label.tolist()))
    weights = defer_weights(tensor([0.1, 0.6, 0.1, 0.6]), torch.zeros(4, dtype=torch.float64),
                            torch.tensor([1, 1, 0, 0]))
    assert weights.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="attribution window"):
        defer_stream(CLICK, np.array([0.5, 30.0, NAN, 2.2]), 1.0, 10.0)
    with pytest.raises(ValueError, match="must not exceed"):
        defer_stream(CLICK, CONVERSION, 11.0, 10.0)
    with pytest.raises(ValueError, match="precedes"):
        defer_stream(CLICK, np.array([-0.5, 3.0, NAN, 2.2]), 1.0, 10.0)
