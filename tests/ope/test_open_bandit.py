"""OBP's published Open Bandit experiments (``hermes_core.ope.open_bandit``): the bootstrap runs
on a synthetic log, the summary by hand, and both experiments on the real sample."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers.open_bandit import OpenBanditLogs, read_open_bandit_logs
from hermes_core.ope import DirectMethod, InverseProbabilityWeighting
from hermes_core.ope.open_bandit import (
    PUBLISHED_BTS_FROM_RANDOM_ALL,
    OpenBanditExperimentResult,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
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
    estimates, errors = relative_errors_over_bootstrap(
        logs, target, 0.4, n_runs=3, seed=11, n_folds=2,
        estimators={"ipw": InverseProbabilityWeighting(), "dm": DirectMethod()},
    )  # fmt: skip
    expected = independent_ipw(logs, target, seed=11, n_runs=3)
    np.testing.assert_allclose(estimates["ipw"], expected, rtol=1e-12)
    np.testing.assert_allclose(errors["ipw"], np.abs(expected - 0.4) / 0.4, rtol=1e-12)
    assert len(set(estimates["ipw"].tolist())) == 3  # three different resamples
    assert estimates["dm"].shape == (3,)


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
    assert result.summary() == {"ipw": pytest.approx({"mean": 0.3, "std": np.sqrt(0.02), "mean_estimate": 0.02})}
    single = OpenBanditExperimentResult("x", "all", "bts", "random", 0.1, {"dr": np.array([0.2])},
                                        {"dr": np.array([0.5])}, "logistic", 3, 0)  # fmt: skip
    assert single.summary()["dr"]["std"] == 0.0


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
    assert second.estimates["ipw"][0] == pytest.approx(independent_ipw(random, target, seed=0, n_runs=1)[0], rel=1e-12)
