"""Bootstrap and normal intervals: reproducibility, re-normalisation inside resamples, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope import (
    InverseProbabilityWeighting,
    OpeInputs,
    RoundTerms,
    SelfNormalizedInverseProbabilityWeighting,
    bootstrap_interval,
    bootstrap_intervals,
    bootstrap_replicates,
    normal_interval,
)


def logged_problem(seed: int, n: int = 400) -> tuple[dict[str, np.ndarray], float]:
    """Uniform logging over 4 actions; target (0.7, 0.1, 0.1, 0.1); Bernoulli rewards with means
    (0.5, 0.2, 0.3, 0.1), so the true value is .7*.5 + .1*(.2+.3+.1) = 0.41."""
    rng = np.random.default_rng(seed)
    means = np.array([0.5, 0.2, 0.3, 0.1])
    action = rng.integers(0, 4, n)
    target = np.array([0.7, 0.1, 0.1, 0.1])
    data = {
        "reward": (rng.random(n) < means[action]).astype(float),
        "action": action,
        "pscore": np.full(n, 0.25),
        "action_dist": np.broadcast_to(target[None, :, None], (n, 4, 1)),
    }
    return data, 0.41


def test_bootstrap_is_reproducible_with_a_seed_and_independent_of_chunking() -> None:
    data, _ = logged_problem(0)
    first = bootstrap_interval(InverseProbabilityWeighting(), n_bootstrap=300, seed=11, **data)
    again = bootstrap_interval(InverseProbabilityWeighting(), n_bootstrap=300, seed=11, **data)
    chunked = bootstrap_interval(InverseProbabilityWeighting(), n_bootstrap=300, seed=11, chunk_size=7, **data)
    other = bootstrap_interval(InverseProbabilityWeighting(), n_bootstrap=300, seed=12, **data)
    assert first == again
    # Chunking changes only BLAS summation order, not the resamples.
    assert (chunked.low, chunked.high) == pytest.approx((first.low, first.high), abs=1e-14)
    assert (first.low, first.high) != (other.low, other.high)
    assert first.method == "bootstrap" and first.level == pytest.approx(0.95)
    assert first.low < first.estimate < first.high


def test_round_rewards_array_and_estimator_give_the_same_interval_for_plain_estimators() -> None:
    data, _ = logged_problem(1)
    rewards = InverseProbabilityWeighting().estimate_round_rewards(**data)
    from_array = bootstrap_interval(rewards, n_bootstrap=200, seed=3)
    from_estimator = bootstrap_interval(InverseProbabilityWeighting(), n_bootstrap=200, seed=3, **data)
    assert from_array.low == pytest.approx(from_estimator.low, abs=1e-14)
    assert from_array.high == pytest.approx(from_estimator.high, abs=1e-14)


def test_self_normalised_bootstrap_renormalises_within_each_resample() -> None:
    """Replicates equal SNIPW recomputed from scratch on each resample drawn from the same stream
    (resample b is row b of default_rng(seed).integers(0, n, (B, n)))."""
    data, _ = logged_problem(2, n=60)
    inputs = OpeInputs.from_arrays(**data)
    terms = SelfNormalizedInverseProbabilityWeighting().round_terms(inputs)
    replicates = bootstrap_replicates({"snipw": terms}, n_bootstrap=50, seed=5, chunk_size=8)["snipw"]
    indices = np.random.default_rng(5).integers(0, 60, size=(50, 60))
    weights, rewards = inputs.importance_weight, inputs.reward
    expected = [(weights[i] * rewards[i]).sum() / weights[i].sum() for i in indices]
    np.testing.assert_allclose(replicates, expected, rtol=1e-12)
    # Resampling the already-normalised round rewards would give something else.
    naive = terms.round_rewards()[indices].mean(axis=1)
    assert not np.allclose(naive, expected)


def test_shared_resamples_across_estimators() -> None:
    data, _ = logged_problem(3)
    inputs = OpeInputs.from_arrays(**data)
    terms = {
        "ipw": InverseProbabilityWeighting().round_terms(inputs),
        "snipw": SelfNormalizedInverseProbabilityWeighting().round_terms(inputs),
    }
    together = bootstrap_intervals(terms, n_bootstrap=200, seed=9)
    alone = bootstrap_interval(terms["snipw"], n_bootstrap=200, seed=9)
    assert together["snipw"] == alone
    assert set(together) == {"ipw", "snipw"}


def test_normal_interval_formula() -> None:
    rewards = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    interval = normal_interval(rewards, alpha=0.05)
    half = 1.959963984540054 * rewards.std(ddof=1) / np.sqrt(5)
    assert interval.estimate == pytest.approx(0.6)
    assert (interval.low, interval.high) == pytest.approx((0.6 - half, 0.6 + half))
    assert interval.method == "normal"


def test_normal_interval_of_a_ratio_uses_the_delta_method() -> None:
    """For SNIPW = sum(c)/sum(m), the delta-method variance is var(c - theta m) / mean(m)^2."""
    terms = RoundTerms(correction=np.array([2.0, 0.0, 4.0, 0.0]), normaliser=np.array([2.0, 1.0, 4.0, 1.0]))
    theta = 6.0 / 8.0
    sd = np.std(np.array([2.0, 0.0, 4.0, 0.0]) - theta * np.array([2.0, 1.0, 4.0, 1.0]), ddof=1) / 2.0
    interval = normal_interval(terms, alpha=0.1)
    half = 1.6448536269514722 * sd / 2.0
    assert interval.estimate == pytest.approx(theta)
    assert (interval.low, interval.high) == pytest.approx((theta - half, theta + half))


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_interval(np.ones(3), alpha=1.5)
    with pytest.raises(ValueError, match="n_bootstrap"):
        bootstrap_interval(np.ones(3), n_bootstrap=0)
    with pytest.raises(TypeError, match="inputs"):
        bootstrap_interval(InverseProbabilityWeighting())
    with pytest.raises(ValueError, match="row 1"):
        normal_interval(np.array([0.0, np.nan]))


def test_coverage_is_near_nominal() -> None:
    """200 independent logs of 400 rounds; the 95% intervals should cover the true value 0.41
    about 95% of the time (binomial sd 1.5%; the band allows for bootstrap undercoverage)."""
    covered = {"ipw-bootstrap": 0, "snipw-bootstrap": 0, "ipw-normal": 0, "snipw-normal": 0}
    repetitions = 200
    for rep in range(repetitions):
        data, truth = logged_problem(1000 + rep)
        inputs = OpeInputs.from_arrays(**data)
        terms = {
            "ipw": InverseProbabilityWeighting().round_terms(inputs),
            "snipw": SelfNormalizedInverseProbabilityWeighting().round_terms(inputs),
        }
        for name, interval in bootstrap_intervals(terms, n_bootstrap=200, seed=rep).items():
            covered[f"{name}-bootstrap"] += interval.low <= truth <= interval.high
        for name, term in terms.items():
            interval = normal_interval(term)
            covered[f"{name}-normal"] += interval.low <= truth <= interval.high
    for name, count in covered.items():
        assert 0.88 <= count / repetitions <= 0.99, (name, count)
