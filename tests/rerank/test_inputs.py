"""What the policies see (``hermes_core.rerank.inputs``): the score mappings worked by hand, the rank
stage's long table padded into lists, the item vectors, and the checks on malformed input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from hermes_core.rerank.inputs import item_vectors_from_table, map_scores, pad_lists
from tests.rerank.lists_fixture import make_lists


def test_rank_percentile_is_one_minus_the_share_of_the_list_above() -> None:
    # a list of 4 real candidates and one pad: u = 1 - (rank - 1) / (4 - 1) = 1, 2/3, 1/3, 0; pad 0
    scores = np.array([[9.0, 5.0, 4.0, -3.0, 0.0], [7.0, 0.0, 0.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, True, False], [True, False, False, False, False]])
    u = map_scores(scores, mask, "rank_percentile")
    np.testing.assert_allclose(u[0], [1.0, 2 / 3, 1 / 3, 0.0, 0.0])
    # a one-item list: its only candidate gets 1, not 0/0
    np.testing.assert_allclose(u[1], [1.0, 0.0, 0.0, 0.0, 0.0])


def test_rank_percentile_ignores_the_scale_and_outliers_of_the_scores() -> None:
    mask = np.ones((1, 4), dtype=bool)
    plain = map_scores(np.array([[4.0, 3.0, 2.0, 1.0]]), mask, "rank_percentile")
    outlier = map_scores(np.array([[273.0, 0.3, 0.2, -150.0]]), mask, "rank_percentile")
    np.testing.assert_array_equal(plain, outlier)


def test_min_max_within_each_list_and_a_constant_list() -> None:
    # (s - min) / (max - min): [3, 1, 2] -> [1, 0, 0.5]; all equal -> 1 everywhere
    mask = np.ones((2, 3), dtype=bool)
    u = map_scores(np.array([[3.0, 1.0, 2.0], [5.0, 5.0, 5.0]]), mask, "min_max")
    np.testing.assert_allclose(u, [[1.0, 0.0, 0.5], [1.0, 1.0, 1.0]])


def test_sigmoid_is_the_logistic_without_overflow() -> None:
    mask = np.ones((1, 4), dtype=bool)
    u = map_scores(np.array([[0.0, np.log(3.0), 1000.0, -1000.0]]), mask, "sigmoid")
    # 1 / (1 + e^-0) = 0.5; 1 / (1 + 1/3) = 0.75; saturates at 1 and 0 without a warning
    np.testing.assert_allclose(u, [[0.5, 0.75, 1.0, 0.0]])


def test_unknown_mapping_and_non_finite_scores_are_refused() -> None:
    mask = np.ones((1, 2), dtype=bool)
    with pytest.raises(ValueError, match="rerank.score_mapping"):
        map_scores(np.zeros((1, 2)), mask, "softmax")
    with pytest.raises(ValueError, match="finite"):
        map_scores(np.array([[1.0, np.nan]]), mask, "min_max")


ITEM_INDEX = {f"w:item:{i:06d}": i for i in range(6)}


def _table(rows: list[tuple[str, str, int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["key", "user_id", "item_id", "score", "rank"])


def test_pad_lists_orders_by_rank_cuts_and_pads() -> None:
    table = _table([
        ("r7", "w:user:000001", "w:item:000003", 0.2, 3),
        ("r7", "w:user:000001", "w:item:000001", 0.9, 1),
        ("r7", "w:user:000001", "w:item:000005", 0.5, 2),
        ("r2", "w:user:000004", "w:item:000000", 1.5, 1),
    ])  # fmt: skip
    padded = pad_lists(table, ITEM_INDEX, max_candidates=2)
    # keys in first-appearance order; r7 sorted by rank and cut after 2; r2 padded with -1
    assert padded["keys"].tolist() == ["r7", "r2"]
    assert padded["user_ids"].tolist() == ["w:user:000001", "w:user:000004"]
    np.testing.assert_array_equal(padded["items"], [[1, 5], [0, -1]])
    np.testing.assert_array_equal(padded["mask"], [[True, True], [True, False]])
    np.testing.assert_allclose(padded["scores"], [[0.9, 0.5], [1.5, 0.0]])
    np.testing.assert_array_equal(padded["ranks"], [[1, 2], [1, 0]])


def test_pad_lists_names_the_key_of_a_repeated_item_and_unknown_items() -> None:
    repeated = _table([("r1", "u", "w:item:000001", 1.0, 1), ("r1", "u", "w:item:000001", 0.5, 2)])
    with pytest.raises(ValueError, match="key 'r1' lists item 'w:item:000001' twice"):
        pad_lists(repeated, ITEM_INDEX, 10)
    unknown = _table([("r1", "u", "w:item:999999", 1.0, 1)])
    with pytest.raises(ValueError, match="unknown to the catalogue"):
        pad_lists(unknown, ITEM_INDEX, 10)
    with pytest.raises(ValueError, match="lacks columns"):
        pad_lists(unknown.drop(columns="rank"), ITEM_INDEX, 10)


def test_item_vectors_are_unit_rows_and_zero_for_a_missing_item() -> None:
    table = pd.DataFrame({"item_id": ["w:item:000002", "w:item:000000"],
                          "fused_item_vector": [np.array([3.0, 4.0]), np.array([0.0, 2.0])]})
    vectors = item_vectors_from_table(table, ITEM_INDEX, 4)
    # (3, 4) / 5 and (0, 2) / 2; items 1 and 3 have no row: zero (cosine 0 with everything)
    np.testing.assert_allclose(vectors, [[0.0, 1.0], [0.0, 0.0], [0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(ValueError, match="_item_vector"):
        item_vectors_from_table(table.rename(columns={"fused_item_vector": "vector"}), ITEM_INDEX, 4)


def test_candidate_lists_check_shapes_padding_and_relevance() -> None:
    lists = make_lists(np.array([[0, 1, -1], [2, 3, 4]]), np.array([True, False, True, False, True]))
    np.testing.assert_array_equal(lists.top_k(3), [[0, 1, -1], [0, 1, 2]])
    np.testing.assert_array_equal(lists.catalogue_slates(np.array([[1, 0], [2, -1]])), [[1, 0], [4, -1]])
    assert lists.take(np.array([1])).keys.tolist() == ["r1"]
    with pytest.raises(ValueError, match="relevance must lie in"):
        replace(lists.take(np.array([0])), relevance=np.array([[1.5, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="-1 at padding"):
        replace(lists.take(np.array([0])), items=np.array([[0, 1, 2]]))
