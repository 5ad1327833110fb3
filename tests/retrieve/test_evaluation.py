"""Recall, overlap and the logged protocol (``hermes_core.retrieve.evaluation``) by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.ranking import recall_at_k
from hermes_core.retrieve.blending import SourceResult
from hermes_core.retrieve.evaluation import (
    next_click_hit_rate,
    overlap_of_found,
    paired_recall_difference,
    recall_at,
    recall_matrix,
    recall_table,
)


def result(items: list[int]) -> SourceResult:
    return SourceResult(np.array(items, dtype=np.int64), -np.arange(len(items), dtype=float))


LISTS = {"a": [result([1, 2, 3]), result([7, 8]), None], "b": [result([3, 4]), result([9]), result([5])]}
RELEVANT = [np.array([1, 3, 4]), np.array([8]), np.array([5, 6])]


def test_recall_at_by_hand_and_against_the_shared_metric() -> None:
    assert recall_at(np.array([1, 2, 3]), np.array([1, 3, 4]), 2) == pytest.approx(1 / 3)
    assert np.isnan(recall_at(np.array([1]), np.array([], dtype=np.int64), 5))
    scores = np.zeros((1, 10))
    scores[0, [1, 2, 3]] = [3, 2, 1]
    relevant = np.zeros((1, 10), bool)
    relevant[0, [1, 3, 4]] = True
    assert recall_at(np.array([1, 2, 3]), np.array([1, 3, 4]), 3) == pytest.approx(float(recall_at_k(scores, relevant, 3).per_query[0]))


def test_recall_matrix_counts_a_failed_source_as_zero() -> None:
    matrix = recall_matrix(LISTS, RELEVANT, 2)
    assert matrix["a"].tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert matrix["b"].tolist() == pytest.approx([2 / 3, 0.0, 0.5])


def test_recall_table_means_and_intervals_per_class() -> None:
    table = recall_table(LISTS, RELEVANT, ["x", "y", "y"], [2], n_bootstrap=200)
    every = table[(table["query_class"] == "all")].set_index("list")
    assert every.loc["a", "recall"] == pytest.approx((1 / 3 + 1.0 + 0.0) / 3)
    assert every.loc["a", "low"] <= every.loc["a", "recall"] <= every.loc["a", "high"]
    y = table[table["query_class"] == "y"].set_index("list")
    assert y.loc["b", "recall"] == pytest.approx(0.25) and y.loc["b", "n_requests"] == 2


def test_paired_difference_and_next_clicks() -> None:
    lists = {"a": [result([1])] * 20, "b": [result([2])] * 20}
    relevant = [np.array([1])] * 20
    difference, low, high = paired_recall_difference(lists, relevant, "a", "b", 1, n_bootstrap=200)
    assert (difference, low, high) == (1.0, 1.0, 1.0)
    hits = next_click_hit_rate(LISTS, [np.array([2]), np.array([], dtype=np.int64), np.array([5])], [1, 3])
    by = hits.set_index(["list", "k"])["hit_rate"]
    assert by[("a", 3)] == 0.5 and by[("a", 1)] == 0.0 and by[("b", 1)] == 0.5
    assert (hits["n_requests"] == 2).all() and (hits["protocol"] == "logged next click").all()


def test_overlap_counts_each_found_item_once_by_its_exact_combination() -> None:
    counts = overlap_of_found(LISTS, RELEVANT, 3).set_index("combination")
    # request 0: 1 by a only, 3 by both, 4 by b only; request 1: 8 by a; request 2: 5 by b
    assert counts.loc["a", "found_per_request"] == pytest.approx(2 / 3)
    assert counts.loc["b", "found_per_request"] == pytest.approx(2 / 3)
    assert counts.loc["a+b", "found_per_request"] == pytest.approx(1 / 3)
    assert counts["share_of_found"].sum() == pytest.approx(1.0)
