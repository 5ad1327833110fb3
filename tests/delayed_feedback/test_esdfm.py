"""ES-DFM weights, loss, stream and auxiliary labels against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.esdfm import esdfm_auxiliary_labels, esdfm_loss, esdfm_stream, esdfm_weights
from hermes_core.delayed_feedback.fnw import fnw_weights

NAN = float("nan")


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_weights_by_hand() -> None:
    # f_dp = 0.1, f_rn = 0.8: w+ = 1.1, w- = 1.1 * 0.8 = 0.88
    weights = esdfm_weights(tensor([0.1, 0.1]), tensor([0.8, 0.8]), torch.tensor([1, 0]))
    assert weights.tolist() == pytest.approx([1.1, 0.88], abs=1e-15)


def test_loss_by_hand_and_auxiliary_outputs_get_no_gradient() -> None:
    logits = tensor([math.log(4.0), 0.0]).requires_grad_()  # p = 0.8 and 0.5
    p_dp = tensor([0.2, 0.3]).requires_grad_()
    loss = esdfm_loss(logits, torch.tensor([1, 0]), p_dp, tensor([0.5, 0.5]))
    expected = (-1.2 * math.log(0.8) - 1.3 * 0.5 * math.log(0.5)) / 2
    assert float(loss.detach()) == pytest.approx(expected, abs=1e-14)
    loss.backward()
    assert p_dp.grad is None  # f_dp is a constant of the loss
    # the model's gradient with constant weights: w (p - y) / n
    assert logits.grad.tolist() == pytest.approx([1.2 * (0.8 - 1) / 2, 0.65 * 0.5 / 2], abs=1e-14)


def test_window_zero_gives_fnw_weights() -> None:
    # c = 0 with positive delays: f_dp = p, f_rn = (1 - p) / (1 - p + p) = 1 - p
    p = tensor([0.05, 0.3, 0.7])
    for label in (1, 0):
        labels = torch.full((3,), label)
        assert esdfm_weights(p, 1.0 - p, labels).tolist() == pytest.approx(fnw_weights(p, labels).tolist())


def test_stream_by_hand() -> None:
    # window 1: click 0 converts at 0.5 (within), click 1 at 3 (delayed), click 2 never
    rows = esdfm_stream(np.array([0.0, 0.0, 1.0]), np.array([0.5, 3.0, NAN]), 1.0)
    assert rows.click.tolist() == [0, 1, 2, 1]
    assert rows.time.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert rows.label.tolist() == [1, 0, 0, 1]
    assert (rows.count("first"), rows.count("delayed_positive")) == (3, 1)
    assert len(esdfm_stream(np.array([0.0, 0.0, 1.0]), np.array([0.5, 3.0, NAN]), 1.0, t_now=2.5).click) == 3


def test_auxiliary_labels_by_hand() -> None:
    labels = esdfm_auxiliary_labels(np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.5, 3.0, NAN, 3.0]), 1.0)
    assert labels.delayed_positive.tolist() == [False, True, False, False]  # click 3: delay exactly 1
    assert labels.observed_negative.tolist() == [False, True, True, False]
    assert labels.real_negative.tolist() == [False, False, True, False]


def test_zero_delay_reduces_to_plain_labels() -> None:
    click = np.array([0.0, 1.0, 2.0, 3.0])
    conversion = np.array([0.0, NAN, 2.0, NAN])
    rows = esdfm_stream(click, conversion, 0.5)
    assert rows.click.tolist() == [0, 1, 2, 3]  # each click once, no duplicate
    assert rows.label.tolist() == [1, 0, 1, 0]  # its true label
    labels = esdfm_auxiliary_labels(click, conversion, 0.5)
    assert not labels.delayed_positive.any()  # f_dp = 0
    assert labels.real_negative[labels.observed_negative].all()  # f_rn = 1
    weights = esdfm_weights(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64),
                            torch.tensor(rows.label))
    assert weights.tolist() == [1.0, 1.0, 1.0, 1.0]
