"""SLOPE's choice among nested estimators (``hermes_core.ope.tuning``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.ope import (
    ClippedDoublyRobust,
    DoublyRobust,
    DoublyRobustWithShrinkage,
    InverseProbabilityWeighting,
    OpeInputs,
    RoundTerms,
    SlopeTuned,
    SubGaussianInverseProbabilityWeighting,
    SwitchDoublyRobust,
    WeightGridSlopeTuned,
    slope_select,
    weight_quantile_grid,
)
from hermes_core.ope.tuning import hyperparameter_value
from tests.ope.problems import random_problem


def click_log(seed: int = 0, n: int = 4000) -> dict[str, np.ndarray]:
    """Uniform logging over 5 actions, action 0 clicks with 0.3 and the others with 0.1; the
    target always plays action 0; a constant reward model of 0.15."""
    rng = np.random.default_rng(seed)
    action = rng.integers(0, 5, n)
    best = np.zeros((n, 5, 1))
    best[:, 0, 0] = 1.0
    return {
        "reward": (rng.random(n) < np.array([0.3, 0.1, 0.1, 0.1, 0.1])[action]).astype(float),
        "action": action,
        "pscore": np.full(n, 0.2),
        "action_dist": best,
        "estimated_rewards_by_reg_model": np.full((n, 5, 1), 0.15),
    }


def test_slope_picks_the_narrowest_candidate_consistent_with_the_wider_ones() -> None:
    """Three candidates: wide around 1.0, medium around 1.02 (consistent), narrow around 3.0
    (biased, its interval misses the others): SLOPE keeps the medium one."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(1000)
    noise = (noise - noise.mean()) / noise.std()
    wide = RoundTerms(correction=1.0 + 10 * noise)
    medium = RoundTerms(correction=1.02 + 2 * noise)
    narrow = RoundTerms(correction=3.0 + 0.1 * noise)
    assert slope_select([narrow, wide, medium]) == 2
    assert slope_select([wide, medium]) == 1
    assert slope_select([wide]) == 0


def test_slope_tuned_switch_dr_drops_the_biased_threshold() -> None:
    """Every logged weight is 5 (action 0) or 0. Switch-DR at tau = 1 drops every correction and
    is DM, the constant 0.15 with zero width, far below the truth 0.3; tau = 10 and tau = inf both
    keep every correction (w <= 5) and are plain DR. Visited widest first: inf, then 10 (same
    estimate, accepted), then 1, rejected since |0.15 - DR| >> C c. SLOPE returns tau = 10."""
    inputs = OpeInputs.from_arrays(**click_log())
    tuned = SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=t) for t in (1.0, 10.0, math.inf)))
    assert tuned.select(inputs) == SwitchDoublyRobust(tau=10.0)
    assert tuned.round_terms(inputs).estimate() == DoublyRobust().round_terms(inputs).estimate()


# ----------------------------------------------------------------------------- quantile grids
HAND_WEIGHTS = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 10.0])
"""Positive weights 1, 2, 3, 4, 10 (the zeros are left out). Linear-interpolation quantiles at
position p (n - 1) = 4p: p = .5 -> 3; p = .75 -> 4; p = .9 -> 3.6 -> 4 + .6 (10 - 4) = 7.6."""


def test_weight_quantile_grid_by_hand() -> None:
    """Quantiles {3, 4, 7.6}, small values {1, 2, 5} and infinity, sorted; a value that is both a
    quantile and a small value appears once."""
    grid = weight_quantile_grid(HAND_WEIGHTS, (0.5, 0.75, 0.9), (1.0, 2.0, 5.0))
    assert grid == pytest.approx((1.0, 2.0, 3.0, 4.0, 5.0, 7.6, math.inf))
    assert weight_quantile_grid(HAND_WEIGHTS, (0.5,), (3.0,)) == (3.0, math.inf)
    # All weights zero: only the small values and infinity.
    assert weight_quantile_grid(np.zeros(4), (0.5,), (1.0,)) == (1.0, math.inf)


