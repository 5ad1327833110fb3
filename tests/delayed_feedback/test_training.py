"""Each method's loss as wired by the training loop, and the loop itself.

The population tests fit a one-parameter model (a single category, no hidden layer) to rows with
exact shares, so its probability converges to the minimiser of the method's objective, which is
worked out by hand: FSIW with its exact weights recovers the true p; the elapsed-weight variant
does not (its fixed point is computed independently by iterating its defining equation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional

from hermes_core.delayed_feedback.defer import defer_loss
from hermes_core.delayed_feedback.dfm import dfm_loss
from hermes_core.delayed_feedback.esdfm import esdfm_loss
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.fnw import fnw_loss
from hermes_core.delayed_feedback.fsiw import fsiw_loss
from hermes_core.delayed_feedback.model import ConversionModel, model_shape, predict_probability
from hermes_core.delayed_feedback.training import (
    FitConfig,
    elapsed_weights,
    fit_rows,
    make_optimizer,
    method_loss,
    n_outputs,
)
from hermes_core.delayed_feedback.training_rows import TrainingRows

LOGITS = torch.tensor([[0.4, -0.3], [-1.2, 0.1], [2.0, 0.5], [-0.1, -1.0]])
LABEL = torch.tensor([1.0, 0.0, 1.0, 0.0])
ELAPSED = torch.tensor([0.5, 2.0, 1.0, 0.1])
DELAY = torch.tensor([0.3, float("nan"), 0.8, float("nan")])
AUX = {"p_dp": torch.tensor([0.1, 0.2, 0.05, 0.3]), "p_rn": torch.tensor([0.9, 0.7, 0.95, 0.6]),
       "p_observed_if_positive": torch.tensor([0.5, 0.4, 0.8, 0.2]),
       "p_real_negative": torch.tensor([0.9, 0.8, 0.85, 0.7]), "rate": torch.tensor([0.5, 0.5, 1.0, 2.0])}


def test_each_method_calls_its_module() -> None:
    s = LOGITS[:, 0]
    expected = {
        "vanilla": functional.binary_cross_entropy_with_logits(s, LABEL),
        "oracle": functional.binary_cross_entropy_with_logits(s, LABEL),
        "dfm": dfm_loss(s, LOGITS[:, 1], LABEL, DELAY, ELAPSED),  # the second output is the log rate
        "fnw": fnw_loss(s, LABEL),
        "fsiw": fsiw_loss(s, LABEL, AUX["p_observed_if_positive"], AUX["p_real_negative"], max_weight=3.0),
        "esdfm": esdfm_loss(s, LABEL, AUX["p_dp"], AUX["p_rn"]),
        "defer": defer_loss(s, LABEL, AUX["p_dp"]),
    }
    for method, value in expected.items():
        outputs = LOGITS if n_outputs(method) == 2 else LOGITS[:, :1]
        got = method_loss(method, outputs, LABEL, ELAPSED, DELAY, AUX, max_fsiw_weight=3.0)
        assert float(got) == pytest.approx(float(value), rel=1e-6), method


def test_elapsed_weight_by_hand() -> None:
    # negative row, p = 0.2, lambda = 0.5, E = 2: W = 0.8 / (1 - 0.2 (1 - e^-1)) = 0.915776...
    weight = elapsed_weights(torch.tensor([0.2, 0.2]), torch.tensor([0.5, 0.5]), torch.tensor([2.0, 2.0]),
                             torch.tensor([0.0, 1.0]))
    assert float(weight[0]) == pytest.approx(0.8 / (1 - 0.2 * (1 - math.exp(-1))), rel=1e-6)
    assert float(weight[1]) == 1.0  # a positive keeps weight 1
    # and the loss is the weighted cross-entropy with the model's own prediction in W
    s = LOGITS[:, 0]
    w = elapsed_weights(torch.sigmoid(s), AUX["rate"], ELAPSED, LABEL)
    expected = (w * functional.binary_cross_entropy_with_logits(s, LABEL, reduction="none")).mean()
    got = method_loss("elapsed_weight", LOGITS[:, :1], LABEL, ELAPSED, DELAY, AUX)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_missing_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="p_rn"):
        method_loss("esdfm", LOGITS[:, :1], LABEL, ELAPSED, DELAY, {"p_dp": AUX["p_dp"]})
    with pytest.raises(ValueError, match="unknown method"):
        method_loss("fnc", LOGITS[:, :1], LABEL, ELAPSED, DELAY, {})


# ----------------------------------------------------------------------------- population fits
P_TRUE, SEEN = 0.3, 0.4  # conversion probability, share of positives already seen at E
N = 100
ELAPSED_DAYS = 1.0
RATE = -math.log(1 - SEEN) / ELAPSED_DAYS  # so that 1 - exp(-lambda E) = SEEN


def population_rows() -> tuple[ClickFeatures, TrainingRows]:
    """100 clicks of one context at E = 1 day: 12 observed positives (p S), 88 observed negatives."""
    n_observed = round(N * P_TRUE * SEEN)
    label = np.r_[np.ones(n_observed), np.zeros(N - n_observed)].astype(np.float32)
    features = ClickFeatures(np.zeros((N, 1), np.int64), np.zeros((N, 0), np.float32), (1,))
    rows = TrainingRows(np.arange(N), label, np.full(N, ELAPSED_DAYS), np.full(N, np.nan))
    return features, rows


def fitted_probability(method: str, aux: dict[str, np.ndarray]) -> float:
    features, rows = population_rows()
    model = ConversionModel(model_shape(features, 1, 0), 0, (0.0,))
    optimizer = make_optimizer(model, FitConfig(1, 0, 0.05, 0.0, N, 1))
    fit_rows(model, optimizer, method, features, rows, aux, epochs=600, batch_size=N, rng=np.random.default_rng(0))
    return float(predict_probability(model, features)[0])


def test_fsiw_with_exact_weights_recovers_the_true_probability() -> None:
    # w+ = 1 / S, w- = P(Y=0 | C=0) = (1 - p) / (1 - p S): minimiser p itself
    aux = {"p_observed_if_positive": np.full(N, SEEN),
           "p_real_negative": np.full(N, (1 - P_TRUE) / (1 - P_TRUE * SEEN))}
    assert fitted_probability("fsiw", aux) == pytest.approx(P_TRUE, abs=2e-3)


def test_elapsed_weight_variant_stays_biased() -> None:
    # its fixed point solves f = pS / (pS + (1 - pS) W(f)), W(f) = (1 - f) / (1 - f S); iterate it
    f = 0.5
    for _ in range(200):
        w = (1 - f) / (1 - f * SEEN)
        f = P_TRUE * SEEN / (P_TRUE * SEEN + (1 - P_TRUE * SEEN) * w)
    fitted = fitted_probability("elapsed_weight", {"rate": np.full(N, RATE)})
    assert fitted == pytest.approx(f, abs=2e-3)
    vanilla = fitted_probability("vanilla", {})
    assert vanilla == pytest.approx(P_TRUE * SEEN, abs=2e-3)  # the observed share, 0.12
    assert vanilla < fitted < P_TRUE * SEEN / (P_TRUE * SEEN + 1 - P_TRUE) < P_TRUE  # 0.12 < 0.129 < 0.146 < 0.3


def test_fit_is_reproducible_and_counts_rows() -> None:
    features, rows = population_rows()

    def run() -> tuple[dict, object]:
        model = ConversionModel(model_shape(features, 2, 4), 5, (0.0,))
        log = fit_rows(model, make_optimizer(model, FitConfig(2, 4, 0.01, 0.0, 16, 3)), "oracle", features, rows, {},
                       epochs=3, batch_size=16, rng=np.random.default_rng([5, 1]))
        return model.state_dict(), log

    (first, log), (second, _) = run(), run()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert log.n_rows == 3 * N and log.n_steps == 3 * 7  # ceil(100 / 16) = 7 batches a pass
    with pytest.raises(ValueError, match="auxiliary input"):
        fit_rows(ConversionModel(model_shape(features, 1, 0), 0), torch.optim.SGD([torch.zeros(1)], lr=0.1), "esdfm",
                 features, rows, {"p_dp": np.zeros(3)}, epochs=1, batch_size=8, rng=np.random.default_rng(0))
