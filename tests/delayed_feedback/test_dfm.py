"""DFM negative log-likelihood against hand computations, finite differences and its limits."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional

from hermes_core.delayed_feedback.dfm import dfm_loss, dfm_negative_log_likelihood

NAN = float("nan")


def tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_three_clicks_by_hand() -> None:
    # click 0 converted after 2 days; click 1 unconverted after 3 days; click 2 unconverted after 0.5 days
    logit_p, log_lambda = [0.3, -1.2, 2.0], [0.1, -0.5, 0.0]
    p = [sigmoid(s) for s in logit_p]
    lam = [math.exp(r) for r in log_lambda]
    expected = [
        -math.log(p[0] * lam[0] * math.exp(-lam[0] * 2.0)),
        -math.log(1 - p[1] + p[1] * math.exp(-lam[1] * 3.0)),
        -math.log(1 - p[2] + p[2] * math.exp(-lam[2] * 0.5)),
    ]
    nll = dfm_negative_log_likelihood(tensor(logit_p), tensor(log_lambda), torch.tensor([1, 0, 0]),
                                      tensor([2.0, NAN, NAN]), tensor([NAN, 3.0, 0.5]))
    assert nll.tolist() == pytest.approx(expected, abs=1e-12)
    loss = dfm_loss(tensor(logit_p), tensor(log_lambda), torch.tensor([1, 0, 0]),
                    tensor([2.0, NAN, NAN]), tensor([NAN, 3.0, 0.5]))
    assert float(loss) == pytest.approx(sum(expected) / 3, abs=1e-12)


def test_gradient_matches_finite_differences() -> None:
    observed = torch.tensor([1, 0, 1, 0, 0])
    delay = tensor([0.7, NAN, 4.0, NAN, NAN])
    elapsed = tensor([NAN, 2.5, NAN, 0.0, 30.0])

    def nll(logit_p: torch.Tensor, log_lambda: torch.Tensor) -> torch.Tensor:
        return dfm_negative_log_likelihood(logit_p, log_lambda, observed, delay, elapsed)

    logit_p = tensor([0.4, -2.0, 1.5, 0.1, -0.7]).requires_grad_()
    log_lambda = tensor([-0.3, 0.2, -1.0, 0.5, -2.0]).requires_grad_()
    assert torch.autograd.gradcheck(nll, (logit_p, log_lambda), eps=1e-6, atol=1e-7)


def test_nan_in_unused_entries_leaves_gradients_finite() -> None:
    logit_p = tensor([0.2, -0.4]).requires_grad_()
    log_lambda = tensor([0.0, 0.3]).requires_grad_()
    dfm_loss(logit_p, log_lambda, torch.tensor([1, 0]), tensor([1.0, NAN]), tensor([NAN, 2.0])).backward()
    assert torch.isfinite(logit_p.grad).all() and torch.isfinite(log_lambda.grad).all()


def test_no_elapsed_time_carries_no_information() -> None:
    # e = 0: -log(1 - p + p) = 0 whatever p and lambda
    nll = dfm_negative_log_likelihood(tensor([-3.0, 0.0, 5.0]), tensor([1.0, -2.0, 0.4]), torch.tensor([0, 0, 0]),
                                      tensor([NAN] * 3), tensor([0.0] * 3))
    assert nll.abs().max().item() < 1e-15


def test_long_wait_reduces_to_cross_entropy_plus_the_delay_density() -> None:
    # unconverted after lambda * e = 1e6: -log(1 - p); converted with delay 0: -log p - log lambda
    logit_p, log_lambda = tensor([0.8, -1.1, 0.8, -1.1]), tensor([0.0, 0.5, 0.0, 0.5])
    observed = torch.tensor([1, 1, 0, 0])
    nll = dfm_negative_log_likelihood(logit_p, log_lambda, observed, tensor([0.0, 0.0, NAN, NAN]),
                                      tensor([NAN, NAN, 1e6, 1e6]))
    bce = functional.binary_cross_entropy_with_logits(logit_p, observed.to(torch.float64), reduction="none")
    assert (nll + observed * log_lambda).tolist() == pytest.approx(bce.tolist(), abs=1e-12)


def test_stable_where_the_naive_formula_fails() -> None:
    # s = 40: 1 - sigmoid(40) rounds to 0 in float64, so -log(1 - p + p e^{-100}) would read 100;
    # the exact value is -log(e^-40 + e^-100) - log(sigmoid(40)) ~= 40
    nll = dfm_negative_log_likelihood(tensor([40.0]), tensor([0.0]), torch.tensor([0]), tensor([NAN]),
                                      tensor([100.0]))
    assert float(nll) == pytest.approx(40.0, abs=1e-9)
    # a very unlikely converted click: -log sigmoid(-50) = 50 + log(1 + e^-50)
    nll = dfm_negative_log_likelihood(tensor([-50.0]), tensor([0.0]), torch.tensor([1]), tensor([0.0]),
                                      tensor([NAN]))
    assert float(nll) == pytest.approx(50.0, abs=1e-12)


@pytest.mark.parametrize(
    ("observed", "delay", "elapsed", "message"),
    [
        ([2, 0], [1.0, NAN], [NAN, 1.0], "observed"),
        ([1, 0], [NAN, NAN], [NAN, 1.0], "delay"),
        ([1, 0], [1.0, NAN], [NAN, -1.0], "elapsed"),
    ],
)
def test_bad_inputs_name_the_argument(observed: list[int], delay: list[float], elapsed: list[float],
                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dfm_negative_log_likelihood(tensor([0.0, 0.0]), tensor([0.0, 0.0]), torch.tensor(observed),
                                    tensor(delay), tensor(elapsed))