def test_grid_scales_by_hand() -> None:
    """Switch-DR: tau itself; DRos: tau^2; SG-IPW: min(1, 1/tau) with 1/inf = 0 (IPW)."""
    levels, small = (0.5, 0.75, 0.9), (1.0, 2.0, 5.0)
    switch = WeightGridSlopeTuned(family=SwitchDoublyRobust, parameter="tau", quantiles=levels, small_values=small)
    dros = WeightGridSlopeTuned(family=DoublyRobustWithShrinkage, parameter="shrinkage_lambda", quantiles=levels,
                                small_values=small, scale="squared")  # fmt: skip
    sg = WeightGridSlopeTuned(family=SubGaussianInverseProbabilityWeighting, parameter="shrinkage_lambda",
                              quantiles=levels, small_values=(0.5, 2.0), scale="inverse")  # fmt: skip
    assert switch.grid_from_weights(HAND_WEIGHTS) == pytest.approx((1.0, 2.0, 3.0, 4.0, 5.0, 7.6, math.inf))
    assert dros.grid_from_weights(HAND_WEIGHTS) == pytest.approx((1.0, 4.0, 9.0, 16.0, 25.0, 57.76, math.inf))
    # thresholds 0.5 (-> 1/0.5 = 2, capped at 1), 2, 3, 4, 7.6, inf
    assert sg.grid_from_weights(HAND_WEIGHTS) == pytest.approx((0.0, 1 / 7.6, 0.25, 1 / 3, 0.5, 1.0))
    assert not sg.uses_reward_model and switch.uses_reward_model


def test_quantile_grid_switches_on_weights_of_the_random_open_bandit_logs() -> None:
    """On the uniform-random OBD logs w = 80 pi_e <= 80, so OBP's grid {10, 50, ...} leaves
    Switch-DR = DR for every tau >= 80; the quantile grid holds thresholds below the largest
    weight, so some candidates do switch."""
    rng = np.random.default_rng(0)
    weights = 80 * rng.dirichlet(np.full(80, 0.3), size=100).ravel()  # (8000,) in [0, 80]
    grid = weight_quantile_grid(weights, (0.5, 0.75, 0.9, 0.95, 0.99, 0.999), (1.0, 2.0, 5.0))
    assert grid[-1] == math.inf and weights.max() <= 80
    assert all(tau < weights.max() for tau in grid[:-1]) and len(grid) == 10  # 6 quantiles, 3 small, inf
    assert min(grid) < 10.0  # below OBP's smallest value


def test_weight_grid_slope_selects_like_slope_tuned_on_the_same_candidates() -> None:
    """Same candidates, same choice: the weight grid only builds the candidates. The chosen value
    is a value of the grid, and the estimate is the chosen candidate's."""
    inputs = OpeInputs.from_arrays(**random_problem(3, n=600))
    families = ((SwitchDoublyRobust, "tau", "weight"), (ClippedDoublyRobust, "clip_lambda", "weight"),
                (InverseProbabilityWeighting, "clip_lambda", "weight"),
                (DoublyRobustWithShrinkage, "shrinkage_lambda", "squared"),
                (SubGaussianInverseProbabilityWeighting, "shrinkage_lambda", "inverse"))  # fmt: skip
    for family, parameter, scale in families:
        tuned = WeightGridSlopeTuned(family=family, parameter=parameter, scale=scale)  # type: ignore[arg-type]
        grid = tuned.grid_from_weights(inputs.importance_weight)
        fixed = SlopeTuned(candidates=tuple(family(**{parameter: value}) for value in grid))
        assert tuned.select(inputs) == fixed.select(inputs)
        value = tuned.chosen_value(inputs)
        assert value in grid and value == fixed.chosen_value(inputs)
        chosen = family(**{parameter: value})
        assert tuned.round_terms(inputs).estimate() == chosen.round_terms(inputs).estimate()


def test_chosen_value_on_the_click_log() -> None:
    """The click log's weights are 5 or 0: the grid is {1, 2, 5, inf} (every quantile of the
    positive weights is 5); tau = 1 and 2 are DM (biased), 5 and inf are DR: SLOPE keeps 5."""
    inputs = OpeInputs.from_arrays(**click_log())
    tuned = WeightGridSlopeTuned(family=SwitchDoublyRobust, parameter="tau")
    assert tuned.grid_from_weights(inputs.importance_weight) == (1.0, 2.0, 5.0, math.inf)
    assert tuned.chosen_value(inputs) == 5.0
    fixed = SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=t) for t in (1.0, 10.0, math.inf)))
    assert fixed.chosen_value(inputs) == 10.0


def test_weight_grid_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="family"):
        WeightGridSlopeTuned()
    with pytest.raises(ValueError, match="no hyperparameter"):
        WeightGridSlopeTuned(family=SwitchDoublyRobust, parameter="lambda")
    with pytest.raises(ValueError, match="quantiles"):
        WeightGridSlopeTuned(family=SwitchDoublyRobust, parameter="tau", quantiles=(1.5,))
    with pytest.raises(ValueError, match="small_values"):
        WeightGridSlopeTuned(family=SwitchDoublyRobust, parameter="tau", small_values=(0.0,))
    with pytest.raises(ValueError, match="hyperparameters"):
        hyperparameter_value(DoublyRobust())


# ----------------------------------------------------------------------------- SLOPE inside the bootstrap
def _slope_candidates(n: int = 400) -> list:
    from hermes_core.ope.base import RoundTerms

    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 1.0, n)
    # wider and unbiased -> narrower and biased, so the choice moves between resamples
    return [RoundTerms(correction=noise * scale + bias) for scale, bias in ((3.0, 0.0), (1.5, 0.08), (0.7, 0.2), (0.3, 0.33))]


