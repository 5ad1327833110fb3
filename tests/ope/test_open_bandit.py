"""OBP's published Open Bandit experiments (``hermes_core.ope.open_bandit``): the bootstrap runs
on a synthetic log, the summary by hand, and both experiments on the real sample."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers.open_bandit import OpenBanditLogs, read_open_bandit_logs
from hermes_core.ope import DirectMethod, InverseProbabilityWeighting, SwitchDoublyRobust
from hermes_core.ope.registry import make_estimators
from hermes_core.ope.tuning import SlopeTuned, WeightGridSlopeTuned
from hermes_core.ope.open_bandit import (
    PUBLISHED_BTS_FROM_RANDOM_ALL,
    OpenBanditExperimentResult,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
    largest_row_influence,
    relative_errors_over_bootstrap,
)
from hermes_core.ope.policies import logged_action_share

SHARED = Path(os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
OBD_ROOT = SHARED / "open_bandit_dataset"
needs_obd = pytest.mark.skipif(
    not (OBD_ROOT / "random" / "all" / "all.csv").is_file(),
    reason=f"Open Bandit sample not found at {OBD_ROOT} (set HERMES_SHARED_DATA)",
)


def synthetic_logs(n: int = 400, n_actions: int = 4, seed: int = 0) -> OpenBanditLogs:
    """Uniform logging over 4 items and 3 slots (pscore 1/4), clicks with probability 0.1 + 0.1 a,
    two binary user features."""
    rng = np.random.default_rng(seed)
    action = rng.integers(0, n_actions, n)
    return OpenBanditLogs(
        behavior_policy="random", campaign="all", path="synthetic",
        timestamp=np.arange(n).astype("datetime64[s]").astype("datetime64[us]"),
        action=action, position=rng.integers(0, 3, n),
        reward=(rng.random(n) < 0.1 + 0.1 * action).astype(float), pscore=np.full(n, 1 / n_actions),
        context=rng.integers(0, 2, (n, 2)).astype(float), context_names=("u0", "u1"),
        action_context=np.eye(n_actions), action_context_names=tuple(f"item={a}" for a in range(n_actions)),
        source_line=np.arange(2, n + 2),
    )  # fmt: skip


def independent_ipw(logs: OpenBanditLogs, target: np.ndarray, seed: int, n_runs: int) -> np.ndarray:
    """IPS on each bootstrap resample, written out: run r draws its rows from
    ``default_rng(SeedSequence(seed).spawn(n_runs)[r])``, then
    :math:`\\hat V = \\frac1n\\sum_i r_i\\, \\pi(a_i \\mid k_i) / p_i` over the drawn rows."""
    values = []
    for child in np.random.SeedSequence(seed).spawn(n_runs):
        rows = np.random.default_rng(child).integers(0, logs.n_rounds, size=logs.n_rounds)
        weights = target[logs.action[rows], logs.position[rows]] / logs.pscore[rows]
        values.append(float(np.mean(weights * logs.reward[rows])))
    return np.array(values)


def test_bootstrap_runs_match_an_independent_computation() -> None:
    """Target: item 3 at every slot (value 0.4). IPS on each of 3 resamples equals the loop
    above; the relative errors are |V̂ - 0.4| / 0.4."""
    logs = synthetic_logs()
    target = np.zeros((4, 3))
    target[3] = 1.0
    estimates, errors, choices = relative_errors_over_bootstrap(
        logs, target, 0.4, n_runs=3, seed=11, n_folds=2,
        estimators={"ipw": InverseProbabilityWeighting(), "dm": DirectMethod()},
    )  # fmt: skip
    expected = independent_ipw(logs, target, seed=11, n_runs=3)
    np.testing.assert_allclose(estimates["ipw"], expected, rtol=1e-12)
    np.testing.assert_allclose(errors["ipw"], np.abs(expected - 0.4) / 0.4, rtol=1e-12)
    assert len(set(estimates["ipw"].tolist())) == 3  # three different resamples
    assert estimates["dm"].shape == (3,)
    assert choices == {}  # no SLOPE-tuned estimator


def test_bootstrap_runs_record_the_value_slope_picks() -> None:
    """Each run records the hyperparameter of the candidate SLOPE selects: a value of the grid
    (fixed, or built from that run's weights), and the estimate is that candidate's."""
    logs = synthetic_logs()
    target = np.full((4, 3), 0.1)
    target[3] = 0.7
    estimators = make_estimators(tuning_grid="quantiles")
    fixed = SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=t) for t in (0.5, 2.0, np.inf)), label="fixed")
    chosen = {"switch-dr-slope": estimators["switch-dr-slope"], "ipw-subgauss-slope": estimators["ipw-subgauss-slope"],
              "fixed": fixed, "dm": DirectMethod()}  # fmt: skip
    estimates, _, choices = relative_errors_over_bootstrap(logs, target, 0.4, n_runs=3, seed=5, n_folds=2,
                                                           estimators=chosen)  # fmt: skip
    assert set(choices) == {"switch-dr-slope", "ipw-subgauss-slope", "fixed"}
    assert set(choices["fixed"].tolist()) <= {0.5, 2.0, np.inf}
    assert all(0.0 <= value <= 1.0 for value in choices["ipw-subgauss-slope"])
    # Every weight here is 0.7 / pscore or 0.1 / pscore; the grid of a run is the quantiles of those.
    tuned = chosen["switch-dr-slope"]
    assert isinstance(tuned, WeightGridSlopeTuned)
    assert all(value in (1.0, 2.0, 5.0, np.inf) or 0 < value < np.inf for value in choices["switch-dr-slope"])
    assert all(estimate == estimate for estimate in estimates["switch-dr-slope"])


def test_slope_choice_counts_by_hand() -> None:
    """Runs chose tau 5, inf, 5, 80.5: counts {5: 2, 80.5: 1, inf: 1}, in increasing order."""
    arrays = {"switch-dr-slope": np.array([0.1, 0.2, 0.3, 0.4])}
    result = OpenBanditExperimentResult("x", "all", "bts", "random", 0.1, arrays, arrays, "logistic", 2, 0,
                                        {"switch-dr-slope": np.array([5.0, np.inf, 5.0, 80.5])})  # fmt: skip
    counts = result.slope_choice_counts()
    assert counts == {"switch-dr-slope": {"5": 2, "80.5": 1, "inf": 1}}
    assert list(counts["switch-dr-slope"]) == ["5", "80.5", "inf"]


def test_bootstrap_runs_with_a_cross_validated_reward_model() -> None:
    """``reward_model="logistic-cv"`` runs inside the bootstrap (its inner folds grouped by original
    row); IPW does not use the model, so its estimate is the same as with the fixed-C model, and
    ``position_handling=None`` is the hermes default one-hot."""
    logs = synthetic_logs()
    target = np.full((4, 3), 0.1)
    target[3] = 0.7
    chosen = {"ipw": InverseProbabilityWeighting(), "dm": DirectMethod()}
    tuned, _, _ = relative_errors_over_bootstrap(logs, target, 0.4, n_runs=1, seed=3, n_folds=2,
                                                 reward_model="logistic-cv", estimators=chosen)  # fmt: skip
    fixed, _, _ = relative_errors_over_bootstrap(logs, target, 0.4, n_runs=1, seed=3, n_folds=2, estimators=chosen)
    one_hot, _, _ = relative_errors_over_bootstrap(logs, target, 0.4, n_runs=1, seed=3, n_folds=2, estimators=chosen,
                                                   position_handling="one-hot")  # fmt: skip
    np.testing.assert_array_equal(tuned["ipw"], fixed["ipw"])
    np.testing.assert_array_equal(fixed["dm"], one_hot["dm"])
    assert np.isfinite(tuned["dm"]).all() and not np.array_equal(tuned["dm"], fixed["dm"])


def test_bootstrap_runs_reject_bad_arguments() -> None:
    logs = synthetic_logs(n=50)
    with pytest.raises(ValueError, match="n_runs"):
        relative_errors_over_bootstrap(logs, np.full((4, 3), 0.25), 0.2, n_runs=0)
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        relative_errors_over_bootstrap(logs, np.full((4, 2), 0.25), 0.2, n_runs=1)


def test_summary_by_hand() -> None:
    """Errors 0.2 and 0.4: mean 0.3, std (ddof 1) sqrt(0.02); estimates 0.01 and 0.03: mean 0.02.
    One run has no spread: std 0."""
    result = OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.0042,
                                        {"ipw": np.array([0.01, 0.03])}, {"ipw": np.array([0.2, 0.4])},
                                        "logistic", 3, 0)  # fmt: skip
    assert result.n_runs == 2
    assert result.summary() == {"ipw": pytest.approx({"mean": 0.3, "std": np.sqrt(0.02), "mc_se": 0.1,
                                                      "mean_estimate": 0.02})}  # mc_se: sqrt(0.02) / sqrt(2)
    single = OpenBanditExperimentResult("x", "all", "bts", "random", 0.1, {"dr": np.array([0.2])},
                                        {"dr": np.array([0.5])}, "logistic", 3, 0)  # fmt: skip
    assert single.summary()["dr"]["std"] == 0.0 and single.summary()["dr"]["mc_se"] == 0.0


def test_largest_row_influence_on_a_hand_made_log() -> None:
    """Four rounds, 2 items x 2 positions, target (rows: items) [[0.5, 0.2], [0.5, 0.8]], pscore 0.5
    everywhere: weights 1.0 (item 0, pos 0), 1.6 (item 1, pos 1), 0.4 (item 0, pos 1), 1.0 (item 1, pos 0).
    Clicks on rounds 0 and 1: terms 1.0, 1.6, 0, 0, sum 2.6, IPW 0.65. The largest is round 1:
    share 1.6 / 2.6; one extra copy gives 4.2 / 5 = 0.84, a shift of (1.6 - 0.65) / 5 = 0.19,
    i.e. 0.19 / 0.5 = 0.38 of the truth 0.5."""
    target = np.array([[0.5, 0.2], [0.5, 0.8]])
    influence = largest_row_influence(reward=[1, 1, 0, 0], action=[0, 1, 0, 1], position=[0, 1, 1, 0],
                                      pscore=[0.5] * 4, target_action_dist=target, truth=0.5)  # fmt: skip
    assert (influence.row, influence.action, influence.position) == (1, 1, 1)
    assert influence.weight == pytest.approx(1.6) and influence.reward == 1.0 and influence.n_rounds == 4
    assert influence.estimate == pytest.approx(0.65)
    assert influence.term_share == pytest.approx(1.6 / 2.6)
    assert influence.one_copy_shift == pytest.approx(0.84 - 0.65)
    assert influence.one_copy_shift_over_truth == pytest.approx(0.38)
    assert influence.as_dict()["action"] == 1 and isinstance(influence.as_dict()["action"], int)
    no_click = largest_row_influence([0, 0], [0, 1], [0, 0], [0.5, 0.5], target, truth=0.5)
    assert np.isnan(no_click.term_share) and no_click.one_copy_shift == 0.0
    with pytest.raises(ValueError, match="truth"):
        largest_row_influence([1], [0], [0], [0.5], target, truth=0.0)


@needs_obd
@pytest.mark.shared_data
def test_published_experiments_run_on_the_real_sample() -> None:
    """Truths 38 and 42 clicks in 10,000; every published estimator is run; IPS of experiment 2,
    run 0, equals the written-out bootstrap IPS with BTS's logged action share as the target."""
    first = evaluate_random_from_bts(OBD_ROOT, n_runs=2, seed=0)
    assert first.ground_truth == pytest.approx(38 / 10_000)
    second = evaluate_bts_from_random(OBD_ROOT, n_runs=1, seed=0)
    assert second.ground_truth == pytest.approx(42 / 10_000)
    assert set(PUBLISHED_BTS_FROM_RANDOM_ALL) <= set(second.summary())
    for result in (first, second):
        for name, errors in result.relative_errors.items():
            assert errors.shape == (result.n_runs,) and np.isfinite(errors).all(), name
    random, bts = read_open_bandit_logs(OBD_ROOT, "random"), read_open_bandit_logs(OBD_ROOT, "bts")
    target = logged_action_share(bts.action, bts.position, bts.n_actions)
    assert set(second.slope_choices) == {"switch-dr-slope", "dr-os-slope", "ipw-clip-slope", "dr-clip-slope",
                                         "ipw-subgauss-slope"}  # fmt: skip
    assert second.estimates["ipw"][0] == pytest.approx(independent_ipw(random, target, seed=0, n_runs=1)[0], rel=1e-12)
