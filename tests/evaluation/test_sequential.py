"""The SASRec paper's evaluation protocol: leave-one-out split, sampled negatives, HR@k and NDCG@k.

Expected values are worked out by hand in each test; the scorers are tiny fakes with fixed scores,
so the tests check the protocol and not any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from hermes_core.evaluation.sequential import (
    InteractedItems,
    full_ranking_metrics,
    leave_one_out,
    metrics_from_ranks,
    sample_candidates,
    sampled_metrics,
    target_ranks,
)


class FixedScores:
    """Every user gets ``item_scores[j - 1]`` for item ``j``."""

    def __init__(self, item_scores: Sequence[float]) -> None:
        self.item_scores = np.asarray(item_scores, dtype=float)

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return np.tile(self.item_scores, (len(histories), 1))

    def score_candidates(self, histories: Sequence[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        return self.item_scores[candidates - 1]


def test_leave_one_out_on_hand_sequences() -> None:
    split = leave_one_out([np.array([5, 3, 9, 1]), np.array([4, 2]), np.array([7, 8, 6])], n_items=9)
    assert [t.tolist() for t in split.train] == [[5, 3], [4, 2], [7]]
    assert split.validation.tolist() == [9, 0, 8]
    assert split.test.tolist() == [1, 0, 6]
    # the user with 2 interactions keeps them for training and is not evaluated (reference data_partition)
    assert split.evaluated.tolist() == [True, False, True]
    assert [h.tolist() for h in split.histories("validation")] == [[5, 3], [7]]
    assert [h.tolist() for h in split.histories("test")] == [[5, 3, 9], [7, 8]]
    assert split.targets("validation").tolist() == [9, 8]
    assert split.targets("test").tolist() == [1, 6]
    assert [i.tolist() for i in split.interacted()] == [[5, 3, 9, 1], [4, 2], [7, 8, 6]]


def test_leave_one_out_rejects_padding_and_unknown_items() -> None:
    with pytest.raises(ValueError, match="sequence 1 holds an item id outside 1..5"):
        leave_one_out([np.array([1, 2, 3]), np.array([1, 0, 2])], n_items=5)
    with pytest.raises(ValueError, match="part must be"):
        leave_one_out([np.array([1, 2, 3])], n_items=5).histories("train")  # type: ignore[arg-type]


def test_the_sampler_never_returns_an_item_the_user_interacted_with() -> None:
    n_items = 30
    rng = np.random.default_rng(7)
    sequences = [rng.permutation(np.arange(1, n_items + 1))[: rng.integers(3, 29)] for _ in range(50)]
    # one user saw 29 of the 30 items: item 17 is the only possible negative, 100 times
    sequences.append(np.array([i for i in range(1, n_items + 1) if i != 17]))
    split = leave_one_out(sequences, n_items)
    candidates = sample_candidates(split, "test", n_negatives=100, seed=3)
    assert candidates.candidates.shape == (51, 101)
    assert (candidates.candidates[:, 0] == split.targets("test")).all()
    for row, negatives in zip(candidates.users, candidates.candidates[:, 1:]):
        assert not np.isin(negatives, sequences[row]).any()  # validation and test items excluded too
        assert negatives.min() >= 1 and negatives.max() <= n_items
    assert (candidates.candidates[-1, 1:] == 17).all()
    again = sample_candidates(split, "test", n_negatives=100, seed=3)
    assert np.array_equal(candidates.candidates, again.candidates)  # seeded
    assert "100 sampled" in candidates.protocol and "test" in candidates.protocol


def test_sampled_negatives_cover_the_allowed_items_uniformly() -> None:
    # 4 allowed items out of 10, 4000 draws: each share is 1/4 +- 3 sd (sd = sqrt(.25 * .75 / 4000) = .0068)
    interacted = InteractedItems([np.array([1, 2, 3, 5, 8, 9])], n_items=10)
    draws = interacted.sample_not_interacted(np.array([0]), 4000, np.random.default_rng(0)).ravel()
    shares = np.bincount(draws, minlength=11)[1:] / draws.size
    assert set(np.flatnonzero(shares) + 1) == {4, 6, 7, 10}
    assert np.abs(shares[[3, 5, 6, 9]] - 0.25).max() < 3 * 0.0069


def test_a_user_who_saw_every_item_cannot_get_negatives() -> None:
    split = leave_one_out([np.array([1, 2, 3]), np.array([3, 1, 2])], n_items=3)
    with pytest.raises(ValueError, match="row 0 interacted with every one of the 3 items"):
        sample_candidates(split, "validation", seed=0)


def test_hit_rate_and_ndcg_by_hand() -> None:
    # ranks 1, 3 and 11: HR@10 = 2/3; NDCG@10 = (1/log2(2) + 1/log2(4) + 0) / 3 = (1 + 0.5) / 3
    metrics = metrics_from_ranks(np.array([1, 3, 11]), k=10, protocol="hand")
    assert metrics.hit_rate == pytest.approx(2 / 3)
    assert metrics.ndcg == pytest.approx(0.5)
    assert metrics.per_user_ndcg == pytest.approx([1.0, 0.5, 0.0])
    assert metrics.per_user_hit.tolist() == [1.0, 1.0, 0.0]
    assert metrics.as_dict() == {"protocol": "hand", "HR@10": pytest.approx(2 / 3), "NDCG@10": pytest.approx(0.5),
                                 "n_users": 3}


def test_ties_count_against_the_target() -> None:
    # target 2.0 vs (1, 3, 2): one higher, one tied -> rank 3; all equal -> last of 3
    assert target_ranks(np.array([[2.0, 1.0, 3.0, 2.0], [1.0, 1.0, 1.0, 0.0]])).tolist() == [3, 3]


def test_target_at_rank_3_of_101_scores_ndcg_one_over_log2_4() -> None:
    split = leave_one_out([np.array([1, 2, 3])], n_items=200)
    sampled = sample_candidates(split, "test", n_negatives=100, seed=0)
    hand = replace(sampled, candidates=np.concatenate([[3], np.arange(101, 201)])[None, :])  # 100 distinct negatives
    scores = np.zeros(200)
    scores[3 - 1] = 10.0  # the target
    scores[150 - 1], scores[160 - 1] = 20.0, 30.0  # the only two negatives above it
    metrics = sampled_metrics(FixedScores(scores), hand, k=10)
    assert metrics.ranks.tolist() == [3]
    assert metrics.ndcg == pytest.approx(1 / np.log2(4)) and metrics.hit_rate == 1.0
    assert metrics.protocol == sampled.protocol


def test_full_ranking_excludes_the_history_but_never_the_target() -> None:
    scorer = FixedScores([5.0, 4.0, 3.0, 2.0, 1.0])  # items 1..5
    # user 0: train [1, 2], validation 4, test 3; user 1: train [3], validation 1, test 3 (a repeat)
    split = leave_one_out([np.array([1, 2, 4, 3]), np.array([3, 1, 3])], n_items=5)
    test = full_ranking_metrics(scorer, split, "test", k=1)
    # user 0: history {1, 2, 4} out, competitors {5}: item 3 (3.0) is first
    # user 1: history {3, 1}, but 3 is the target: competitors {2, 4, 5}, item 2 (4.0) beats it -> rank 2
    assert test.ranks.tolist() == [1, 2]
    assert test.hit_rate == 0.5
    validation = full_ranking_metrics(scorer, split, "validation", k=10)
    # user 0: target 4 (2.0), history {1, 2}, competitors 3 (3.0) and 5 (1.0) -> rank 2
    # user 1: target 1 (5.0), history {3} -> rank 1
    assert validation.ranks.tolist() == [2, 1]
    assert validation.ndcg == pytest.approx((1 / np.log2(3) + 1.0) / 2)
    assert "full ranking" in validation.protocol and "validation" in validation.protocol


def test_full_ranking_batches_agree_with_one_batch() -> None:
    rng = np.random.default_rng(1)
    sequences = [rng.integers(1, 41, size=rng.integers(3, 12)) for _ in range(25)]
    split = leave_one_out(sequences, 40)
    scorer = FixedScores(np.random.default_rng(2).normal(size=40))
    whole = full_ranking_metrics(scorer, split, "test", batch_size=1000)
    pieces = full_ranking_metrics(scorer, split, "test", batch_size=4)
    assert np.array_equal(whole.ranks, pieces.ranks)
