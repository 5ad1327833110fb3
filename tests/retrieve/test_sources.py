"""The candidate sources on hand-built inputs (``hermes_core.retrieve.sources``)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.index.faiss_index import build_index
from hermes_core.index.query_side import QuerySide
from hermes_core.retrieve.query_understanding import Constraints, ItemAttributes
from hermes_core.retrieve.sources import (
    AnnSource,
    ConstraintFilter,
    GraphSource,
    SequenceSource,
    WorldRequest,
    top_items,
    world_entities,
)


def attributes(n: int = 6) -> ItemAttributes:
    return ItemAttributes(domain=np.array(["movie", "movie", "music", "music", "movie", "news"], dtype=object)[:n],
                          genre=np.array(["drama"] * n, dtype=object), creator=np.array([None] * n, dtype=object),
                          year=np.full(n, np.nan), price=np.full(n, np.nan))  # fmt: skip


def test_top_items_excludes_history_respects_the_mask_and_breaks_ties_by_index() -> None:
    scores = np.array([0.5, 0.9, 0.9, 0.1, -np.inf, 0.7])
    result = top_items(scores, 3, excluded=np.array([5]))
    assert result.items.tolist() == [1, 2, 0] and result.scores.tolist() == [0.9, 0.9, 0.5]
    allowed = np.array([True, False, False, True, True, True])
    assert top_items(scores, 5, excluded=np.array([], dtype=np.int64), allowed=allowed).items.tolist() == [5, 0, 3]
    assert top_items(np.full(3, -np.inf), 2, np.array([], dtype=np.int64)).items.size == 0


def test_constraint_filter_caches_and_switches_off() -> None:
    constraints = Constraints(domain="movie")
    on = ConstraintFilter(attributes())
    np.testing.assert_array_equal(on(constraints), [True, True, False, False, True, False])
    assert on(constraints) is on(constraints)
    assert on(Constraints()) is None and ConstraintFilter(attributes(), enabled=False)(constraints) is None


def ann_source(k: int = 3) -> AnnSource:
    """Six items in a 2-d text space (no images); a concat-like tower whose projection is the identity."""
    text = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0], [0.6, 0.8], [0, -1]], dtype=np.float32)
    image = np.zeros((6, 1), dtype=np.float32)
    side = QuerySide(kind="concat", projection=np.vstack([np.eye(2), np.zeros((1, 2))]), d_text=2, d_image=1)
    index = build_index(text, "flat")
    return AnnSource(index=index, index_items=np.arange(6), item_vectors=text.astype(np.float64), query_side=side,
                     text=text, image=image, text_mask=np.ones(6, bool), image_mask=np.zeros(6, bool), k=k,
                     constraint_filter=ConstraintFilter(attributes()))  # fmt: skip


def test_ann_searches_with_the_query_or_the_history_profile() -> None:
    source = ann_source()
    by_query = source(WorldRequest(user=0, history=np.array([0]), query_class="free_text",
                                   query_vector=np.array([1.0, 0.0])))  # fmt: skip
    assert by_query.items.tolist() == [1, 4, 2]  # item 0 is in the history
    profile = source(WorldRequest(user=0, history=np.array([2]), query_class="no_query"))
    assert profile.items[0] == 4  # closest to item 2's direction after item 2 itself
    filtered = source(WorldRequest(user=0, history=np.array([], dtype=np.int64), query_class="explicit",
                                   query_vector=np.array([1.0, 0.0]), constraints=Constraints(domain="music")))  # fmt: skip
    assert filtered.items.tolist() == [2, 3]  # the two music items, exact scores
    np.testing.assert_allclose(filtered.scores, [0.0, -1.0])


class FixedScorer:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.seen: list = []

    def __call__(self, histories: list[np.ndarray]) -> np.ndarray:
        self.seen.append(histories)
        return np.tile(self.scores, (len(histories), 1))


def test_sequence_source_drops_the_history() -> None:
    scorer = FixedScorer(np.array([0.1, 0.9, 0.8, 0.7, 0.2, 0.3]))
    source = SequenceSource(scorer, 2, ConstraintFilter(attributes()))
    assert source(WorldRequest(user=0, history=np.array([1]), query_class="no_query")).items.tolist() == [2, 3]


class FakeGraph:
    def __init__(self) -> None:
        self.calls: list = []
        self.graph = type("G", (), {"entity_index": {"domain:movie": 0}})()

    def scores(self, items, entities, weights):  # noqa: ANN001, ANN201
        self.calls.append((np.asarray(items).tolist(), dict(entities), np.asarray(weights).tolist()))
        return np.array([0.0, 0.5, 0.4, 0.0, 0.3, 0.0])


def test_graph_source_weighs_the_history_by_age_and_keeps_reached_items_only() -> None:
    graph = FakeGraph()
    source = GraphSource(graph, 0.5, 5, ConstraintFilter(attributes()), lambda c: {"domain:movie": 1.0})
    result = source(WorldRequest(user=0, history=np.array([3, 4]), query_class="no_query"))
    assert result.items.tolist() == [1, 2]  # 4 is in the history; unreached items (score 0) are no candidates
    assert graph.calls[0] == ([3, 4], {"domain:movie": 1.0}, [0.5, 1.0])  # the last click weighs 1


def test_world_entities_name_domain_genre_and_creator() -> None:
    named = world_entities(Constraints(domain="music", genre="jazz", creator="Ana Lopez"), {"ana lopez": "w:creator:00007"})
    assert named == {"domain:music": 1.0, "genre:music:jazz": 1.0, "w:creator:00007": 1.0}
    assert world_entities(Constraints(genre="jazz"), {}) == {}
