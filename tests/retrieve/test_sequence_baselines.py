"""Popularity and first-order transition baselines, checked against hand-computed scores.

Training sequences [1, 2, 3], [1, 2, 4], [2, 3] over items 1..4:

* counts n = (2, 3, 2, 1), N = 8, so popularity p = (2/8, 3/8, 2/8, 1/8);
* transitions 1->2 twice, 2->3 twice, 2->4 once: c_1 = 2, c_2 = 3, c_3 = c_4 = 0.

P(j | i) = (c_ij + alpha p_j) / (c_i + alpha).
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.retrieve.sequence_baselines import PopularityScorer, TransitionScorer

TRAIN = [np.array([1, 2, 3]), np.array([1, 2, 4]), np.array([2, 3])]
POPULARITY = [2 / 8, 3 / 8, 2 / 8, 1 / 8]


def test_popularity_is_each_items_share_of_training_interactions() -> None:
    scorer = PopularityScorer.fit(TRAIN, n_items=4)
    assert scorer.score([np.array([1]), np.array([], dtype=np.int64)]) == pytest.approx(np.array([POPULARITY] * 2))
    # candidates are item ids: item 4 -> 1/8, item 2 -> 3/8
    assert scorer.score_candidates([np.array([1])], np.array([[4, 2]])) == pytest.approx(np.array([[1 / 8, 3 / 8]]))


def test_transition_scores_by_hand() -> None:
    scorer = TransitionScorer.fit(TRAIN, n_items=4, smoothing=1.0)
    after_2 = [(0 + 2 / 8) / 4, (0 + 3 / 8) / 4, (2 + 2 / 8) / 4, (1 + 1 / 8) / 4]  # c_2 = 3, alpha = 1
    histories = [np.array([4, 1, 2]), np.array([1, 3]), np.array([], dtype=np.int64)]
    expected = np.array([after_2, POPULARITY, POPULARITY])  # item 3 never leads anywhere; empty history
    assert scorer.score(histories) == pytest.approx(expected)
    assert scorer.score_candidates(histories, np.array([[3, 4], [2, 2], [1, 4]])) == pytest.approx(
        np.array([[2.25 / 4, 1.125 / 4], [3 / 8, 3 / 8], [2 / 8, 1 / 8]]))


def test_smoothing_strength_moves_scores_towards_popularity() -> None:
    # after item 1 (c_1 = 2, only 1->2), alpha = 2: ((0, 2, 0, 0) + 2 p) / 4
    scorer = TransitionScorer.fit(TRAIN, n_items=4, smoothing=2.0)
    assert scorer.score([np.array([1])])[0] == pytest.approx([0.5 / 4, 2.75 / 4, 0.5 / 4, 0.25 / 4])
    huge = TransitionScorer.fit(TRAIN, n_items=4, smoothing=1e9)
    assert huge.score([np.array([1])])[0] == pytest.approx(POPULARITY, rel=1e-6)


def test_transition_rows_are_distributions() -> None:
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 51, size=rng.integers(1, 30)) for _ in range(40)]
    scorer = TransitionScorer.fit(sequences, n_items=50, smoothing=0.5)
    scores = scorer.score([np.array([item]) for item in range(1, 51)])
    assert scores.sum(axis=1) == pytest.approx(np.ones(50))
    assert (scores > 0).all()


def test_bad_inputs_name_the_fault() -> None:
    with pytest.raises(ValueError, match="training sequence 1 must be .* item ids in 1..4"):
        PopularityScorer.fit([np.array([1, 2]), np.array([5])], n_items=4)
    with pytest.raises(ValueError, match="smoothing must be"):
        TransitionScorer.fit(TRAIN, n_items=4, smoothing=0.0)
    with pytest.raises(ValueError, match="candidates must be item ids in 1..4"):
        TransitionScorer.fit(TRAIN, n_items=4).score_candidates([np.array([1])], np.array([[0, 2]]))
