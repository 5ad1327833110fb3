"""Query vectors and training pairs on hand-built items whose expected vectors are worked out in comments."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.encode import profiles as pf


def positives_of(rows: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": [u for u, _ in rows], "item_row": [i for _, i in rows],
         "timestamp": pd.to_datetime(np.arange(len(rows)), unit="s", utc=True)}
    )


# four items; text (2-d) and image (1-d); item 2 has no image, item 3 no text
TEXT = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
TEXT_MASK = np.array([True, True, True, False])
IMAGE = np.array([[2], [4], [0], [8]], dtype=np.float32)
IMAGE_MASK = np.array([True, True, False, True])


def test_leave_one_out_pairs_never_put_the_positive_in_its_own_query() -> None:
    # user a clicked 0, 1, 2 (item 1 twice: one positive); user b clicked only 3 (no pair)
    positives = positives_of([("a", 0), ("a", 1), ("a", 1), ("a", 2), ("b", 3)])
    pairs = pf.leave_one_out_pairs(positives, TEXT, IMAGE, TEXT_MASK, IMAGE_MASK)
    assert pairs.keys.tolist() == ["a", "a", "a"]
    assert pairs.positive_rows.tolist() == [0, 1, 2]
    by_item = dict(zip(pairs.positive_rows.tolist(), pairs.vectors))
    # pair (a, 0): text mean of items 1, 2 = (0.5, 1); image mean over items with an image = item 1 -> 4
    np.testing.assert_allclose(by_item[0], [0.5, 1.0, 4.0])
    # pair (a, 1): text mean of 0, 2 = (1, 0.5); image of item 0 only (item 2 has none) = 2
    np.testing.assert_allclose(by_item[1], [1.0, 0.5, 2.0])
    # pair (a, 2): text mean of 0, 1 = (0.5, 0.5); image mean of 0, 1 = 3
    np.testing.assert_allclose(by_item[2], [0.5, 0.5, 3.0])
    assert pairs.n_positives.tolist() == [2, 2, 2]


def test_leave_one_out_modality_part_is_zero_when_no_other_positive_has_it() -> None:
    # user c clicked 2 (no image) and 3 (no text): the pair for 2 sees only item 3, which has no text
    pairs = pf.leave_one_out_pairs(positives_of([("c", 2), ("c", 3)]), TEXT, IMAGE, TEXT_MASK, IMAGE_MASK)
    by_item = dict(zip(pairs.positive_rows.tolist(), pairs.vectors))
    np.testing.assert_allclose(by_item[2], [0.0, 0.0, 8.0])
    np.testing.assert_allclose(by_item[3], [1.0, 1.0, 0.0])


def test_user_profiles_keep_users_with_enough_distinct_positives() -> None:
    positives = positives_of([("a", 0), ("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b", 2)])
    profiles = pf.user_profiles(positives, TEXT, IMAGE, TEXT_MASK, IMAGE_MASK, min_positives=3)
    # a has 2 distinct items (the repeated click counts once): excluded
    assert profiles.keys.tolist() == ["b"]
    np.testing.assert_allclose(profiles.vectors[0], [2 / 3, 2 / 3, 3.0])


def test_text_query_pairs_use_only_eligible_items_of_high_grade() -> None:
    grades = np.array([[3, 2, 1, 3], [0, 0, 0, 2]])
    eligible = np.array([True, True, True, False])  # item 3 is cold
    pairs = pf.text_query_pairs(np.eye(2, dtype=np.float32), np.array(["q0", "q1"], dtype=object), grades,
                                eligible, image_dim=1, positive_grade=2, max_positives=10, seed=0)
    # q0: items 0, 1 (grade >= 2, eligible); q1: item 3 is cold, so no pair
    assert pairs.keys.tolist() == ["q0", "q0"] and pairs.positive_rows.tolist() == [0, 1]
    np.testing.assert_allclose(pairs.vectors, [[1, 0, 0], [1, 0, 0]])
    capped = pf.text_query_pairs(np.eye(2, dtype=np.float32), np.array(["q0", "q1"], dtype=object), grades,
                                 eligible, image_dim=1, positive_grade=1, max_positives=2, seed=0)
    assert (capped.keys == "q0").sum() == 2


def test_positive_labels_mark_the_users_positives_among_the_rows() -> None:
    positives = positives_of([("a", 0), ("a", 3), ("b", 1), ("z", 0)])
    labels = pf.positive_labels(positives, np.array(["a", "b"], dtype=object), np.array([0, 1, 2]))
    # a: item 0 (item 3 is not a column); b: item 1; user z is not asked for
    np.testing.assert_array_equal(labels, [[True, False, False], [False, True, False]])
