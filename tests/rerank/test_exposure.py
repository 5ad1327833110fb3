"""Exposure measures (``hermes_core.rerank.exposure``) on hand-built rankings worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.rerank.exposure import (
    category_coverage,
    disparate_exposure_ratio,
    exposure_by_group,
    exposure_gini,
    gini_coefficient,
    intra_list_diversity,
    item_exposure,
    position_exposure,
    relevance_by_group,
)

V1, V2, V3, V4 = 1.0, 1 / math.log2(3), 0.5, 1 / math.log2(5)  # 1, 0.63093, 0.5, 0.43068

# six catalogue items; two users' slates of four positions, -1 an empty slot
RANKINGS = np.array([[3, 0, 5, -1], [1, 2, -1, -1]])
ITEM_GROUP = np.array([0, 1, 0, 1, 1, 0])
ITEM_CATEGORY = np.array([0, 0, 1, 2, 2, 1])


def test_position_exposure_is_the_log2_discount() -> None:
    assert position_exposure(4) == pytest.approx([1.0, 0.6309298, 0.5, 0.4306766], abs=1e-7)
    assert position_exposure(4) == pytest.approx([V1, V2, V3, V4], abs=1e-15)


def test_exposure_of_a_hand_built_ranking() -> None:
    # user 1: item 3 (group 1) at rank 1 -> 1; item 0 (group 0) at rank 2 -> 0.63093; item 5 (group 0) -> 0.5
    # user 2: item 1 (group 1) at rank 1 -> 1; item 2 (group 0) at rank 2 -> 0.63093
    # group 0: 0.63093 + 0.5 + 0.63093 = 1.76186; group 1: 1 + 1 = 2
    assert exposure_by_group(RANKINGS, ITEM_GROUP, 2) == pytest.approx([2 * V2 + V3, 2 * V1], abs=1e-12)
    assert exposure_by_group(RANKINGS, ITEM_GROUP, 2) == pytest.approx([1.76186, 2.0], abs=1e-5)
    # per item: 0 -> 0.63093, 1 -> 1, 2 -> 0.63093, 3 -> 1, 4 never shown -> 0, 5 -> 0.5
    assert item_exposure(RANKINGS, 6) == pytest.approx([V2, V1, V2, V1, 0.0, V3], abs=1e-12)
    # one ranking alone is a batch of one
    assert exposure_by_group(RANKINGS[0], ITEM_GROUP, 2) == pytest.approx([V2 + V3, V1], abs=1e-12)


def test_disparate_exposure_ratio_by_hand() -> None:
    # candidate relevance of each user over the six items; group 0 sums 1 + 0.5 + 0.5 + 1 = 3,
    # group 1 sums 0.25 + 0.25 + 0.5 = 1 -> DER(0, 1) = (1.76186 / 3) / (2 / 1) = 0.29364
    relevance = np.array([[1.0, 0.0, 0.5, 0.25, 0.25, 0.0], [0.0, 0.0, 0.5, 0.0, 0.5, 1.0]])
    groups = np.tile(ITEM_GROUP, (2, 1))
    merit = relevance_by_group(relevance, groups, 2)
    assert merit == pytest.approx([3.0, 1.0])
    exposure = exposure_by_group(RANKINGS, ITEM_GROUP, 2)
    ratio = disparate_exposure_ratio(exposure, merit, group_a=0, group_b=1)
    assert ratio == pytest.approx((2 * V2 + V3) / 3 / 2, abs=1e-12)
    assert ratio == pytest.approx(0.29364, abs=1e-5)
    assert disparate_exposure_ratio(exposure, merit, group_a=1, group_b=0) == pytest.approx(1 / ratio)
    # padding (mask False) counts for no group
    mask = np.ones_like(groups, dtype=bool)
    mask[1, 5] = False
    assert relevance_by_group(relevance, groups, 2, mask) == pytest.approx([2.0, 1.0])
    with pytest.raises(ValueError, match="group 1 has total relevance 0"):
        disparate_exposure_ratio(exposure, np.array([3.0, 0.0]), group_a=0, group_b=1)


def test_intra_list_diversity_by_hand() -> None:
    # e1 = (1, 0), e2 = (0, 1), e3 = (2, 2): cosines 0, 1/sqrt 2, 1/sqrt 2
    # ILD = 1 - (0 + 2 / sqrt 2) / 3 = 1 - 0.47140 = 0.52860
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    assert intra_list_diversity(vectors) == pytest.approx([1 - math.sqrt(2) / 3], abs=1e-12)
    assert intra_list_diversity(vectors) == pytest.approx([0.52860], abs=1e-5)
    batch = np.stack([vectors, vectors])
    mask = np.array([[True, True, True], [True, False, False]])  # the second list shows one item
    ild = intra_list_diversity(batch, mask)
    assert ild[0] == pytest.approx(0.52860, abs=1e-5)
    assert math.isnan(ild[1])
    # two identical directions are not diverse at all; opposite ones are at distance 2
    assert intra_list_diversity(np.array([[1.0, 1.0], [3.0, 3.0]])) == pytest.approx([0.0], abs=1e-12)
    assert intra_list_diversity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx([2.0])


def test_category_coverage_by_hand() -> None:
    # user 1 shows items 3, 0, 5 -> categories 2, 0, 1: 3 of 4; user 2 shows items 1, 2 -> 0, 1: 2 of 4
    assert category_coverage(RANKINGS, ITEM_CATEGORY, 4) == pytest.approx([0.75, 0.5])


def test_gini_on_hand_examples() -> None:
    assert gini_coefficient(np.full(5, 3.2)) == pytest.approx(0.0, abs=1e-12)
    # one item holds all exposure: G = (n - 1) / n
    for n in (2, 4, 10):
        values = np.zeros(n)
        values[n // 2] = 7.0
        assert gini_coefficient(values) == pytest.approx((n - 1) / n, abs=1e-12)
    # [1, 2, 3, 4]: sum over ordered pairs |xi - xj| = 2 (1 + 2 + 3 + 1 + 2 + 1) = 20,
    # 2 n^2 mean = 2 * 16 * 2.5 = 80 -> 0.25
    assert gini_coefficient(np.array([4.0, 1.0, 3.0, 2.0])) == pytest.approx(0.25, abs=1e-12)
    assert gini_coefficient(np.zeros(3)) == 0.0


def test_gini_matches_the_mean_absolute_difference_definition() -> None:
    values = np.random.default_rng(0).exponential(size=37)
    by_definition = np.abs(values[:, None] - values[None, :]).sum() / (2 * values.size**2 * values.mean())
    assert gini_coefficient(values) == pytest.approx(by_definition, abs=1e-12)


def test_exposure_gini_counts_items_never_shown() -> None:
    # every user sees only item 0 at rank 1: exposure (2, 0, 0) over a catalogue of 3 -> G = 2 / 3
    assert exposure_gini(np.array([[0], [0]]), 3) == pytest.approx(2 / 3)
    # the hand-built rankings: exposures (V2, V1, V2, V1, 0, V3)
    expected = gini_coefficient(np.array([V2, V1, V2, V1, 0.0, V3]))
    assert exposure_gini(RANKINGS, 6) == pytest.approx(expected)


def test_rankings_are_checked() -> None:
    with pytest.raises(ValueError, match="below -1"):
        exposure_by_group(np.array([0, -2]), ITEM_GROUP, 2)
    with pytest.raises(ValueError, match="covers only 6 items"):
        exposure_by_group(np.array([0, 6]), ITEM_GROUP, 2)
    with pytest.raises(ValueError, match="int array"):
        item_exposure(np.array([0.0, 1.0]), 3)