def test_slope_accept_last_matches_slope_select_column_by_column() -> None:
    from hermes_core.ope.base import RoundTerms
    from hermes_core.ope.tuning import SLOPE_CONSTANT, slope_accept_last, slope_select

    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 6))
        estimates = rng.normal(0.0, 0.3, k)
        widths = rng.uniform(0.01, 0.5, k)
        # one "round" sample per candidate whose mean and width are the drawn ones: two rounds
        # m +- s give mean m and np.var s^2; with n = 2 the width is t(1) * s
        from scipy import stats

        t1 = float(stats.t(1).ppf(0.95))
        terms = [RoundTerms(correction=np.array([m - w / t1, m + w / t1])) for m, w in zip(estimates, widths)]
        assert slope_accept_last(estimates[:, None], widths[:, None])[0] == slope_select(terms, 0.05)
    assert SLOPE_CONSTANT > 0


def test_slope_bootstrap_redoes_the_selection_on_every_resample() -> None:
    from hermes_core.evaluation.bootstrap import resampled_means
    from hermes_core.ope.base import RoundTerms
    from hermes_core.ope.intervals import bootstrap_replicates
    from hermes_core.ope.tuning import SlopeSelectedTerms, slope_select

    candidates = _slope_candidates()
    n = candidates[0].n_rounds
    chosen = candidates[slope_select(candidates)]
    terms = SlopeSelectedTerms(correction=chosen.correction,
                               candidate_rewards=tuple(c.round_rewards() for c in candidates))
    assert terms.estimate() == chosen.estimate()
    replicates = bootstrap_replicates({"slope": terms}, n_bootstrap=60, seed=11)["slope"]
    # the same resamples drawn by hand: resampled_means draws a (B, n) index matrix from default_rng(seed)
    indices = np.random.default_rng(11).integers(0, n, size=(60, n), dtype=np.int32)
    by_hand = []
    for rows in indices:
        resampled = [RoundTerms(correction=c.correction[rows]) for c in candidates]
        by_hand.append(resampled[slope_select(resampled)].estimate())
    np.testing.assert_allclose(replicates, by_hand, rtol=0, atol=1e-12)
    picks = {slope_select([RoundTerms(correction=c.correction[rows]) for c in candidates]) for rows in indices}
    assert len(picks) > 1, "the fixture should make SLOPE change its mind between resamples"
    assert resampled_means(np.ones((n, 1)), 2, 0).shape == (2, 1)


def test_slope_tuned_round_terms_carry_every_candidate_and_cluster() -> None:
    """SlopeTuned's terms are the chosen candidate's, with every candidate's round rewards; a
    clustered copy averages all of them within groups."""
    from hermes_core.ope.intervals import cluster_terms
    from hermes_core.ope.tuning import SlopeSelectedTerms

    inputs = OpeInputs.from_arrays(**click_log(n=400))
    candidates = tuple(SwitchDoublyRobust(tau=t) for t in (1.0, 10.0, math.inf))
    tuned = SlopeTuned(candidates=candidates)
    terms = tuned.round_terms(inputs)
    assert isinstance(terms, SlopeSelectedTerms)
    assert terms.estimate() == tuned.select(inputs).round_terms(inputs).estimate()
    for candidate, rewards in zip(candidates, terms.candidate_rewards):
        np.testing.assert_array_equal(rewards, candidate.round_terms(inputs).round_rewards())
    groups = np.repeat(np.arange(200), 2)
    clustered = cluster_terms(terms, groups)
    assert isinstance(clustered, SlopeSelectedTerms) and clustered.n_rounds == 200
    np.testing.assert_allclose(clustered.candidate_rewards[0], terms.candidate_rewards[0].reshape(200, 2).mean(axis=1))
    assert clustered.estimate() == pytest.approx(terms.estimate(), abs=1e-12)


def test_interval_scope_says_which_estimators_cover_their_bias() -> None:
    from hermes_core.ope.base import interval_scope
    from hermes_core.ope.registry import make_estimators

    scopes = {name: interval_scope(e) for name, e in make_estimators(tuning_grid="quantiles").items()}
    assert {n for n, s in scopes.items() if s == "sampling error"} == {"ipw", "snipw", "dr", "sndr"}
    assert interval_scope(SwitchDoublyRobust(tau=math.inf)) == "sampling error"
    assert interval_scope(InverseProbabilityWeighting(clip_lambda=5.0)) == "variance only"
    assert interval_scope(SubGaussianInverseProbabilityWeighting(shrinkage_lambda=0.0)) == "sampling error"
