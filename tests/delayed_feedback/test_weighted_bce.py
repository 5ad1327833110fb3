"""The importance-weighted cross-entropy shared by FNW, FSIW, ES-DFM and DEFER."""

from __future__ import annotations

import math

import pytest
import torch

from hermes_core.delayed_feedback.weighted_bce import importance_weighted_bce


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_by_hand() -> None:
    # logit log 3 (p = 0.75) positive with w = 2: -2 log 0.75; logit 0 negative with w = 0.5: -0.5 log 0.5
    per_row = importance_weighted_bce(tensor([math.log(3.0), 0.0]), torch.tensor([1, 0]), tensor([2.0, 0.5]))
    assert per_row.tolist() == pytest.approx([-2 * math.log(0.75), -0.5 * math.log(0.5)], abs=1e-15)


def test_weight_is_a_constant_for_the_gradient() -> None:
    logits = tensor([0.3, -0.8]).requires_grad_()
    weight = tensor([1.5, 0.7]).requires_grad_()
    importance_weighted_bce(logits, torch.tensor([1, 0]), weight).sum().backward()
    assert weight.grad is None
    p = torch.sigmoid(logits.detach())
    assert logits.grad.tolist() == pytest.approx([1.5 * (float(p[0]) - 1), 0.7 * float(p[1])], abs=1e-15)


def test_large_logits_stay_finite() -> None:
    # -log sigma(-60) = 60 + log(1 + e^-60): a naive log(1 - sigmoid(60)) would be inf
    per_row = importance_weighted_bce(tensor([60.0]), torch.tensor([0]), tensor([1.0]))
    assert float(per_row) == pytest.approx(60.0, abs=1e-12)


@pytest.mark.parametrize(
    ("labels", "weight", "message"),
    [([1, 2], [1.0, 1.0], "labels"), ([1, 0], [1.0, -1.0], "weight"), ([1, 0], [1.0, float("inf")], "weight")],
)
def test_bad_inputs(labels: list[int], weight: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        importance_weighted_bce(tensor([0.0, 0.0]), torch.tensor(labels), tensor(weight))
