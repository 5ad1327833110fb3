"""The elapsed-time negative weight: hand values, its limits and its ties to DFM and ES-DFM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.dfm import dfm_negative_log_likelihood
from hermes_core.delayed_feedback.elapsed_weight import elapsed_negative_weight


def test_hand_value() -> None:
    # p = 0.2, lambda = 0.5, E = 2: 0.8 / (1 - 0.2 (1 - e^-1))
    expected = 0.8 / (1 - 0.2 * (1 - math.exp(-1.0)))
    assert float(elapsed_negative_weight(0.2, 0.5, 2.0)) == pytest.approx(expected, abs=1e-15)


def test_limits_at_zero_and_infinite_elapsed_time() -> None:
    p = np.array([0.01, 0.05, 0.3, 0.9])
    # E = 0: the prior 1 - p (0.95 at p = 0.05), not a value near 0
    assert elapsed_negative_weight(p, 0.4, 0.0).tolist() == pytest.approx((1 - p).tolist(), abs=1e-15)
    assert float(elapsed_negative_weight(0.05, 0.4, 0.0)) == pytest.approx(0.95)
    # E -> infinity: 1 (lambda E = 200 leaves e^-200 ~ 1e-87)
    assert elapsed_negative_weight(p, 0.4, 500.0).tolist() == pytest.approx([1.0] * 4, abs=1e-15)
    assert elapsed_negative_weight(p, 0.4, np.inf).tolist() == [1.0] * 4


def test_rises_between_its_bounds() -> None:
    elapsed = np.linspace(0.0, 30.0, 61)
    weight = elapsed_negative_weight(0.3, 0.2, elapsed)
    assert (np.diff(weight) > 0).all()
    assert weight.min() >= 0.7 and weight.max() <= 1.0


def test_certain_conversion() -> None:
    # p = 1: an unconverted click is surely a fake negative for every finite E (even when e^-lambda E underflows)
    assert elapsed_negative_weight(1.0, 1.0, np.array([0.0, 5.0, 1e4, np.inf])).tolist() == [0.0, 0.0, 0.0, 1.0]


def test_is_the_dfm_posterior_of_an_unconverted_click() -> None:
    # W * P(no conversion within E) = P(real negative) = 1 - p, with P(no conversion) = exp(-DFM nll)
    logit_p, log_lambda, elapsed = [-1.5, 0.2, 2.0], [-0.7, 0.0, 1.1], [0.5, 3.0, 10.0]
    nll = dfm_negative_log_likelihood(torch.tensor(logit_p, dtype=torch.float64),
                                      torch.tensor(log_lambda, dtype=torch.float64), torch.zeros(3),
                                      torch.full((3,), float("nan"), dtype=torch.float64),
                                      torch.tensor(elapsed, dtype=torch.float64))
    p = 1 / (1 + np.exp(-np.array(logit_p)))
    weight = elapsed_negative_weight(p, np.exp(log_lambda), np.array(elapsed))
    assert (weight * np.exp(-nll.numpy())).tolist() == pytest.approx((1 - p).tolist(), abs=1e-14)


def test_is_esdfm_real_negative_probability_at_window_e() -> None:
    # f_dp = p e^{-lambda c} (converts after c), f_rn = (1 - p) / (1 - p + f_dp)
    p, lam, c = 0.15, 0.3, 2.5
    f_dp = p * math.exp(-lam * c)
    assert float(elapsed_negative_weight(p, lam, c)) == pytest.approx((1 - p) / (1 - p + f_dp), abs=1e-15)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="rate"):
        elapsed_negative_weight(0.1, 0.0, 1.0)
    with pytest.raises(ValueError, match="elapsed"):
        elapsed_negative_weight(0.1, 1.0, -1.0)
    with pytest.raises(ValueError, match="probability"):
        elapsed_negative_weight(1.1, 1.0, 1.0)
