"""Scoring slates against the truth (``hermes_core.rerank.evaluation``): NDCG@10 over the candidate
pool, cohort exposure and the ratio, coverage, expected clicks, the summaries' intervals and the
Pareto front, each on hand-worked lists."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hermes_core.rerank.evaluation import (
    cohort_exposure,
    cohort_merit,
    comparisons_table,
    expected_clicks_of_runs,
    exposure_ratio,
    pareto_front,
    parity_distance,
    ranking_scores,
    relative_ndcg_loss,
    score_slates,
    slate_coverage,
    summarise,
)
from hermes_core.rerank.exposure import exposure_gini
from hermes_core.rerank.policies import PolicyRun
from tests.rerank.lists_fixture import make_lists, make_truth

LOG3 = math.log2(3)


def test_ndcg_ideal_is_over_the_whole_pool() -> None:
    # pool grades [0, 3, 1, 0]; the ideal DCG is 7 + 1/log2(3) = 7.6309 (grades 3 then 1)
    lists = make_lists(np.array([[0, 1, 2, 3]]), np.array([True, False, True, False]))
    truth = make_truth(np.array([[0, 3, 1, 0]]))
    ideal = 7 + 1 / LOG3
    # slate [1, 2]: the ideal order, NDCG 1
    best = score_slates(lists, truth, np.array([[1, 2]]))
    assert best.ndcg[0] == pytest.approx(1.0)
    # slate [2, 1]: DCG 1 + 7/log2(3) = 5.4165 -> 0.7098
    swapped = score_slates(lists, truth, np.array([[2, 1]]))
    assert swapped.ndcg[0] == pytest.approx((1 + 7 / LOG3) / ideal)
    # slate [0, 2] leaves the grade-3 candidate out: DCG 1/log2(3) only
    missing = score_slates(lists, truth, np.array([[0, 2]]))
    assert missing.ndcg[0] == pytest.approx((1 / LOG3) / ideal)


def test_ranking_scores_put_the_slate_first_and_the_rest_at_minus_infinity() -> None:
    scores = ranking_scores(np.array([[2, 0, -1]]), 4)
    np.testing.assert_array_equal(scores, [[2.0, -np.inf, 3.0, -np.inf]])


def test_a_list_without_any_relevant_candidate_is_skipped() -> None:
    lists = make_lists(np.array([[0, 1], [1, 0]]), np.array([True, False]))
    scores = score_slates(lists, make_truth(np.array([[0, 0], [2, 0]])), np.array([[0, 1], [0, 1]]))
    assert math.isnan(scores.ndcg[0]) and scores.ndcg[1] == pytest.approx(1.0)


def test_cohort_exposure_merit_and_the_ratio_by_hand() -> None:
    # slate [0, 1, 2] of items with protected flags [T, F, T]: A gets 1 + 1/log2(4) = 1.5, B 1/log2(3)
    lists = make_lists(np.array([[0, 1, 2, 3]]), np.array([True, False, True, False]))
    exposure = cohort_exposure(lists, np.array([[0, 1, 2]]))
    np.testing.assert_allclose(exposure, [[1.5, 1 / LOG3]])
    truth = make_truth(np.zeros((1, 4)), merit=np.array([[0.2, 0.4, 0.6, 0.1]]))
    # merit of A: 0.2 + 0.6 = 0.8 (shown or not); of B: 0.4 + 0.1 = 0.5
    merit = cohort_merit(lists, truth)
    np.testing.assert_allclose(merit, [[0.8, 0.5]])
    # DER = (1.5 / 0.8) / (0.6309 / 0.5) = 1.4860
    assert exposure_ratio(exposure, merit) == pytest.approx((1.5 / 0.8) / ((1 / LOG3) / 0.5))
    assert math.isnan(exposure_ratio(exposure, np.array([[0.0, 0.5]])))


def test_coverage_single_and_multi_label() -> None:
    single = make_lists(np.array([[0, 1, 2, 3]]), np.array([True, False, True, False]),
                        category=np.array([0, 0, 1, 2]))  # fmt: skip
    # slate items 0, 1, 2: categories {0, 1} of 3
    np.testing.assert_allclose(slate_coverage(single, np.array([[0, 1, 2]])), [2 / 3])
    labels = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=bool)
    multi = make_lists(np.array([[0, 1, 2]]), np.array([True, False, True]), category=labels)
    # items 0 and 1 carry categories {0, 1} of 4; an empty slot adds none
    np.testing.assert_allclose(slate_coverage(multi, np.array([[0, 1, -1]])), [0.5])


def test_expected_clicks_are_asked_once_per_list_for_every_run() -> None:
    calls: list[tuple[int, np.ndarray]] = []

    def clicks(row: int, slates: np.ndarray) -> np.ndarray:
        calls.append((row, slates.copy()))
        return slates.sum(axis=1).astype(float)  # a stand-in: the sum of the catalogue indices

    lists = make_lists(np.array([[4, 5, 6], [7, 8, 9]]), np.zeros(10, dtype=bool))
    runs = [PolicyRun("before", None, np.nan, np.array([[0, 1], [0, 1]]), 0.0),
            PolicyRun("mmr", "lam", 0.5, np.array([[2, 0], [1, 2]]), 0.0)]
    values = expected_clicks_of_runs(lists, make_truth(np.zeros((2, 3)), clicks=clicks), runs)
    np.testing.assert_allclose(values[0], [4 + 5, 7 + 8])
    np.testing.assert_allclose(values[1], [6 + 4, 8 + 9])
    assert [row for row, _ in calls] == [0, 1]
    assert expected_clicks_of_runs(lists, make_truth(np.zeros((2, 3))), runs) == [None, None]


def _batch(seed: int = 0, n_lists: int = 60):
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(30, size=8, replace=False) for _ in range(n_lists)])
    protected = rng.random(30) < 0.5
    lists = make_lists(items, protected, vectors=rng.normal(size=(30, 4)))
    truth = make_truth(rng.integers(0, 5, size=items.shape))
    return lists, truth


def test_summary_values_match_direct_computations_and_intervals_bracket_them() -> None:
    lists, truth = _batch()
    run = PolicyRun("before", None, np.nan, lists.top_k(4), 0.0)
    scores = score_slates(lists, truth, run.slates, np.full(lists.n_lists, 0.3))
    row = summarise(lists, truth, run, scores, n_bootstrap=300, seed=1, level=0.95, gini_interval=True)
    assert row["ndcg_at_10"] == pytest.approx(np.nanmean(scores.ndcg))
    assert row["exposure_ratio"] == pytest.approx(exposure_ratio(scores.exposure, cohort_merit(lists, truth)))
    assert row["exposure_gini"] == pytest.approx(exposure_gini(scores.catalogue_slates, 30))
    assert row["expected_clicks"] == pytest.approx(0.3) and row["expected_clicks_low"] == pytest.approx(0.3)
    for measure in ("ndcg_at_10", "ild", "coverage", "exposure_ratio", "protected_exposure_share", "exposure_gini"):
        assert row[f"{measure}_low"] <= row[measure] <= row[f"{measure}_high"], measure
    # the Gini's normal interval is centred on the estimate; resampling users biases it upwards
    assert row["exposure_gini"] - row["exposure_gini_low"] == pytest.approx(row["exposure_gini_high"] - row["exposure_gini"])
    assert row["exposure_gini_bootstrap_bias"] > 0



def test_lists_without_an_ild_are_left_out_of_its_interval_as_of_its_estimate() -> None:
    lists, truth = _batch()
    slates = lists.top_k(4)
    slates[::2, 1:] = -1  # every other list shows one item: no pair, ILD NaN
    run = PolicyRun("before", None, np.nan, slates, 0.0)
    scores = score_slates(lists, truth, slates)
    assert np.isnan(scores.ild[::2]).all() and np.isfinite(scores.ild[1::2]).all()
    row = summarise(lists, truth, run, scores, n_bootstrap=300, seed=1, level=0.95)
    assert row["ild"] == pytest.approx(np.mean(scores.ild[1::2]))
    # counting the NaNs as 0 would put the resampled means near half the estimate
    assert row["ild_low"] <= row["ild"] <= row["ild_high"]
    assert row["ild_low"] > 0.75 * row["ild"]


def test_the_same_slates_lose_nothing_and_tie() -> None:
    lists, truth = _batch(seed=2)
    before = score_slates(lists, truth, lists.top_k(4))
    loss, low, high = relative_ndcg_loss(before, before, n_bootstrap=200, seed=0, level=0.95)
    assert (loss, low, high) == (0.0, 0.0, 0.0)
    worse = score_slates(lists, truth, np.tile(np.arange(7, 3, -1), (lists.n_lists, 1)))
    table = comparisons_table(before, {"mmr": before, "fair": worse}, n_bootstrap=200, seed=0, level=0.95)
    assert table.loc["mmr", "ndcg_at_10_verdict"] == "ties with" and table.loc["mmr", "ndcg_at_10_diff"] == 0
    assert table.loc["mmr", "expected_clicks_verdict"] == "n/a"  # no click model in this truth
    # showing the ranker's bottom 4 (random grades here) instead of its top 4: the loss is what the means say
    assert table.loc["fair", "ndcg_relative_loss"] == pytest.approx(
        1 - np.nanmean(worse.ndcg[np.isfinite(before.ndcg)]) / np.nanmean(before.ndcg[np.isfinite(worse.ndcg)]))


def test_pareto_front_by_hand() -> None:
    # (ndcg, ild): (0.9, 0.1) best NDCG; (0.8, 0.5) and (0.5, 0.9) trade off; (0.7, 0.4) is dominated
    # by (0.8, 0.5); (0.8, 0.5) twice: neither dominates the other; NaN never on the front
    points = pd.DataFrame({"ndcg_at_10": [0.9, 0.8, 0.5, 0.7, 0.8, np.nan], "ild": [0.1, 0.5, 0.9, 0.4, 0.5, 1.0]})
    assert pareto_front(points, "ndcg_at_10", "ild").tolist() == [True, True, True, False, True, False]
    # lower is better for the distance from parity: (0.9, 0.3) and (0.6, 0.0) are the front
    distance = pd.DataFrame({"ndcg_at_10": [0.9, 0.6, 0.5], "parity_distance": [0.3, 0.0, 0.1]})
    assert pareto_front(distance, "ndcg_at_10", "parity_distance", "lower").tolist() == [True, True, False]


def test_parity_distance_is_symmetric_in_the_ratio() -> None:
    np.testing.assert_allclose(parity_distance(np.array([0.8, 1.25, 1.0])), [math.log(1.25), math.log(1.25), 0.0])
