"""Each method's weighted loss on its own stream equals the cross-entropy on the true labels.

One context x, ten clicks with exact shares: 2 immediate positives (delay 0.5 day), 2 delayed
positives (delay 3 days) and 6 real negatives, so p(y=1|x) = 0.4. With the weights evaluated at
the true probabilities, the mean weighted loss over a method's ingested rows must equal
``0.4 * l(1) + 0.6 * l(0)`` for any model logit: the importance-sampling identity
``sum_y q(y|x) w(y) l(y) = sum_y p(y|x) l(y)`` that each module derives.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from hermes_core.delayed_feedback.defer import defer_stream, defer_weights
from hermes_core.delayed_feedback.esdfm import esdfm_auxiliary_labels, esdfm_stream, esdfm_weights
from hermes_core.delayed_feedback.fnw import fnw_stream, fnw_weights
from hermes_core.delayed_feedback.fsiw import fsiw_weights
from hermes_core.delayed_feedback.ingestion import IngestedRows
from hermes_core.delayed_feedback.weighted_bce import importance_weighted_bce

NAN = float("nan")
CLICK = np.zeros(10)
CONVERSION = np.array([0.5, 0.5, 3.0, 3.0] + [NAN] * 6)
P_TRUE, F_DP = 0.4, 0.2  # f_dp: share of delayed positives for a 1-day window
LOGIT = 0.37  # any model score


def true_cross_entropy() -> float:
    positive = float(functional.softplus(torch.tensor(-LOGIT, dtype=torch.float64)))  # -log sigma(s)
    negative = float(functional.softplus(torch.tensor(LOGIT, dtype=torch.float64)))  # -log(1 - sigma(s))
    return P_TRUE * positive + (1 - P_TRUE) * negative


def weighted_mean(rows: IngestedRows, weight: torch.Tensor) -> float:
    logits = torch.full((len(rows.label),), LOGIT, dtype=torch.float64)
    return float(importance_weighted_bce(logits, torch.tensor(rows.label), weight).mean())


def constant(value: float, rows: IngestedRows) -> torch.Tensor:
    return torch.full((len(rows.label),), value, dtype=torch.float64)


def test_fnw_on_its_stream() -> None:
    rows = fnw_stream(CLICK, CONVERSION)
    assert len(rows.label) == 14
    weight = fnw_weights(constant(P_TRUE, rows), torch.tensor(rows.label))
    assert weighted_mean(rows, weight) == pytest.approx(true_cross_entropy(), abs=1e-14)


def test_esdfm_on_its_stream() -> None:
    rows = esdfm_stream(CLICK, CONVERSION, 1.0)
    assert len(rows.label) == 12
    labels = esdfm_auxiliary_labels(CLICK, CONVERSION, 1.0)
    f_dp = labels.delayed_positive.mean()
    f_rn = labels.real_negative[labels.observed_negative].mean()
    assert (f_dp, f_rn) == pytest.approx((F_DP, 0.6 / 0.8))
    weight = esdfm_weights(constant(f_dp, rows), constant(f_rn, rows), torch.tensor(rows.label))
    assert weighted_mean(rows, weight) == pytest.approx(true_cross_entropy(), abs=1e-14)


def test_defer_on_its_stream() -> None:
    rows = defer_stream(CLICK, CONVERSION, 1.0, 10.0)
    assert len(rows.label) == 20
    weight = defer_weights(constant(P_TRUE, rows), constant(F_DP, rows), torch.tensor(rows.label))
    assert weighted_mean(rows, weight) == pytest.approx(true_cross_entropy(), abs=1e-14)


def test_fsiw_on_the_labels_observed_at_one_elapsed_time() -> None:
    # observed 1 day after the clicks: 2 positives seen, P(S=1|Y=1,E) = 0.5, P(Y=0|C=0,E) = 6/8
    observed = (CONVERSION <= 1.0).astype(np.int64)
    rows = IngestedRows(np.arange(10), np.ones(10), observed.astype(np.int8), np.zeros(10, np.int8))
    weight = fsiw_weights(constant(0.5, rows), constant(0.75, rows), torch.tensor(observed))
    assert weighted_mean(rows, weight) == pytest.approx(true_cross_entropy(), abs=1e-14)


def test_unweighted_stream_is_biased() -> None:
    # the check can fail: without weights, FNW's stream under-rates conversions (4 positives in 14 rows)
    rows = fnw_stream(CLICK, CONVERSION)
    assert abs(weighted_mean(rows, constant(1.0, rows)) - true_cross_entropy()) > 0.01
