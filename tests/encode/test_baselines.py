"""Content-free baselines: group popularity from warm items only, seeded random scores."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.encode import baselines
from hermes_core.evaluation.ranking import ndcg_at_k


def test_popularity_uses_warm_impressions_only_and_ranks_groups_for_every_user() -> None:
    creators = np.array(["A", "A", "B", "A", "B", "C"], dtype=object)
    is_cold = np.array([False, False, False, True, True, True])
    impressions = np.array([0, 0, 0, 0, 1, 1, 2])  # item 0: 4, item 1: 2, item 2: 1
    popularity = baselines.group_popularity(impressions, creators, is_cold)
    # A: (4 + 2) / 2 warm items = 3; B: 1 / 1 = 1; C has no warm item
    assert popularity.to_dict() == {"A": 3.0, "B": 1.0}
    scores = baselines.popularity_scores(impressions, creators, is_cold, np.array([3, 4, 5]), n_users=2, seed=0)
    # dense ranks of pop = (3, 1, 0 for C) are (2, 1, 0), plus each user's U[0, 1) tie-breakers
    np.testing.assert_array_equal(scores, np.array([[2.0, 1.0, 0.0]]) + np.random.default_rng([0, 1]).random((2, 3)))
    # not the random baseline's draws plus the group rank (a stream of its own)
    assert not np.allclose(scores - np.array([[2.0, 1.0, 0.0]]), baselines.random_scores(2, 3, seed=0))
    # cold items of A, B, C rank in that order, for every user
    np.testing.assert_array_equal(np.argsort(-scores, axis=1), [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="cold"):
        baselines.group_popularity(np.append(impressions, 3), creators, is_cold)


def test_ranked_scores_keep_the_order_of_values_and_break_ties_per_user() -> None:
    values = np.array([2.0, 5.0, 2.0, 1.0, 5.0])
    scores = baselines._ranked_scores(values, n_users=400, rng=np.random.default_rng(3))
    # dense ranks by hand: 1 -> 0, 2 -> 1, 5 -> 2
    np.testing.assert_array_equal(np.floor(scores), np.broadcast_to([1, 2, 1, 0, 2], (400, 5)))
    order = np.argsort(-scores, axis=1)
    assert set(map(tuple, order[:, :2])) == {(1, 4), (4, 1)}  # the two 5s first, in either order
    assert set(map(tuple, order[:, 2:4])) == {(0, 2), (2, 0)}  # then the two 2s
    assert (order[:, 4] == 3).all()
    # each tied pair is split about evenly across users (one shared order would give 0 or 400)
    assert 150 < (order[:, 0] == 1).sum() < 250 and 150 < (order[:, 2] == 0).sum() < 250


def test_popularity_ndcg_is_the_expectation_over_tie_orders_not_one_draw() -> None:
    # warm items 0 (group A, 3 exposures) and 1 (group B, 1); cold items 2, 3 of A and 4 of B
    groups = np.array(["A", "B", "A", "A", "B"], dtype=object)
    is_cold = np.array([False, False, True, True, True])
    exposures = np.array([0, 0, 0, 1])
    n_users = 2000
    grades = np.zeros((n_users, 3), dtype=np.int64)
    grades[:, 0] = 1  # every user likes cold item 2 only; items 2 and 3 tie (group A) above item 4
    # by hand: NDCG@1 is 1 when item 2 wins the A tie, else 0; expectation 1/2. With one tie
    # order shared by all users (the old rule) the mean would be exactly 0 or exactly 1.
    means = []
    for seed in range(5):
        scores = baselines.popularity_scores(exposures, groups, is_cold, np.array([2, 3, 4]), n_users, seed)
        assert (np.argsort(-scores, axis=1)[:, 2] == 2).all()  # group B's item always last
        means.append(ndcg_at_k(scores, grades, 1).mean)
    # each mean is a binomial share over 2000 users: standard deviation sqrt(1/4 / 2000) = 0.011
    assert all(abs(m - 0.5) < 0.05 for m in means)


def test_random_scores_are_numpys_uniform_draws() -> None:
    np.testing.assert_array_equal(baselines.random_scores(2, 3, seed=5), np.random.default_rng(5).random((2, 3)))
