"""Sentences and tables of ``hermes_core.ope.findings`` and the pooled gate error rates, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hermes_core.ope.calibration import calibration_report
from hermes_core.ope.findings import (
    chosen_c_counts,
    gate_error_sentences,
    parity_sentence,
    parity_table,
    reward_model_sentence,
    world_reward_model_sentence,
)
from hermes_core.ope.gate_error_rates import CHAMPION, GateErrorRates
from hermes_core.ope.metrics import pooled_gate_error_rates
from hermes_core.ope.open_bandit import PUBLISHED_BTS_FROM_RANDOM_ALL, OpenBanditExperimentResult
from hermes_core.ope.reward_model import RewardModelCrossFit


def parity_result(shift: dict[str, float]) -> OpenBanditExperimentResult:
    """Two runs per estimator at the published mean ± 0.1 plus ``shift``: mean = published + shift,
    sd = 0.1 * sqrt(2), mc_se = 0.1."""
    errors = {name: np.array([mean - 0.1, mean + 0.1]) + shift.get(name, 0.0)
              for name, (mean, _) in PUBLISHED_BTS_FROM_RANDOM_ALL.items()}  # fmt: skip
    return OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.0042, errors, errors, "logistic", 3,
                                      12345, protocol="obp")  # fmt: skip


def test_parity_table_and_sentence_by_hand() -> None:
    result = parity_result({"dm": 0.05, "dr": 0.5})
    table = parity_table(result)
    assert table.loc["ipw", "difference"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["dm", "difference_in_mc_se"] == pytest.approx(0.5)
    assert table.loc["dr", "difference_in_mc_se"] == pytest.approx(5.0)
    sentence = parity_sentence(result, table)
    assert "ipw, snipw, sndr, switch-dr, dr-os reproduce the published mean relative error to six decimals" in sentence
    assert "dm land within 0.50 Monte-Carlo standard errors" in sentence
    assert "dr differ by more than one Monte-Carlo standard error" in sentence


def test_reward_model_sentence_flags_the_edge_of_the_grid() -> None:
    predicted = np.full(1000, 0.01)
    observed = np.zeros(1000)
    observed[:10] = 1.0
    report = calibration_report(predicted, observed, n_bins=4)
    fit = RewardModelCrossFit(estimated_rewards=np.zeros((1, 1, 1)), folds=np.zeros(1), fold_ids=np.arange(3),
                              chosen_c=np.array([[1e-4], [1e-4], [1e-4]]), cv_log_loss=np.zeros((3, 1, 2)),
                              c_grid=(1e-4, 1.0))  # fmt: skip
    sentence = reward_model_sentence("logistic-cv", report, fit, "a log")
    assert "C = 0.0001 (3x)" in sentence and "the smallest C of the grid" in sentence
    assert report.log_loss_skill == pytest.approx(0.0, abs=1e-9)  # a constant at the base rate
    interior = RewardModelCrossFit(estimated_rewards=np.zeros((1, 1, 1)), folds=np.zeros(1), fold_ids=np.arange(2),
                                   chosen_c=np.array([[0.1], [1.0]]), cv_log_loss=np.zeros((2, 1, 3)),
                                   c_grid=(0.01, 0.1, 1.0, 10.0))  # fmt: skip
    assert "grid" not in reward_model_sentence("logistic-cv", report, interior, "a log")
    assert chosen_c_counts([0.1, 1.0, 0.1, float("nan")]) == {"0.1": 2, "1": 1}


def test_world_reward_model_sentence_counts_the_choices() -> None:
    table = pd.DataFrame({"log_loss_skill": [0.1, 0.2], "expected_calibration_error": [0.01, 0.03],
                          "chosen_c": ["0.1 0.1", "1"]})  # fmt: skip
    sentence = world_reward_model_sentence(table, "logistic-cv")
    assert "skill +0.150" in sentence and "0.1 (2x), 1 (1x)" in sentence
    assert "no world calibration" in world_reward_model_sentence(pd.DataFrame(), "logistic")


def decisions() -> pd.DataFrame:
    """Better challenger: promoted on 1 of 2 logs (both truly better); worse: promoted once of 2;
    a log where the near-zero one is truly better and kept; the champion never."""
    rows = [("better", 0.02, "promote"), ("better", 0.01, "keep champion"), ("worse", -0.02, "promote"),
            ("worse", -0.01, "keep champion"), ("near-zero", 0.001, "keep champion"),
            (CHAMPION, 0.0, "keep champion")]
    return pd.DataFrame([{"log": i % 2, "seed": 0, "challenger": c, "policy": c, "uplift": t, "ci_low": t - 0.01,
                          "ci_high": t + 0.01, "decision": d, "true_uplift": t} for i, (c, t, d) in enumerate(rows)])


def test_pooled_gate_error_rates_by_hand() -> None:
    errors = GateErrorRates(decisions(), n_requests=100, ci_level=0.95, method="normal", n_bootstrap=0,
                            log_seconds=np.zeros(2), calibration_seconds=0.0)  # fmt: skip
    rates = pooled_gate_error_rates(errors)
    # not better (champion left out): the two worse pairs, one promoted
    assert rates["error_rate_promote_not_better"] == pytest.approx(1 / 2)
    # truly better: better x2 and near-zero x1, two kept
    assert rates["error_rate_keep_better"] == pytest.approx(2 / 3)
    assert pooled_gate_error_rates(None) == {"error_rate_promote_not_better": None, "error_rate_keep_better": None}
    lines = gate_error_sentences(errors)
    assert any("happened in 50.0% of 2 such" in line and "above it" in line for line in lines)
    assert any("66.7% of 3 pairs" in line for line in lines)
