"""The knowledge-graph source on a hand-built graph whose scores were worked out by hand.

The graph (7 items ``item:0`` .. ``item:6``, 3 creators, 1 collaboration, 2 themes, 2 genres)::

    created_by        item:0, item:1, item:2 -> c0;  item:3, item:4 -> c1;  item:5, item:6 -> c2
    collaborated_with c0 -> c1
    sequel            item:1 -> item:2
    has_theme         item:0 -> t0 (0.75), item:0 -> t1 (0.25), item:3 -> t0 (1.0),
                      item:5 -> t1 (0.5), item:6 -> t1 (0.5)                         (weighted)
    has_genre         g_big: item:0, item:1, item:3, item:4, item:5;  g_rare: item:0, item:6

Unless a test says otherwise: degree exponent 1 (each step divided by the leaving node's degree),
decay 0.5 per hop after the first, every path weight 1. Walks from item:0 (probabilities):

- ``created_by/^created_by`` (2 hops): item:0 -> c0 (1) -> item:1, item:2 (1/3 each); x 0.5 = 1/6;
- collaborator path (3 hops): item:0 -> c0 (1) -> c1 (c0's one partner, 1) -> item:3, item:4
  (1/2 each); x 0.5^2 = 1/8;
- ``(sequel|^sequel)`` (1 hop): item:0 has no sequel; from item:1 it reaches item:2 with 1 (x 0.5^0);
- ``has_theme/^has_theme`` (2 hops, weighted): item:0 -> t0 (0.75), t1 (0.25); t0's items weigh
  0.75 + 1.0 = 1.75, so item:3 gets 0.75 x 1.0/1.75 = 3/7; t1's weigh 0.25 + 0.5 + 0.5 = 1.25, so
  item:5 and item:6 get 0.25 x 0.5/1.25 = 0.1; x 0.5: 3/14, 0.05, 0.05;
- ``has_genre/^has_genre`` (2 hops): item:0 -> g_big (1/2), g_rare (1/2); g_big has 5 items (1/10
  each to item:1, 3, 4, 5), g_rare 2 (1/4 to item:6); x 0.5: 0.05 and 0.125.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import sparse

from hermes_core.retrieve.kg_path_weights import (
    KnowledgeGraphParams,
    fit_path_weights,
    held_out_recall,
)
from hermes_core.retrieve.knowledge_graph import (
    MOVIELENS_META_PATHS,
    WORLD_META_PATHS,
    Edge,
    KnowledgeGraph,
    KnowledgeGraphSource,
    MetaPath,
    top_k_rows,
)

CREATOR = "created_by/^created_by"
COLLABORATOR = "created_by/(collaborated_with|^collaborated_with)/^created_by"
SEQUEL = "(sequel|^sequel)"
THEME = "has_theme/^has_theme"
GENRE = "has_genre/^has_genre"
ALL_PATHS = {CREATOR: 1.0, COLLABORATOR: 1.0, SEQUEL: 1.0, THEME: 1.0, GENRE: 1.0}
ITEMS = [f"item:{i}" for i in range(7)]


def hand_triples() -> pd.DataFrame:
    rows = [(f"item:{i}", "created_by", c, None) for i, c in
            [(0, "c0"), (1, "c0"), (2, "c0"), (3, "c1"), (4, "c1"), (5, "c2"), (6, "c2")]]
    rows += [("c0", "collaborated_with", "c1", None), ("item:1", "sequel", "item:2", None)]
    rows += [("item:0", "has_theme", "t0", 0.75), ("item:0", "has_theme", "t1", 0.25),
             ("item:3", "has_theme", "t0", 1.0), ("item:5", "has_theme", "t1", 0.5),
             ("item:6", "has_theme", "t1", 0.5)]
    rows += [(f"item:{i}", "has_genre", "g_big", None) for i in (0, 1, 3, 4, 5)]
    rows += [(f"item:{i}", "has_genre", "g_rare", None) for i in (0, 6)]
    return pd.DataFrame(rows, columns=["head", "relation", "tail", "weight"])


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(hand_triples(), ITEMS)


def source(graph: KnowledgeGraph, paths: dict[str, float] | str, decay: float = 0.5,
           degree_exponent: float = 1.0) -> KnowledgeGraphSource:
    weights = {paths: 1.0} if isinstance(paths, str) else paths
    return KnowledgeGraphSource(graph, weights, decay=decay, degree_exponent=degree_exponent)


# --------------------------------------------------------------------------- graph


def test_graph_indexes_items_first_and_sums_weights(graph: KnowledgeGraph) -> None:
    assert graph.entities[:7] == tuple(ITEMS)
    assert (graph.n_items, graph.n_entities) == (7, 7 + 3 + 2 + 2)  # items, creators, themes, genres
    assert set(graph.relations) == {"created_by", "collaborated_with", "sequel", "has_theme", "has_genre"}
    np.testing.assert_array_equal(graph.item_entity, np.arange(7))
    theme = graph.adjacency["has_theme"]
    assert theme[0, graph.entity_index["t0"]] == 0.75  # the triple's weight
    assert graph.adjacency["created_by"][0, graph.entity_index["c0"]] == 1.0  # missing weight: 1


def test_duplicate_triples_add_up_and_unlinked_items_score_zero() -> None:
    triples = pd.DataFrame({"head": ["a", "a", "b"], "relation": ["r", "r", "r"], "tail": ["x", "x", "x"]})
    graph = KnowledgeGraph.from_triples(triples, ["a", None, "b"])
    assert graph.adjacency["r"][graph.entity_index["a"], graph.entity_index["x"]] == 2.0
    scores = source(graph, "r/^r", decay=1.0).scores([0])
    # a -> x (its only edge, 1) -> a (2/3), b (1/3); item 1 has no entity
    np.testing.assert_allclose(scores, [0.0, 0.0, 1 / 3])


def test_step_matrix_divides_by_the_degree_of_the_leaving_node(graph: KnowledgeGraph) -> None:
    genre_to_items = graph.step_matrix((Edge("has_genre", inverse=True),), 1.0)
    g_big, g_rare = graph.entity_index["g_big"], graph.entity_index["g_rare"]
    np.testing.assert_allclose(genre_to_items[g_big].toarray()[0, :7], [0.2, 0.2, 0, 0.2, 0.2, 0.2, 0])
    np.testing.assert_allclose(genre_to_items[g_rare].toarray()[0, :7], [0.5, 0, 0, 0, 0, 0, 0.5])
    # degree exponent 0: the step's own edge weights
    np.testing.assert_allclose(graph.step_matrix((Edge("has_genre", True),), 0.0)[g_big].toarray()[0, :7],
                               [1, 1, 0, 1, 1, 1, 0])


# --------------------------------------------------------------------------- paths, one at a time


@pytest.mark.parametrize(("path", "expected"), [
    (CREATOR, [0, 1 / 6, 1 / 6, 0, 0, 0, 0]),
    (COLLABORATOR, [0, 0, 0, 1 / 8, 1 / 8, 0, 0]),
    (SEQUEL, [0, 0, 0, 0, 0, 0, 0]),
    (THEME, [0, 0, 0, 3 / 14, 0, 0.05, 0.05]),
    (GENRE, [0, 0.05, 0, 0.05, 0.05, 0.05, 0.125]),
])
def test_each_path_from_item_0(graph: KnowledgeGraph, path: str, expected: list[float]) -> None:
    np.testing.assert_allclose(source(graph, path).scores([0]), expected, atol=1e-15)


def test_one_hop_path_is_not_decayed(graph: KnowledgeGraph) -> None:
    # item:1 -sequel-> item:2 with probability 1, decay^0; from item:2 back along ^sequel
    np.testing.assert_allclose(source(graph, SEQUEL, decay=0.1).scores([1]), [0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(source(graph, SEQUEL, decay=0.1).scores([2]), [0, 1, 0, 0, 0, 0, 0])


def test_collaboration_edge_is_walked_both_ways(graph: KnowledgeGraph) -> None:
    # item:3 -> c1 -> c0 (the edge c0 -> c1 read backwards) -> item:0, 1, 2 (1/3 each) x 0.5^2
    np.testing.assert_allclose(source(graph, COLLABORATOR).scores([3]), [1 / 12, 1 / 12, 1 / 12, 0, 0, 0, 0])
    # only forward: c1 has no outgoing collaboration, nothing is reached
    forward_only = source(graph, "created_by/collaborated_with/^created_by")
    np.testing.assert_allclose(forward_only.scores([3]), np.zeros(7))


@pytest.mark.parametrize(("decay", "expected"), [(1.0, 0.5), (0.5, 0.125), (0.25, 0.5 / 16)])
def test_decay_multiplies_each_hop_after_the_first(graph: KnowledgeGraph, decay: float, expected: float) -> None:
    # 3 hops: walk probability 1/2 to item:3, times decay^2
    assert source(graph, COLLABORATOR, decay=decay).scores([0])[3] == pytest.approx(expected)


@pytest.mark.parametrize(("degree_exponent", "item_1", "item_6"), [
    (1.0, 0.05, 0.125),  # 1/2 * 1/5 and 1/2 * 1/2, x 0.5: the rare genre's film ranks first
    (0.5, 0.5 / np.sqrt(10), 0.25),  # 1/sqrt(2) * 1/sqrt(5) and 1/sqrt(2) * 1/sqrt(2), x 0.5
    (0.0, 0.5, 0.5),  # path counts: one shared genre each, hub and rare alike
])
def test_degree_normalisation_keeps_the_hub_from_swamping(graph: KnowledgeGraph, degree_exponent: float,
                                                         item_1: float, item_6: float) -> None:
    scores = source(graph, GENRE, degree_exponent=degree_exponent).scores([0])
    assert scores[1] == pytest.approx(item_1) and scores[6] == pytest.approx(item_6)


# --------------------------------------------------------------------------- all paths together


def test_all_paths_sum(graph: KnowledgeGraph) -> None:
    scores = source(graph, ALL_PATHS).scores([0])
    expected = [0.0,
                1 / 6 + 0.05,  # creator + genre
                1 / 6,  # creator
                1 / 8 + 3 / 14 + 0.05,  # collaborator + theme + genre
                1 / 8 + 0.05,  # collaborator + genre
                0.05 + 0.05,  # theme + genre
                0.05 + 0.125]  # theme + genre
    np.testing.assert_allclose(scores, expected)
    items, values = source(graph, ALL_PATHS).top_k([0], 2)
    np.testing.assert_array_equal(items, [3, 1])
    np.testing.assert_allclose(values, [expected[3], expected[1]])


def test_path_weights_scale_each_path(graph: KnowledgeGraph) -> None:
    scores = source(graph, {CREATOR: 3.0, GENRE: 0.5}).scores([0])
    np.testing.assert_allclose(scores, [0, 3 / 6 + 0.025, 3 / 6, 0.025, 0.025, 0.025, 0.0625])
    # weight 0 turns a path off
    np.testing.assert_allclose(source(graph, {CREATOR: 1.0, GENRE: 0.0}).scores([0]),
                               source(graph, CREATOR).scores([0]))


def test_seed_weights_and_seed_exclusion(graph: KnowledgeGraph) -> None:
    creator = source(graph, CREATOR)
    # item:0 (weight 2) -> item:1, item:2: 2/6 each; item:5 (weight 1) -> item:6: 1/2 x 0.5
    np.testing.assert_allclose(creator.scores([0, 5], seed_weights=[2.0, 1.0]), [0, 1 / 3, 1 / 3, 0, 0, 0, 0.25])
    # item:0 and item:1 reach each other (1/6 + 1/6 each before exclusion) and item:2 twice
    np.testing.assert_allclose(creator.scores([0, 1]), [0, 0, 1 / 3, 0, 0, 0, 0])
    items, _ = creator.top_k([0, 1], 5)
    np.testing.assert_array_equal(items, [2])  # the seeds never come back; unreached items neither


def test_entity_seeds_start_at_the_paths_second_node(graph: KnowledgeGraph) -> None:
    everything = source(graph, ALL_PATHS)
    # c0: its own items (^created_by, 1 hop left, 1/3 each) and its partner's (c1, then 1/2 each, x 0.5)
    np.testing.assert_allclose(everything.scores([], seed_entities=["c0"]), [1 / 3, 1 / 3, 1 / 3, 0.25, 0.25, 0, 0])
    # a theme: t1's items by loading, 0.25, 0.5, 0.5 over 1.25
    np.testing.assert_allclose(everything.scores([], seed_entities=["t1"]), [0.2, 0, 0, 0, 0, 0.4, 0.4])
    # weighted: c2 at weight 2 -> item:5, item:6 at 2 x 1/2; c2 has no partner
    np.testing.assert_allclose(everything.scores([], seed_entities={"c2": 2.0}), [0, 0, 0, 0, 0, 1, 1])


def test_item_and_entity_seeds_mix(graph: KnowledgeGraph) -> None:
    scores = source(graph, ALL_PATHS).scores([1], seed_entities=["c1"])
    # item:1: creator 1/6 to item:0, 2; collaborator 1/8 to item:3, 4; sequel 1 to item:2;
    #   genre (g_big only, 1/5 each) x 0.5 = 0.1 to item:0, 3, 4, 5
    # c1: own items 1/2 to item:3, 4; partner c0's items 1/3 x 0.5 to item:0, 1, 2
    expected = [1 / 6 + 0.1 + 1 / 6, 0.0, 1 / 6 + 1 + 1 / 6, 1 / 8 + 0.1 + 0.5, 1 / 8 + 0.1 + 0.5, 0.1, 0.0]
    np.testing.assert_allclose(scores, expected)


def test_batch_equals_one_by_one(graph: KnowledgeGraph) -> None:
    everything = source(graph, ALL_PATHS)
    rng = np.random.default_rng(7)
    seeds = [rng.choice(7, size=int(rng.integers(0, 4)), replace=False) for _ in range(25)]
    weights = [rng.uniform(0.1, 2.0, size=len(s)) for s in seeds]
    entities = [list(rng.choice(["c0", "c1", "c2", "t0", "t1", "g_big"], size=int(rng.integers(0, 3)), replace=False))
                for _ in range(25)]
    entity_rows = sparse.vstack([everything.entity_seed_vector(e) for e in entities])
    batch = everything.batch_scores(everything.item_seed_matrix(seeds, weights), entity_rows)
    for row in range(25):
        np.testing.assert_allclose(batch[row], everything.scores(seeds[row], entities[row], weights[row]))
    top_items, top_values = everything.batch_top_k(everything.item_seed_matrix(seeds, weights), 3, entity_rows)
    for row in range(25):
        items, values = everything.top_k(seeds[row], 3, entities[row], weights[row])
        np.testing.assert_array_equal(top_items[row, :len(items)], items)
        np.testing.assert_allclose(top_values[row, :len(items)], values)
        assert np.all(top_items[row, len(items):] == -1)


def test_path_scores_weighted_sum_is_batch_scores(graph: KnowledgeGraph) -> None:
    weighted = source(graph, {CREATOR: 2.0, COLLABORATOR: 0.5, THEME: 3.0, GENRE: 1.0})
    seeds = weighted.item_seed_matrix([[0], [3, 5], [1]])
    per_path = weighted.path_scores(seeds)  # (4, 3, 7)
    np.testing.assert_allclose(np.tensordot(weighted.weights, per_path, axes=1), weighted.batch_scores(seeds))
    np.testing.assert_allclose(per_path[1, 0], [0, 0, 0, 1 / 8, 1 / 8, 0, 0])  # decayed, unweighted


# --------------------------------------------------------------------------- top k


def test_top_k_rows_ties_go_to_the_lower_index_and_rows_are_padded() -> None:
    scores = np.array([[0.0, 0.3, 0.5, 0.3, 0.3, -1.0],
                       [0.0, 0.0, 0.2, 0.0, 0.0, 0.0]])
    items, values = top_k_rows(scores, 3)
    np.testing.assert_array_equal(items, [[2, 1, 3], [2, -1, -1]])
    np.testing.assert_array_equal(values, [[0.5, 0.3, 0.3], [0.2, -np.inf, -np.inf]])
    wide_items, _ = top_k_rows(scores, 10)  # k above the width: every positive entry, then padding
    np.testing.assert_array_equal(wide_items[0], [2, 1, 3, 4, -1, -1, -1, -1, -1, -1])


def test_top_k_rows_matches_a_stable_full_sort() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random((600, 50)), 1) - 0.3  # many ties and non-positive entries
    items, values = top_k_rows(scores, 7)
    keyed = np.where(scores > 0, scores, -np.inf)
    expected = np.argsort(-keyed, axis=1, kind="stable")[:, :7]
    expected_values = np.take_along_axis(keyed, expected, axis=1)
    np.testing.assert_array_equal(items, np.where(np.isfinite(expected_values), expected, -1))
    np.testing.assert_array_equal(values, expected_values)


# --------------------------------------------------------------------------- meta-paths and errors


def test_meta_path_parse_and_canonical_text() -> None:
    path = MetaPath.parse(" created_by / ( collaborated_with | ^collaborated_with ) / ^created_by ")
    assert path.hops == 3
    assert path.steps[1] == (Edge("collaborated_with"), Edge("collaborated_with", inverse=True))
    assert path.text == COLLABORATOR
    assert MetaPath.parse("(film.film.sequel|^film.film.sequel)").hops == 1
    for text in (*WORLD_META_PATHS, *MOVIELENS_META_PATHS):
        assert MetaPath.parse(text).text == text


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("created_by//^created_by", "step 2 ''"),
    ("created_by/(a|)", "step 2"),
    ("has genre/^has_genre", "step 1"),
    ("(a|a)", "repeats an edge"),
])
def test_meta_path_errors_name_the_step(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MetaPath.parse(text)


def test_source_refuses_bad_settings(graph: KnowledgeGraph) -> None:
    with pytest.raises(ValueError, match="names relation 'directed_by', which the graph does not hold"):
        source(graph, "directed_by/^directed_by")
    with pytest.raises(ValueError, match="decay must lie in"):
        source(graph, CREATOR, decay=0.0)
    with pytest.raises(ValueError, match="degree_exponent must lie in"):
        source(graph, CREATOR, degree_exponent=1.5)
    with pytest.raises(ValueError, match="weight -1"):
        source(graph, {CREATOR: -1.0})
    with pytest.raises(ValueError, match=r"seed_items\[0\] holds item index 7, outside 0..6"):
        source(graph, CREATOR).scores([7])
    with pytest.raises(ValueError, match="seed entity 'nobody' is not in the graph"):
        source(graph, CREATOR).scores([], seed_entities=["nobody"])
    with pytest.raises(ValueError, match=r"seed_weights\[0\] has 1 weights for 2 seeds"):
        source(graph, CREATOR).scores([0, 1], seed_weights=[1.0])


def test_from_triples_errors_name_row_and_field() -> None:
    triples = hand_triples()
    with pytest.raises(ValueError, match="lack column"):
        KnowledgeGraph.from_triples(triples.drop(columns="tail"), ITEMS)
    broken = triples.copy()
    broken.loc[4, "tail"] = " "
    with pytest.raises(ValueError, match="triples row 4: empty tail"):
        KnowledgeGraph.from_triples(broken, ITEMS)
    broken = triples.copy()
    broken.loc[11, "weight"] = -0.5
    with pytest.raises(ValueError, match="triples row 11: weight -0.5"):
        KnowledgeGraph.from_triples(broken, ITEMS)
    with pytest.raises(ValueError, match=r"item_entities\[3\] 'item:0' is already item 0's entity"):
        KnowledgeGraph.from_triples(triples, ["item:0", "item:1", "item:2", "item:0"])


# --------------------------------------------------------------------------- the world's graph


def test_world_graph_walks_to_same_creator_and_collaborator_items(tiny_world) -> None:  # type: ignore[no-untyped-def]
    graph = KnowledgeGraph.from_world(tiny_world)
    creator = tiny_world.catalogue.creator
    assert graph.n_items == tiny_world.n_items
    seed = 0
    same = np.flatnonzero(creator == creator[seed])
    scores = source(graph, CREATOR, decay=1.0).scores([seed])
    expected = np.zeros(graph.n_items)
    expected[same] = 1.0 / len(same)  # the creator spreads its mass over its items, the seed included
    expected[seed] = 0.0
    np.testing.assert_allclose(scores, expected)
    edges = tiny_world.collaborations
    partners = set(edges[edges[:, 0] == creator[seed], 1]) | set(edges[edges[:, 1] == creator[seed], 0])
    reached = set(np.flatnonzero(source(graph, COLLABORATOR).scores([seed]) > 0))
    assert reached == set(np.flatnonzero(np.isin(creator, list(partners)))) - {seed}


# --------------------------------------------------------------------------- path weights


def test_params_defaults_and_validation() -> None:
    params = KnowledgeGraphParams()
    assert params.world_meta_paths == WORLD_META_PATHS and params.decay == 0.5
    with pytest.raises(ValidationError, match="step 1"):
        KnowledgeGraphParams(world_meta_paths={"a b": 1.0})
    with pytest.raises(ValidationError, match="strictly increasing"):
        KnowledgeGraphParams(weight_grid=(0.0, 4.0, 1.0))


def test_held_out_recall_counts_targets_in_the_top_k() -> None:
    scores = np.array([[0.9, 0.5, 0.0, 0.1], [0.2, 0.3, 0.4, 0.0], [0.5, 0.5, 0.5, 0.5]])
    targets = sparse.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]))
    # row 0: top 2 = items 0, 1: one of 2 targets; item 2 (score 0) is never returned.
    # row 1: top 2 = items 2, 1: the target item 0 is missed; row 2: no target
    recall = held_out_recall(scores, targets, 2)
    np.testing.assert_array_equal(recall[:2], [0.5, 0.0])
    assert np.isnan(recall[2])


def test_fit_finds_the_genre_weight_that_retrieves_the_target(graph: KnowledgeGraph,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    # from item:0 the creator path gives item:1, item:2 1/6 each, the genre path (weight w) item:6
    # 0.125 w and item:1 0.05 w: item:6 is first iff 0.125 w > 1/6 + 0.05 w, i.e. w > 20/9.
    start = source(graph, {CREATOR: 1.0, GENRE: 1.0})
    seeds = start.item_seed_matrix([[0]])
    target = sparse.csr_matrix(([1.0], ([0], [6])), shape=(1, 7))
    with caplog.at_level(logging.INFO, logger="hermes_core.retrieve.kg_path_weights"):
        fit = fit_path_weights(start, seeds, target, k=1, grid=(0.0, 1.0, 4.0, 16.0))
    assert fit.weights == {CREATOR: 1.0, GENRE: 4.0}  # the first grid value past 20/9; 16 only ties
    assert (fit.start_objective, fit.objective, fit.n_rows, fit.anchor) == (0.0, 1.0, 1, CREATOR)
    assert fit.at_edge == ()
    assert "has_genre/^has_genre -> weight 4" in caplog.text
    assert list(fit.trace["weight"][:4]) == [0.0, 1.0, 4.0, 16.0]
    # a grid whose largest value is the choice is flagged
    edge = fit_path_weights(start, seeds, target, k=1, grid=(0.0, 1.0, 4.0))
    assert edge.at_edge == (GENRE,)
    # the anchor keeps its weight, the others move relative to it
    anchored = fit_path_weights(source(graph, {CREATOR: 2.0, GENRE: 1.0}), seeds, target, k=1,
                                grid=(0.0, 1.0, 4.0, 16.0), anchor=CREATOR)
    assert anchored.weights == {CREATOR: 2.0, GENRE: 8.0}
