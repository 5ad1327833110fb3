"""Deduplication, normalisation, blending and the weight fit (``hermes_core.retrieve.blending``)
on hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.ranking import recall_at_k
from hermes_core.retrieve.blending import (
    QUERY_CLASSES,
    BlendWeights,
    SourceResult,
    blend,
    candidate_table,
    fit_blend_weights,
    normalise_scores,
    simplex_grid,
)

# Overlapping lists: item 10 in A and B, item 30 in all three, 20 only in A, 40 only in B, 50 only in C.
A = SourceResult(items=np.array([10, 20, 30]), scores=np.array([0.9, 0.5, 0.1]))
B = SourceResult(items=np.array([30, 10, 40]), scores=np.array([7.0, 3.0, 1.0]))
C = SourceResult(items=np.array([50, 30]), scores=np.array([-1.0, -2.0]))
SOURCES = ("a", "b", "c")


def test_candidate_table_deduplicates_exactly_and_keeps_every_source_score() -> None:
    table = candidate_table({"a": A, "b": B, "c": C}, SOURCES)
    np.testing.assert_array_equal(table.items, [10, 20, 30, 40, 50])
    np.testing.assert_array_equal(table.found, [[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(table.scores, [[0.9, 3.0, np.nan], [0.5, np.nan, np.nan],
                                                 [0.1, 7.0, -2.0], [np.nan, 1.0, np.nan], [np.nan, np.nan, -1.0]])
    np.testing.assert_array_equal(table.ranks, [[1, 2, 0], [2, 0, 0], [3, 1, 2], [0, 3, 0], [0, 0, 1]])
    # 3 + 3 + 2 = 8 entries, 3 of them repeats of item 10 and 30: 5 distinct items
    assert table.items.size == 8 - 3


def test_a_source_without_a_result_gets_an_empty_column() -> None:
    table = candidate_table({"a": A}, SOURCES)
    np.testing.assert_array_equal(table.items, [10, 20, 30])
    assert not table.found[:, 1:].any()


def test_candidate_table_refuses_a_source_outside_the_columns() -> None:
    with pytest.raises(ValueError, match=r"\['d'\]"):
        candidate_table({"d": A}, SOURCES)


def test_source_result_refuses_duplicates_and_non_finite_scores() -> None:
    with pytest.raises(ValueError, match="duplicates"):
        SourceResult(items=np.array([1, 1]), scores=np.array([0.5, 0.4]))
    with pytest.raises(ValueError, match="NaN"):
        SourceResult(items=np.array([1, 2]), scores=np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="1-D of one length"):
        SourceResult(items=np.array([1, 2]), scores=np.array([0.5]))


def test_reciprocal_rank_normalisation_by_hand() -> None:
    # (c + 1) / (c + rank) with c = 60: rank 1 -> 1, rank 2 -> 61/62, rank 3 -> 61/63
    table = candidate_table({"a": A, "b": B, "c": C}, SOURCES)
    expected = np.array([[1, 61 / 62, 0], [61 / 62, 0, 0], [61 / 63, 1, 61 / 62], [0, 61 / 63, 0], [0, 0, 1]])
    np.testing.assert_allclose(normalise_scores(table), expected, rtol=1e-15)


def test_tied_scores_share_a_rank() -> None:
    tied = SourceResult(items=np.array([5, 3, 9]), scores=np.array([2.0, 2.0, 1.0]))
    table = candidate_table({"a": tied})
    # items 3 and 5 tie at the top (competition rank 1, 1), item 9 is third (rank 3)
    np.testing.assert_array_equal(table.ranks[:, 0], [1, 1, 3])
    np.testing.assert_allclose(normalise_scores(table, rrf_c=0.0)[:, 0], [1.0, 1.0, 1 / 3])


def test_min_max_normalisation_by_hand() -> None:
    table = candidate_table({"a": A, "b": B, "c": C}, SOURCES)
    # a: (x - 0.1) / 0.8; b: (x - 1) / 6; c: (x + 2) / 1
    expected = np.array([[1, 2 / 6, 0], [0.5, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(normalise_scores(table, "min_max"), expected, atol=1e-15)


def test_reciprocal_rank_blend_ignores_the_scale_of_a_source() -> None:
    rescaled = SourceResult(items=B.items, scores=np.exp(B.scores) * 1000.0)  # increasing transform
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    first = blend({"a": A, "b": B, "c": C}, weights, top_n=5)
    second = blend({"a": A, "b": rescaled, "c": C}, weights, top_n=5)
    np.testing.assert_array_equal(first.items, second.items)
    np.testing.assert_array_equal(first.scores, second.scores)


def test_blended_scores_order_and_provenance_by_hand() -> None:
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    result = blend({"a": A, "b": B, "c": C}, weights, top_n=4)
    # b(10) = 0.5 * 1       + 0.3 * 61/62              = 0.795161
    # b(20) = 0.5 * 61/62                              = 0.491935
    # b(30) = 0.5 * 61/63   + 0.3 * 1 + 0.2 * 61/62    = 0.980891
    # b(40) =                 0.3 * 61/63              = 0.290476
    # b(50) =                                  0.2 * 1 = 0.2
    expected = {10: 0.5 + 0.3 * 61 / 62, 20: 0.5 * 61 / 62, 30: 0.5 * 61 / 63 + 0.3 + 0.2 * 61 / 62,
                40: 0.3 * 61 / 63}
    np.testing.assert_array_equal(result.items, [30, 10, 20, 40])
    np.testing.assert_allclose(result.scores, [expected[i] for i in (30, 10, 20, 40)], rtol=1e-15)
    assert [result.provenance(p) for p in range(4)] == [("a", "b", "c"), ("a", "b"), ("a",), ("b",)]
    assert result.n_candidates == 5
    assert not result.fallback_weights
    frame = result.to_frame()
    assert list(frame["found_by"]) == ["a,b,c", "a,b", "a", "b"]
    assert frame["score_c"].isna().tolist() == [False, True, True, True]


def test_a_failed_source_contributes_nothing_and_weights_are_not_renormalised() -> None:
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    result = blend({"a": A, "c": C}, weights, top_n=5)  # b failed
    # b(30) = 0.5*61/63 + 0.2*61/62 = 0.680885, b(10) = 0.5, b(20) = 0.5*61/62 = 0.491935, b(50) = 0.2
    np.testing.assert_array_equal(result.items, [30, 10, 20, 50])
    np.testing.assert_allclose(result.scores, [0.5 * 61 / 63 + 0.2 * 61 / 62, 0.5, 0.5 * 61 / 62, 0.2], rtol=1e-15)
    np.testing.assert_array_equal(result.weights, [0.5, 0.0, 0.2])
    assert result.answered == ("a", "c")
    # renormalising the answered weights (divide by 0.7) would rescale every score, not the order
    renormalised = blend({"a": A, "c": C}, {"a": 0.5 / 0.7, "b": 0.0, "c": 0.2 / 0.7}, top_n=5)
    np.testing.assert_array_equal(renormalised.items, result.items)


def test_answered_sources_with_zero_weight_fall_back_to_uniform() -> None:
    # a no-query weight row that trusts only b; b failed, so a and c share the weight equally
    result = blend({"a": A, "c": C}, {"a": 0.0, "b": 1.0, "c": 0.0}, top_n=5)
    assert result.fallback_weights
    np.testing.assert_array_equal(result.weights, [0.5, 0.0, 0.5])
    # b(10) = 0.5, b(50) = 0.5, tie broken by the lower item; b(30) = 0.5*61/63 + 0.5*61/62
    np.testing.assert_array_equal(result.items, [30, 10, 50, 20])


def test_blend_with_no_answer_is_empty() -> None:
    result = blend({}, {"a": 1.0, "b": 1.0}, top_n=3)
    assert result.items.size == 0 and result.n_candidates == 0 and not result.fallback_weights


def test_blend_is_deterministic_and_ignores_the_results_order() -> None:
    weights = {"a": 0.2, "b": 0.2, "c": 0.6}
    first = blend({"a": A, "b": B, "c": C}, weights, top_n=5)
    again = blend({"c": C, "a": A, "b": B}, weights, top_n=5)
    np.testing.assert_array_equal(first.items, again.items)
    np.testing.assert_array_equal(first.scores, again.scores)
    np.testing.assert_array_equal(first.found_by, again.found_by)


def test_blend_rejects_bad_weights_naming_them() -> None:
    with pytest.raises(ValueError, match=r"weights\['b'\]"):
        blend({"a": A}, {"a": 1.0, "b": -0.1}, top_n=3)
    with pytest.raises(ValueError, match="top_n"):
        blend({"a": A}, {"a": 1.0}, top_n=0)
    with pytest.raises(ValueError, match=r"\['c'\]"):
        blend({"a": A, "c": C}, {"a": 1.0, "b": 1.0}, top_n=3)


def test_blend_weights_validate_classes_and_sources() -> None:
    with pytest.raises(ValueError, match="missing"):
        BlendWeights({"explicit": {"a": 1.0}})
    rows = {q: {"a": 1.0, "b": 0.0} for q in QUERY_CLASSES}
    rows["no_query"] = {"b": 1.0, "a": 0.0}
    with pytest.raises(ValueError, match="no_query"):
        BlendWeights(rows)
    uniform = BlendWeights.uniform(["a", "b"])
    assert uniform.for_class("free_text") == {"a": 0.5, "b": 0.5}
    with pytest.raises(ValueError, match="query_class"):
        uniform.for_class("other")


def test_simplex_grid_has_every_step_point_once() -> None:
    grid = simplex_grid(3, 10)
    # C(10 + 2, 2) = 66 points, each summing to 1, all distinct
    assert grid.shape == (66, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len({tuple(np.rint(row * 10).astype(int)) for row in grid}) == 66
    np.testing.assert_array_equal(simplex_grid(2, 2), [[0, 1], [0.5, 0.5], [1, 0]])


def _lists_favouring(winner: str, rng: np.random.Generator) -> tuple[dict[str, SourceResult], np.ndarray]:
    """One validation request whose 3 relevant items only ``winner`` ranks first (ranks 1-3); the two
    other sources put the winner's ranks-4 and -5 items (irrelevant) at their top. With k = 3, any
    weight >= 0.1 on another source lifts those above the winner's third relevant item: the bonus
    w_other * 1 exceeds w_winner * (61/63 - 61/64) = 0.015 * w_winner. So the winner's vertex is the
    only point with recall 1."""
    items = rng.permutation(100)[:9]  # distinct ids, seeded
    relevant, decoys, others = items[:3], items[3:5], items[5:]
    top5 = np.concatenate([relevant, decoys])
    lists = {winner: SourceResult(top5, np.array([5.0, 4.0, 3.0, 2.0, 1.0]))}
    for position, name in enumerate(n for n in ("a", "b", "c") if n != winner):
        head = decoys if position == 0 else decoys[::-1]
        lists[name] = SourceResult(np.concatenate([head, others[2 * position:2 * position + 2]]),
                                   np.array([0.9, 0.8, 0.7, 0.6]))
    return lists, relevant


def _validation_set() -> tuple[list[dict[str, SourceResult]], list[np.ndarray], list[str]]:
    rng = np.random.default_rng(7)
    results, relevant, classes = [], [], []
    for query_class, winner in (("explicit", "a"), ("no_query", "b")):
        for _ in range(4):
            lists, rel = _lists_favouring(winner, rng)
            results.append(lists)
            relevant.append(rel)
            classes.append(query_class)
    for _ in range(3):  # free text: every source returns the same list, so every weight ties
        items = rng.permutation(100)[:4]
        same = SourceResult(items, np.array([4.0, 3.0, 2.0, 1.0]))
        results.append({"a": same, "b": same, "c": same})
        relevant.append(items[:2])
        classes.append("free_text")
    return results, relevant, classes


def test_fit_recovers_the_source_each_class_needs() -> None:
    results, relevant, classes = _validation_set()
    fit = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=10, k=3)
    assert fit.chosen.for_class("explicit") == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert fit.chosen.for_class("no_query") == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert fit.single_source == {"explicit": "a", "free_text": None, "no_query": "b"}
    assert fit.on_boundary == {"explicit": True, "free_text": False, "no_query": True}
    assert fit.n_scored == {"explicit": 4, "free_text": 3, "no_query": 4}
    # the vertex is the unique maximum (recall 1); (0.4, 0.3, 0.3) on an explicit request scores
    #   r1 = 0.4, r2 = 0.4*61/62, r3 = 0.4*61/63 against the decoys
    #   d1 = 0.4*61/64 + 0.3 + 0.3*61/62 = 0.976, d2 = 0.4*61/65 + 0.3*61/62 + 0.3 = 0.971
    # so the top 3 is d1, d2, r1: recall 1/3
    explicit = fit.mean_recall["explicit"]
    vertex = int(np.flatnonzero((fit.grid == [1.0, 0.0, 0.0]).all(axis=1))[0])
    near_uniform = int(np.flatnonzero(np.isclose(fit.grid, [0.4, 0.3, 0.3]).all(axis=1))[0])
    assert explicit[vertex] == 1.0
    assert np.sum(explicit == 1.0) == 1
    assert explicit[near_uniform] == pytest.approx(1 / 3)


def test_a_flat_surface_breaks_ties_toward_uniform() -> None:
    results, relevant, classes = _validation_set()
    fit = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=10, k=3)
    # free text: recall 1 at every point; the closest points to (1/3, 1/3, 1/3) are the three
    # permutations of (0.3, 0.3, 0.4), and the first in lexicographic grid order is (0.3, 0.3, 0.4)
    np.testing.assert_array_equal(fit.mean_recall["free_text"], np.ones(66))
    assert fit.chosen.for_class("free_text") == pytest.approx({"a": 0.3, "b": 0.3, "c": 0.4})
    # with a resolution divisible by 3 the exact uniform point is on the grid and wins
    fit_by_thirds = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=3, k=3)
    assert fit_by_thirds.chosen.for_class("free_text") == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


def test_fit_recall_matches_the_blend_and_the_evaluation_metric() -> None:
    results, relevant, classes = _validation_set()
    fit = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=10, k=3)
    point = int(np.flatnonzero(np.isclose(fit.grid, [0.2, 0.5, 0.3]).all(axis=1))[0])
    n_items = 100
    for query_class in QUERY_CLASSES:
        rows = [v for v, q in enumerate(classes) if q == query_class]
        dense = np.full((len(rows), n_items), -np.inf)  # full-ranking matrix: candidates get their blend score
        mask = np.zeros((len(rows), n_items), dtype=bool)
        for row, v in enumerate(rows):
            blended = blend(results[v], dict(zip("abc", fit.grid[point])), top_n=n_items)
            dense[row, blended.items] = blended.scores
            mask[row, relevant[v]] = True
        # k = 3 is below every request's candidate count, so -inf items never enter a top 3
        assert recall_at_k(dense, mask, 3).mean == pytest.approx(fit.mean_recall[query_class][point], abs=1e-15)


def test_fit_is_deterministic_and_reports_the_grid() -> None:
    results, relevant, classes = _validation_set()
    first = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=10, k=3)
    again = fit_blend_weights(results, relevant, classes, ("a", "b", "c"), resolution=10, k=3)
    assert first.chosen == again.chosen
    for q in QUERY_CLASSES:
        np.testing.assert_array_equal(first.mean_recall[q], again.mean_recall[q])
    frame = first.grid_frame()
    assert len(frame) == 3 * 66
    assert frame.groupby("query_class")["chosen"].sum().to_dict() == {q: 1 for q in QUERY_CLASSES}


def test_a_class_without_scored_requests_keeps_uniform_weights() -> None:
    results, relevant, classes = _validation_set()
    keep = [v for v, q in enumerate(classes) if q != "free_text"]
    # a request without relevant items is excluded, not scored 0
    extra = {"a": A, "b": B, "c": C}
    fit = fit_blend_weights([results[v] for v in keep] + [extra], [relevant[v] for v in keep] + [np.array([])],
                            [classes[v] for v in keep] + ["free_text"], ("a", "b", "c"), k=3)
    assert fit.n_scored["free_text"] == 0
    assert fit.best_index["free_text"] is None
    assert np.isnan(fit.mean_recall["free_text"]).all()
    assert fit.chosen.for_class("free_text") == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


def test_fit_rejects_mismatched_inputs_naming_them() -> None:
    with pytest.raises(ValueError, match="one length"):
        fit_blend_weights([{"a": A}], [], ["explicit"], ("a",))
    with pytest.raises(ValueError, match="query_classes"):
        fit_blend_weights([{"a": A}], [np.array([10])], ["vague"], ("a",))
