"""The streaming protocol: windows, per-window metrics, their weighted average and the RI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.delayed_feedback.streaming import (
    WindowScores,
    average_over_windows,
    relative_improvement,
    stream_windows,
    window_scores,
)


def test_windows_by_hand() -> None:
    click = np.array([0.5, 1.0, 1.5, 2.2, 2.9, 3.0, 3.5, 4.0])
    windows = stream_windows(click, 1.0, 1.0, 2)
    assert len(windows) == 2
    assert (windows[0].train_index.tolist(), windows[0].test_index.tolist(), windows[0].train_time) == (
        [1, 2], [3, 4], 2.0)
    # half-open: the click at exactly 3.0 belongs to [3, 4), the one at 4.0 to no window
    assert (windows[1].train_index.tolist(), windows[1].test_index.tolist(), windows[1].train_time) == (
        [3, 4], [5, 6], 3.0)


def test_windows_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="window_days"):
        stream_windows(np.zeros(3), 0.0, 0.0, 2)
    with pytest.raises(ValueError, match="n_windows"):
        stream_windows(np.zeros(3), 0.0, 1.0, 0)


def test_window_scores_by_hand() -> None:
    label = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.4, 0.35, 0.8])
    scores = window_scores(label, probability)
    # AUC: of the 4 (positive, negative) pairs only (0.35, 0.4) is misordered: 3/4
    assert scores.auc == pytest.approx(0.75)
    # average precision: ranks 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-): (1/1 + 2/3) / 2
    assert scores.pr_auc == pytest.approx((1 + 2 / 3) / 2)
    assert scores.nll == pytest.approx(-(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4)
    assert scores.n == 4


def test_single_class_window() -> None:
    scores = window_scores(np.array([0, 0]), np.array([0.2, 0.5]))
    assert math.isnan(scores.auc) and math.isnan(scores.pr_auc)
    assert scores.nll == pytest.approx(-(math.log(0.8) + math.log(0.5)) / 2)


def test_average_weights_by_window_size_and_skips_undefined_values() -> None:
    scores = [WindowScores(4, 0.75, 0.8, 0.5), WindowScores(2, float("nan"), float("nan"), 0.2),
              WindowScores(0, float("nan"), float("nan"), float("nan"))]
    average = average_over_windows(scores)
    assert average["auc"] == pytest.approx(0.75)  # the only window where AUC is defined
    assert average["nll"] == pytest.approx((4 * 0.5 + 2 * 0.2) / 6)
    assert (average["n_windows"], average["n_clicks"]) == (3.0, 6.0)


def test_relative_improvement_is_zero_for_vanilla_and_one_for_oracle() -> None:
    assert relative_improvement(0.80, 0.80, 0.84) == 0.0
    assert relative_improvement(0.84, 0.80, 0.84) == 1.0
    assert relative_improvement(0.82, 0.80, 0.84) == pytest.approx(0.5)
    # NLL (lower is better): same formula, the signs flip together
    assert relative_improvement(0.45, 0.50, 0.40) == pytest.approx(0.5)
    assert relative_improvement(0.52, 0.50, 0.40) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="x_oracle equals x_vanilla"):
        relative_improvement(0.81, 0.80, 0.80)
