"""Calibration of cross-fitted reward-model predictions (``hermes_core.ope.calibration``): the
reliability table, ECE, Brier score and log-loss by hand and against scikit-learn's metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from hermes_core.ope.calibration import (
    base_rate_log_loss,
    brier_score,
    calibration_report,
    expected_calibration_error,
    log_loss,
    logged_predictions,
    reliability_table,
    reward_model_calibration,
)

PREDICTED = np.array([0.8, 0.1, 0.6, 0.3, 0.2, 0.4])
OBSERVED = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])


def test_reliability_table_and_ece_by_hand() -> None:
    """Sorted: 0.1 (0), 0.2 (0) | 0.3 (1), 0.4 (0) | 0.6 (1), 0.8 (1). Bins of 2: mean predictions
    0.15, 0.35, 0.7; observed rates 0, 0.5, 1; ECE = (2/6)(0.15 + 0.15 + 0.3) = 0.2."""
    bins = reliability_table(PREDICTED, OBSERVED, n_bins=3)
    assert [b.count for b in bins] == [2, 2, 2]
    assert [b.mean_predicted for b in bins] == pytest.approx([0.15, 0.35, 0.7])
    assert [b.observed_rate for b in bins] == pytest.approx([0.0, 0.5, 1.0])
    assert [(b.lowest_predicted, b.highest_predicted) for b in bins] == [(0.1, 0.2), (0.3, 0.4), (0.6, 0.8)]
    assert expected_calibration_error(bins) == pytest.approx(0.2)


def test_bins_of_unequal_size_differ_by_one() -> None:
    """7 rounds in 3 bins: 3, 2, 2 (the first n mod 3 bins one larger); more bins than rounds gives
    one round per bin, and ECE is then the mean absolute error."""
    predicted = np.linspace(0.1, 0.7, 7)
    observed = np.array([0, 0, 1, 0, 1, 1, 1], dtype=float)
    assert [b.count for b in reliability_table(predicted, observed, n_bins=3)] == [3, 2, 2]
    singletons = reliability_table(predicted, observed, n_bins=50)
    assert len(singletons) == 7
    assert expected_calibration_error(singletons) == pytest.approx(np.mean(np.abs(predicted - observed)))


def test_scores_by_hand_and_against_scikit_learn() -> None:
    """Brier: (0.04 + 0.01 + 0.16 + 0.49 + 0.04 + 0.16) / 6 = 0.15. Log-loss:
    -(ln 0.8 + ln 0.9 + ln 0.6 + ln 0.3 + ln 0.8 + ln 0.6) / 6. Base rate 1/2: ln 2."""
    assert brier_score(PREDICTED, OBSERVED) == pytest.approx(0.15)
    assert brier_score(PREDICTED, OBSERVED) == pytest.approx(brier_score_loss(OBSERVED, PREDICTED))
    by_hand = -sum(math.log(p) for p in (0.8, 0.9, 0.6, 0.3, 0.8, 0.6)) / 6
    assert log_loss(PREDICTED, OBSERVED) == pytest.approx(by_hand, rel=1e-12)
    assert log_loss(PREDICTED, OBSERVED) == pytest.approx(sklearn_log_loss(OBSERVED, PREDICTED), rel=1e-12)
    assert base_rate_log_loss(OBSERVED) == pytest.approx(math.log(2))
    # 1 click in 4: -(1/4 ln 1/4 + 3/4 ln 3/4)
    quarter = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert base_rate_log_loss(np.array([0, 0, 1, 0.0])) == pytest.approx(quarter)
    assert base_rate_log_loss(np.zeros(5)) == 0.0


def test_log_loss_clips_a_confident_wrong_prediction() -> None:
    """p = 0 for a click costs -ln(1e-15) = 34.54 instead of infinity."""
    assert log_loss(np.array([0.0]), np.array([1.0])) == pytest.approx(-math.log(1e-15))


def test_report_gathers_the_scores_and_the_skill() -> None:
    """Skill = 1 - LL / ln 2; the constant base-rate prediction has skill 0 (its log-loss is the
    base rate's), and a report on a log without clicks has NaN skill."""
    report = calibration_report(PREDICTED, OBSERVED, n_bins=3)
    assert report.n_rounds == 6 and len(report.bins) == 3
    assert report.expected_calibration_error == pytest.approx(0.2) and report.brier == pytest.approx(0.15)
    assert report.log_loss_skill == pytest.approx(1 - log_loss(PREDICTED, OBSERVED) / math.log(2))
    assert report.mean_predicted == pytest.approx(PREDICTED.mean()) and report.base_rate == 0.5
    assert report.as_dict()["n_bins"] == 3
    constant = calibration_report(np.full(6, 0.5), OBSERVED)
    assert constant.log_loss_skill == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(calibration_report(np.full(3, 0.1), np.zeros(3)).log_loss_skill)


def test_logged_predictions_pick_each_rounds_action_and_position() -> None:
    """estimated[i, a, k] = 100 i + 10 a + k: rounds (a, k) = (1, 0), (0, 2), (2, 1) give 10, 102, 221."""
    i, a, k = np.meshgrid(np.arange(3), np.arange(3), np.arange(3), indexing="ij")
    estimated = 100.0 * i + 10.0 * a + k
    np.testing.assert_array_equal(logged_predictions(estimated, [1, 0, 2], [0, 2, 1]), [10.0, 102.0, 221.0])
    probabilities = estimated / 1000.0
    report = reward_model_calibration(probabilities, [1, 0, 2], [0, 2, 1], [0.0, 1.0, 0.0], n_bins=1)
    assert report.bins[0].mean_predicted == pytest.approx((0.010 + 0.102 + 0.221) / 3)


def test_errors_name_the_array_and_row() -> None:
    with pytest.raises(ValueError, match=r"predicted, row 2: 1\.5"):
        brier_score(np.array([0.1, 0.2, 1.5]), np.zeros(3))
    with pytest.raises(ValueError, match="observed, row 0"):
        log_loss(np.array([0.1]), np.array([np.nan]))
    with pytest.raises(ValueError, match="action, row 1: 3 is outside"):
        logged_predictions(np.zeros((2, 3, 2)), [0, 3], [0, 0])
    with pytest.raises(ValueError, match="n_bins"):
        reliability_table(PREDICTED, OBSERVED, n_bins=0)
    with pytest.raises(ValueError, match="non-empty"):
        calibration_report(np.array([]), np.array([]))
