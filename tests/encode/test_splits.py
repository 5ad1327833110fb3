"""The stage's splits: sizes follow from the shares by hand, the draws from the seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hermes_core.encode import splits


def test_split_queries_is_stratified_and_seeded() -> None:
    kinds = np.array(["visual"] * 10 + ["content"] * 5)
    first = splits.split_queries(kinds, 0.3, seed=1)
    assert first[:10].sum() == 3 and first[10:].sum() == 2  # round(3.0), round(1.5) = 2
    np.testing.assert_array_equal(first, splits.split_queries(kinds, 0.3, seed=1))
    # a kind of two queries keeps one on each side even when the share rounds to 0
    assert splits.split_queries(np.array(["a", "a"]), 0.1, seed=0).sum() == 1


def test_validation_items_hold_out_a_share_of_the_clicked_warm_items() -> None:
    # clicked items 0..9; items 8 and 9 are cold, so 8 clicked warm items: round(0.25 * 8) = 2 held out
    positives = pd.DataFrame({"user_id": ["u"] * 10, "item_row": np.arange(10)})
    is_cold = np.arange(12) >= 8
    held = splits.validation_items(positives, is_cold, 0.25, seed=4)
    assert len(held) == 2 and (held < 8).all() and list(held) == sorted(held)
    np.testing.assert_array_equal(held, splits.validation_items(positives, is_cold, 0.25, seed=4))
    with pytest.raises(ValueError, match="encode.split.validation_item_share"):
        splits.validation_items(positives, is_cold, 0.01, seed=4)  # round(0.08) = 0 held out


def test_movielens_cold_items_draw_a_share_of_the_rated_movies() -> None:
    rated = np.array([1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
    is_cold = splits.movielens_cold_items(rated, 25, 0.3, seed=2)
    # round(0.3 * 10) = 3 cold movies, all among the rated ones
    assert is_cold.shape == (25,) and is_cold.sum() == 3 and np.isin(np.flatnonzero(is_cold), rated).all()
    # the same draw as numpy's generator makes it (the documented protocol)
    expected = np.sort(np.random.default_rng(2).choice(rated, size=3, replace=False))
    np.testing.assert_array_equal(np.flatnonzero(is_cold), expected)
    with pytest.raises(ValueError, match="encode.split.movielens_cold_share"):
        splits.movielens_cold_items(rated, 25, 0.99, seed=2)  # round(9.9) = 10: no warm movie left


def test_validation_queries_hold_out_a_share_of_each_kinds_training_queries() -> None:
    from hermes_core.encode.splits import split_queries, validation_queries

    kinds = np.array(["visual"] * 20 + ["content"] * 10 + ["lonely"], dtype=object)
    is_test = split_queries(kinds, 0.3, seed=1)
    held = validation_queries(kinds, is_test, 0.25, seed=1)
    assert not (held & is_test).any()
    for kind, n_train in (("visual", 14), ("content", 7)):
        assert ((kinds == kind) & ~is_test).sum() == n_train
        assert ((kinds == kind) & held).sum() == round(0.25 * n_train)
    assert not held[kinds == "lonely"].any()  # a kind with one training query keeps it
    np.testing.assert_array_equal(held, validation_queries(kinds, is_test, 0.25, seed=1))  # seeded
    assert not validation_queries(kinds, is_test, 0.0, seed=1).any()
