"""Cold start: the protocol's exclusions by hand, paired model differences, and the tiny world's evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from hermes_core.encode import coldstart as cs
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.profiles import QuerySet
from hermes_core.evaluation.ranking import RankingMetric, ndcg_at_k


def test_cold_start_evaluation_excludes_and_counts_users_without_relevant_items() -> None:
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1], [0.1, 0.2, 0.3]])
    grades = np.array([[0, 2, 0], [0, 0, 0], [1, 0, 0]])
    relevant = grades >= 2
    report = cs.evaluate_ranking(scores, grades, relevant, ndcg_k=2, recall_k=1)
    # user 0: DCG@2 = (2^2-1)/log2(3) = 3/1.585, IDCG@2 = 3/1 -> 0.6309; user 1: no relevant item,
    # excluded; user 2: its grade-1 item is ranked 3rd -> DCG@2 = 0, IDCG = 1 -> 0.
    assert report.ndcg.n_scored == 2 and report.n_excluded_ndcg == 1
    assert report.ndcg.mean == pytest.approx((1 / np.log2(3) + 0.0) / 2)
    # recall@1 on grade >= 2: only user 0 has a relevant item, and it is ranked 2nd -> 0
    assert report.recall.n_scored == 1 and report.n_excluded_recall == 2
    assert report.recall.mean == 0.0


def test_movielens_grades_from_heldout_ratings() -> None:
    heldout = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u9"], "item_row": [10, 11, 10, 10],
                            "rating": [5.0, 3.0, 2.0, 5.0]})
    grades, relevant = cs.movielens_grades(heldout, np.array(["u1", "u2"], dtype=object), np.array([10, 11, 12]), 4.0)
    # 5 -> 3, 3 -> 1, 2 -> 0; u9 is not evaluated; item 12 unrated -> 0
    np.testing.assert_array_equal(grades, [[3, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(relevant, [[True, False, False], [False, False, False]])


def evaluation_with(per_user_ndcg: dict[str, list[float]]) -> cs.ColdStartEvaluation:
    """A ColdStartEvaluation whose models have the given per-user NDCG (recall unused)."""
    reports = {}
    for name, values in per_user_ndcg.items():
        per_query = np.asarray(values, dtype=float)
        metric = RankingMetric(float(np.nanmean(per_query)), int((~np.isnan(per_query)).sum()), per_query)
        reports[name] = cs.RankingReport(metric, metric, 10, 10, len(per_query))
    n = len(next(iter(per_user_ndcg.values())))
    empty = QuerySet(np.zeros((n, 1), np.float32), np.arange(n).astype(object), np.zeros(n, np.int64),
                     np.zeros(n, np.int64))
    return cs.ColdStartEvaluation(empty, np.arange(3), np.zeros((n, 3)), np.zeros((n, 3), bool), reports, "", "")


SMALL = EncodeParams(eval={"n_bootstrap": 200}, seed=3)
"""Few bootstrap resamples: the intervals tested here are exact whatever their number."""


def test_model_differences_pair_the_best_model_with_runner_up_and_baselines() -> None:
    # per-user NDCG of 4 users; concat is best on average (0.7), text second (0.55)
    evaluation = evaluation_with({
        "fused": [0.5, 0.6, 0.4, 0.5], "text": [0.5, 0.6, 0.5, 0.6], "image": [0.2, 0.2, 0.2, 0.2],
        "concat": [0.6, 0.7, 0.8, 0.7], "text_cosine": [0.5, 0.5, 0.5, 0.5],
        "popularity": [0.5, 0.6, 0.4, 0.5], "random": [0.1, 0.1, 0.1, 0.1],
    })
    pairs = cs.comparison_pairs(evaluation)
    assert pairs[:8] == [("fused", "text"), ("fused", "image"), ("fused", "concat"), ("concat", "text"),
                         ("image", "text"), ("text", "text_cosine"), ("fused", "popularity"), ("fused", "random")]
    # best (concat) vs runner-up (text) already listed; then vs popularity, random, and vs text_cosine
    assert pairs[8:] == [("concat", "popularity"), ("concat", "random"), ("concat", "text_cosine")]
    table = cs.model_differences(evaluation, SMALL)
    # fused - popularity: identical per user -> difference 0 with a zero-width interval at 0: a tie
    assert table.loc["fused - popularity", ["difference", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert table.loc["fused - popularity", "verdict"] == "ties with"
    # image - text: -0.3, -0.4, -0.3, -0.4 -> mean -0.35; every resampled mean lies in [-0.4, -0.3] < 0
    row = table.loc["image - text"]
    assert row["difference"] == pytest.approx(-0.35) and -0.4 - 1e-12 <= row["ci_low"] <= row["ci_high"] <= -0.3 + 1e-12
    assert row["verdict"] == "loses to" and row["n_users"] == 4
    assert table.loc["concat - random", "verdict"] == "beats"


def test_paired_comparison_is_the_percentile_bootstrap_of_the_paired_users() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(40), rng.random(40)
    a[[3, 7]] = np.nan  # users a metric excludes leave the pairs
    result = cs.paired_comparison(a, b, SMALL.eval, seed=11)
    # independent computation: resample the 38 paired differences by index with numpy's generator
    d = (a - b)[~np.isnan(a)]
    means = d[np.random.default_rng(11).integers(0, len(d), (200, len(d)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    assert result["n"] == 38 and result["difference"] == pytest.approx(d.mean(), abs=1e-15)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high), abs=1e-12)
    assert result["verdict"] == ("ties with" if low <= 0 <= high else "beats" if low > 0 else "loses to")


def test_paired_comparison_of_fewer_than_two_users_is_not_compared() -> None:
    result = cs.paired_comparison(np.array([0.5, np.nan]), np.array([0.25, 0.1]), SMALL.eval, seed=0)
    # one paired user: its difference 0.25 is the mean, but no interval can be drawn
    assert result["n"] == 1 and result["difference"] == 0.25 and result["verdict"] == "not compared"
    assert np.isnan(result["ci_low"]) and np.isnan(result["ci_high"])


def test_world_cold_start_uses_the_worlds_truth_and_counts_exclusions(world_run: dict[str, Any]) -> None:
    from hermes_core.world import index_of

    params, inputs, towers, evaluation = (world_run[k] for k in ("params", "inputs", "towers", "evaluation"))
    users = evaluation.users
    assert (users.n_positives >= params.encode.split.min_user_clicks).all()
    expected = inputs.world.relevance(np.array([index_of(u) for u in users.keys]),
                                      inputs.world_item_index[evaluation.cold_rows])
    np.testing.assert_array_equal(evaluation.grades, expected)
    np.testing.assert_array_equal(evaluation.relevant, expected >= params.encode.eval.relevant_grade)
    # every trained tower, the four baselines and the modality oracle, ranked over the same users and cold items
    assert set(evaluation.reports) == {"fused", "attention", "text", "image", "concat", "text_cosine", "image_cosine",
                                       "popularity", "random", "oracle"}
    labels = {tower.label: tower for tower in towers.values()}
    for name, report in evaluation.reports.items():
        assert report.n_users == len(users.keys), name
        assert report.n_excluded_ndcg == int((evaluation.grades.max(axis=1) == 0).sum()), name
        assert report.n_excluded_recall == int((~evaluation.relevant.any(axis=1)).sum()), name
        if name in labels:
            # a trained tower: the mean over users of the per-user NDCG averaged over its seeds, each seed's
            # scores recomputed from its replica
            from hermes_core.encode.fusion import score_items

            rows = evaluation.cold_rows
            per_seed = [ndcg_at_k(score_items(m, users.vectors, world_run["encoded"].image[rows],
                                              world_run["encoded"].text[rows], world_run["encoded"].masks[rows]),
                                  evaluation.grades, 10) for m in labels[name].models]
            assert len(per_seed) == params.encode.fusion.n_seeds
            assert report.seed_ndcg == pytest.approx([p.mean for p in per_seed], abs=1e-12), name
            assert report.ndcg.mean == pytest.approx(np.nanmean(np.mean([p.per_query for p in per_seed], axis=0)),
                                                     abs=1e-12), name
        elif name != "oracle":
            # the report's mean is the NDCG of the model's score matrix, recomputed independently
            assert report.ndcg.mean == ndcg_at_k(evaluation.scores[name], evaluation.grades, 10).mean, name
    # the oracle ranking (true grades as scores) reaches NDCG 1 on every scored user
    assert ndcg_at_k(evaluation.grades.astype(float), evaluation.grades, 10).mean == pytest.approx(1.0)


def test_world_fused_scores_are_the_exact_tower_scores(world_run: dict[str, Any]) -> None:
    from hermes_core.encode.training import score

    encoded, towers, evaluation = (world_run[k] for k in ("encoded", "towers", "evaluation"))
    direct = score(towers["gated"], evaluation.users.vectors[:3], encoded, evaluation.cold_rows)
    np.testing.assert_allclose(evaluation.scores["fused"][:3], direct, rtol=1e-5, atol=1e-6)
    # the untrained text cosine is the inner product of the profile's text part with the cold items' text
    d_t = encoded.text_dim
    np.testing.assert_allclose(evaluation.scores["text_cosine"],
                               evaluation.users.vectors[:, :d_t] @ encoded.text[evaluation.cold_rows].T, rtol=1e-6)
