"""FSIW weights and auxiliary data against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.fsiw import fsiw_auxiliary_data, fsiw_loss, fsiw_weights

NAN = float("nan")


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_weights_by_hand() -> None:
    # positive: 1 / P(S=1 | Y=1) = 1 / 0.25 = 4; negative: P(Y=0 | C=0) = 0.9
    weights = fsiw_weights(tensor([0.25, 0.25]), tensor([0.9, 0.9]), torch.tensor([1, 0]))
    assert weights.tolist() == pytest.approx([4.0, 0.9], abs=1e-15)
    clipped = fsiw_weights(tensor([0.01, 0.5]), tensor([0.3, 0.3]), torch.tensor([1, 1]), max_weight=10.0)
    assert clipped.tolist() == pytest.approx([10.0, 2.0])


def test_loss_by_hand() -> None:
    logits = tensor([0.0, 0.0])  # p = 1/2 on both rows
    loss = fsiw_loss(logits, torch.tensor([1, 0]), tensor([0.5, 0.5]), tensor([0.6, 0.6]))
    assert float(loss) == pytest.approx((2.0 * math.log(2) + 0.6 * math.log(2)) / 2, abs=1e-14)


def test_infinite_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="infinite weight"):
        fsiw_weights(tensor([0.0]), tensor([0.5]), torch.tensor([1]))
    # a zero probability on a negative row is harmless: that row uses the other weight
    assert fsiw_weights(tensor([0.0]), tensor([0.5]), torch.tensor([0])).tolist() == [0.5]


def test_auxiliary_data_by_hand() -> None:
    # observation time 3: clicks 0..3 are made by then (click 4 is not); conversions known at T:
    # click 0 at 0.5 (observed by 3), click 1 at 3.5 and click 3 at 4.5 (after 3), click 2 none
    data = fsiw_auxiliary_data(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), np.array([0.5, 3.5, NAN, 4.5, 4.2]), 3.0)
    assert data.positive_click.tolist() == [0, 1, 3]
    assert data.positive_label.tolist() == [True, False, False]
    assert data.positive_elapsed.tolist() == [3.0, 2.0, 0.0]
    assert data.negative_click.tolist() == [1, 2, 3]
    assert data.negative_label.tolist() == [False, True, False]
    assert data.negative_elapsed.tolist() == [2.0, 1.0, 0.0]


def test_zero_delay_gives_weights_of_one() -> None:
    # every conversion is seen at its click: P(S=1 | Y=1) = 1 and every unconverted click is a real
    # negative, so both auxiliary targets are all 1 and both weights are 1
    click = np.array([0.0, 1.0, 2.0, 3.0])
    data = fsiw_auxiliary_data(click, np.array([0.0, NAN, 2.0, NAN]), 3.5)
    assert data.positive_label.all() and data.negative_label.all()
    weights = fsiw_weights(torch.ones(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64),
                           torch.tensor([1, 0, 1, 0]))
    assert weights.tolist() == [1.0, 1.0, 1.0, 1.0]
