"""Attention analysis: bootstrap intervals of means and rank correlations, and the fused tower's alpha."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hermes_core.encode import attention as at


def test_bootstrap_intervals_collapse_on_constant_samples_and_drop_nan() -> None:
    # every resample of a constant sample has the same mean: the interval is that point
    constant = at.mean_interval(np.array([0.5, 0.5, np.nan, 0.5]), 200, 0)
    assert constant == {"mean": 0.5, "ci_low": 0.5, "ci_high": 0.5, "n": 3}
    gap = at.two_sample_difference(np.ones(5), np.zeros(3), 200, 0)
    assert (gap["difference"], gap["ci_low"], gap["ci_high"], gap["n_a"], gap["n_b"]) == (1.0, 1.0, 1.0, 5, 3)
    # mean of 0, 1 over 2 values: resampled means take 0, 0.5 or 1; the 95% interval spans [0, 1]
    spread = at.mean_interval(np.array([0.0, 1.0]), 400, 1)
    assert spread["mean"] == 0.5 and spread["ci_low"] == 0.0 and spread["ci_high"] == 1.0
    assert at.mean_interval(np.array([np.nan]), 200, 0)["n"] == 0


def test_mean_interval_equals_resampling_by_index() -> None:
    values = np.random.default_rng(3).random(25)
    result = at.mean_interval(values, 300, seed=8, level=0.9)
    # independent computation: index resamples from numpy's generator, 5% and 95% quantiles
    means = values[np.random.default_rng(8).integers(0, 25, (300, 25))].mean(axis=1)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(tuple(np.quantile(means, [0.05, 0.95])), abs=1e-12)


def test_two_sample_difference_resamples_each_sample_on_its_own() -> None:
    x, y = np.random.default_rng(4).random(12), np.random.default_rng(5).random(7)
    result = at.two_sample_difference(x, y, 300, seed=2)
    # one generator: first the 300 resamples of x, then those of y
    rng = np.random.default_rng(2)
    means_x = x[rng.integers(0, 12, (300, 12))].mean(axis=1)
    means_y = y[rng.integers(0, 7, (300, 7))].mean(axis=1)
    expected = np.quantile(means_x - means_y, [0.025, 0.975])
    assert result["difference"] == pytest.approx(x.mean() - y.mean(), abs=1e-15)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(tuple(expected), abs=1e-12)


def test_spearman_interval_of_monotone_pairs() -> None:
    x = np.arange(20, dtype=float)
    # any resample of a strictly increasing relation keeps rank correlation 1 (ties share ranks)
    result = at.spearman_interval(x, x ** 3, 200, 0)
    assert [result["rho"], result["ci_low"], result["ci_high"]] == pytest.approx([1.0, 1.0, 1.0]) and result["n"] == 20
    assert at.spearman_interval(x, -x, 200, 0)["rho"] == pytest.approx(-1.0)
    # ranks (1, 2, 3, 4) vs (2, 1, 4, 3): 1 - 6 * 4 / (4 * 15) = 0.6
    assert at.spearman_interval(np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 4, 3]), 200, 0)["rho"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="length"):
        at.spearman_interval(x, x[:5], 200, 0)


def test_world_alpha_tables_follow_their_inputs(world_run: dict[str, Any]) -> None:
    params, queries, users_alpha, evaluation = (
        world_run[k] for k in ("params", "queries", "users_alpha", "evaluation"))
    table = at.alpha_by_query_kind(queries, params.encode)
    alpha = queries.alpha
    for kind in ("visual", "content"):
        values = alpha.loc[alpha["kind"] == kind, "alpha_vision_all"]
        assert table.loc[kind, "mean"] == pytest.approx(values.mean()) and table.loc[kind, "queries"] == len(values)
        assert table.loc[kind, "ci_low"] <= table.loc[kind, "mean"] <= table.loc[kind, "ci_high"]
    gap = table.loc["visual", "mean"] - table.loc["content", "mean"]
    assert table.loc["visual - content", "mean"] == pytest.approx(gap)
    # one row per evaluated user; alpha_vision is a softmax weight, the true affinity the world's
    assert users_alpha["user_id"].tolist() == evaluation.users.keys.tolist()
    assert ((users_alpha["alpha_vision"] > 0) & (users_alpha["alpha_vision"] < 1)).all()
    summary = at.user_alpha_summary(users_alpha, params.encode)
    assert summary["n"] == len(users_alpha) and summary["ci_low"] <= summary["rho"] <= summary["ci_high"]
    assert summary["mean_alpha_vision"] == pytest.approx(users_alpha["alpha_vision"].mean())


def test_query_share_of_variance_by_hand() -> None:
    from hermes_core.encode.attention import query_share_of_variance

    # weights that depend on the query only: the query explains everything
    assert query_share_of_variance(np.array([[0.9, 0.9, 0.9], [0.1, 0.1, 0.1]])) == pytest.approx(1.0)
    # weights that depend on the item only: row means are equal, the query explains nothing
    assert query_share_of_variance(np.array([[0.2, 0.8], [0.2, 0.8]])) == pytest.approx(0.0)
    # a mix: row means 0.5 and 0.7 (variance 0.01); all cells 0.4 0.6 0.6 0.8 (variance 0.02)
    assert query_share_of_variance(np.array([[0.4, 0.6], [0.6, 0.8]])) == pytest.approx(0.5)
    assert np.isnan(query_share_of_variance(np.full((2, 2), 0.5)))


def test_profile_reveals_a_weight_it_carries_and_not_one_it_lacks() -> None:
    from hermes_core.encode.attention import profile_reveals_weight
    from hermes_core.encode.profiles import QuerySet

    rng = np.random.default_rng(0)
    n, d_t, d_v = 300, 6, 4
    vectors = rng.standard_normal((n, d_t + d_v))
    users = QuerySet(vectors, np.arange(n).astype(object), np.full(n, -1), rng.integers(3, 30, n))
    # a weight that is a logistic function of one profile coordinate: the regression finds it
    carried = 1 / (1 + np.exp(-2 * vectors[:, 0]))
    table = profile_reveals_weight(users, carried, d_t, seed=1)
    assert table.loc["gate input + log clicks", "cv R2"] > 0.95
    # a weight drawn independently of the profile: R^2 near 0 (negative out of sample)
    independent = rng.uniform(0.05, 0.95, n)
    assert profile_reveals_weight(users, independent, d_t, seed=1)["cv R2"].max() < 0.05
