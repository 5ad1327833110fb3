"""FNW weights, loss and stream, and FNC, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.fnw import fnc_calibrate, fnw_loss, fnw_stream, fnw_weights

NAN = float("nan")


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_weights_by_hand() -> None:
    # p = 0.2: w+ = 1.2, w- = 0.8 * 1.2 = 0.96; p = 0.5: w+ = 1.5, w- = 0.75
    weights = fnw_weights(tensor([0.2, 0.2, 0.5, 0.5]), torch.tensor([1, 0, 1, 0]))
    assert weights.tolist() == pytest.approx([1.2, 0.96, 1.5, 0.75], abs=1e-15)


def test_loss_by_hand_and_weights_are_constants() -> None:
    # logits 0 and log 3: p = 0.5 and 0.75; a positive row then a negative one
    logits = tensor([0.0, math.log(3.0)]).requires_grad_()
    loss = fnw_loss(logits, torch.tensor([1, 0]))
    expected = (-(1.5) * math.log(0.5) - (0.25 * 1.75) * math.log(0.25)) / 2
    assert float(loss.detach()) == pytest.approx(expected, abs=1e-14)
    loss.backward()
    # stop-gradient: d/ds [-w log sigma(s)] = w (p - 1), d/ds [-w log(1 - sigma(s))] = w p, w fixed
    assert logits.grad.tolist() == pytest.approx([1.5 * (0.5 - 1) / 2, 0.4375 * 0.75 / 2], abs=1e-14)


def test_fnc_inverts_the_biased_rate() -> None:
    # b = p / (1 + p): p = 1/3 gives b = 1/4; b = 1/2 is p = 1; above 1/2 is clipped to 1
    assert fnc_calibrate(np.array([0.25, 0.2, 0.5, 0.6])).tolist() == pytest.approx([1 / 3, 0.25, 1.0, 1.0])
    assert fnc_calibrate(tensor([0.25, 0.0])).tolist() == pytest.approx([1 / 3, 0.0])
    with pytest.raises(ValueError, match="biased_probability"):
        fnc_calibrate(np.array([1.2]))


def test_stream_by_hand() -> None:
    # clicks at 0, 1, 2; click 0 converts at 0.5, click 2 at 4
    rows = fnw_stream(np.array([0.0, 1.0, 2.0]), np.array([0.5, NAN, 4.0]))
    assert rows.click.tolist() == [0, 0, 1, 2, 2]
    assert rows.time.tolist() == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert rows.label.tolist() == [0, 1, 0, 0, 1]
    assert (rows.count("first"), rows.count("delayed_positive")) == (3, 2)
    assert len(fnw_stream(np.array([0.0, 1.0, 2.0]), np.array([0.5, NAN, 4.0]), t_now=1.0).click) == 3


def test_zero_delay_still_duplicates_every_positive() -> None:
    # FNW ingests a fake negative even when the conversion is instantaneous: n + n_positive rows,
    # so its weights stay 1 + p and (1 - p)(1 + p) and never reduce to 1
    click = np.arange(5.0)
    rows = fnw_stream(click, np.array([0.0, NAN, 2.0, NAN, NAN]))
    assert len(rows.click) == 7
    assert rows.label.tolist().count(0) == 5
