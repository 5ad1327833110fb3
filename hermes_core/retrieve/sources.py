r"""The candidate sources the orchestrator fans out to, and the baselines beside them.

Every source is a callable ``(request) -> SourceResult`` (items are world item indices, best first)
on a :class:`WorldRequest`, so the orchestrator (:mod:`hermes_core.retrieve.orchestrator`) runs
them concurrently under a time budget:

* :class:`AnnSource`: maximum inner product search over the encode stage's item index with the
  query's search vector (:class:`~hermes_core.index.query_side.QuerySide`): the text query
  :math:`[t_q; 0]`, or the user's profile (the mean prepared text and image features of her
  history) when there is none;
* :class:`GraphSource`: the knowledge graph's walks
  (:class:`~hermes_core.retrieve.knowledge_graph.KnowledgeGraphSource`) out of her history (an item
  clicked :math:`a` clicks ago weighs ``seed_decay``:math:`^a`) and out of the entities the query
  names (its genre, creator and domain);
* :class:`SequenceSource`: a next-item scorer over her history (SASRec, or a baseline: popularity,
  the first-order transition model).

Each excludes the user's history. With ``constraint_filter``, a request's explicit constraints
(:func:`~hermes_core.retrieve.query_understanding.item_mask`) restrict every source to the items
that satisfy them; ANN then scores those items exactly (the index cannot filter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import faiss
import numpy as np

from hermes_core.index.faiss_index import search
from hermes_core.index.query_side import QuerySide
from hermes_core.retrieve.blending import SourceResult
from hermes_core.retrieve.knowledge_graph import KnowledgeGraphSource
from hermes_core.retrieve.query_understanding import Constraints, ItemAttributes, item_mask, normalise

NO_ITEM = -1


@dataclass(frozen=True, eq=False)
class WorldRequest:
    """What a source sees of one request: the user, her history (oldest first), the query class,
    and for a text query its prepared text embedding and its extracted constraints."""

    user: int
    history: np.ndarray
    query_class: str
    query_text: str | None = None
    query_vector: np.ndarray | None = None  # (d_text,) prepared MiniLM embedding of the query text
    constraints: Constraints = field(default_factory=Constraints)


def top_items(scores: np.ndarray, k: int, excluded: np.ndarray, allowed: np.ndarray | None = None) -> SourceResult:
    """The ``k`` best items of ``scores`` (n_items,) that are not ``excluded`` (and are ``allowed``,
    a bool mask), best first, ties to the lower item index; only finite scores count."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[np.asarray(excluded, dtype=np.int64)] = -np.inf
    if allowed is not None:
        scores[~allowed] = -np.inf
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size == 0:
        return SourceResult(np.zeros(0, dtype=np.int64), np.zeros(0))
    order = finite[np.lexsort((finite, -scores[finite]))][:k]
    return SourceResult(order.astype(np.int64), scores[order])


@dataclass(eq=False)
class ConstraintFilter:
    """Bool masks (n_items,) of the items that satisfy a request's constraints, cached by constraints."""

    attributes: ItemAttributes
    enabled: bool = True
    _cache: dict[Constraints, np.ndarray] = field(default_factory=dict)

    def __call__(self, constraints: Constraints) -> np.ndarray | None:
        if not self.enabled or constraints.is_empty:
            return None
        if constraints not in self._cache:
            self._cache[constraints] = item_mask(constraints, self.attributes)
        return self._cache[constraints]


@dataclass(eq=False)
class AnnSource:
    """ANN over the encode stage's index (module docstring). ``item_vectors`` (n_items, D) are the
    indexed vectors by item (zero rows for items not indexed), ``index_items`` (n_rows,) the item of
    every index row; ``text``/``image`` (n_items, d) the prepared features and their masks."""

    index: faiss.Index
    index_items: np.ndarray
    item_vectors: np.ndarray
    query_side: QuerySide
    text: np.ndarray
    image: np.ndarray
    text_mask: np.ndarray
    image_mask: np.ndarray
    k: int
    constraint_filter: ConstraintFilter

    def search_vector(self, request: WorldRequest) -> np.ndarray:
        """The request's search vector ``(search_dim,)``: text query, else the history's profile."""
        if request.query_vector is not None:
            query = self.query_side.text_query(np.asarray(request.query_vector)[None, :])
        else:
            query = self.query_side.profile([request.history], self.text, self.image, self.text_mask, self.image_mask)
        return self.query_side.index_queries(query)[0]

    def __call__(self, request: WorldRequest) -> SourceResult:
        vector = self.search_vector(request)
        allowed = self.constraint_filter(request.constraints)
        if allowed is not None:  # exact scores over the allowed items: the index cannot filter
            return top_items(self.item_vectors @ vector, self.k, request.history, allowed)
        # over-fetch so that k remain once the history is removed
        scores, rows = search(self.index, vector[None, :].astype(np.float32), self.k + len(request.history))
        keep = rows[0] >= 0
        items = self.index_items[rows[0][keep]]
        values = scores[0][keep].astype(np.float64)
        fresh = ~np.isin(items, request.history)
        items, values = items[fresh], values[fresh]
        _, first = np.unique(items, return_index=True)  # an item indexed twice keeps its best row
        first = np.sort(first)
        return SourceResult(items[first][: self.k].astype(np.int64), values[first][: self.k])


@dataclass(eq=False)
class GraphSource:
    """The knowledge graph's walks out of the history and the query's entities (module docstring)."""

    graph: KnowledgeGraphSource
    seed_decay: float
    k: int
    constraint_filter: ConstraintFilter
    entity_of_constraints: Callable[[Constraints], dict[str, float]]

    def __call__(self, request: WorldRequest) -> SourceResult:
        history = np.asarray(request.history, dtype=np.int64)
        ages = np.arange(len(history))[::-1]  # the last click is 0 clicks old
        entities = self.entity_of_constraints(request.constraints)
        scores = self.graph.scores(history, entities, self.seed_decay ** ages)
        scores = np.where(scores > 0, scores, -np.inf)  # an item no walk reaches is no candidate
        return top_items(scores, self.k, history, self.constraint_filter(request.constraints))


@dataclass(eq=False)
class SequenceSource:
    """A next-item scorer over the history: ``score(histories) -> (n, n_items)`` whose column ``j``
    is world item ``j`` (the stage shifts SASRec's ids ``1..n`` onto world indices)."""

    score: Callable[[list[np.ndarray]], np.ndarray]
    k: int
    constraint_filter: ConstraintFilter

    def __call__(self, request: WorldRequest) -> SourceResult:
        scores = self.score([np.asarray(request.history, dtype=np.int64)])[0]
        return top_items(scores, self.k, request.history, self.constraint_filter(request.constraints))


def world_entities(constraints: Constraints, creator_entity: dict[str, str]) -> dict[str, float]:
    """The world graph's entities a query names: ``genre:<domain>:<genre>`` (with its domain),
    ``domain:<domain>`` and the creator's entity (``creator_entity``: normalised name -> entity)."""
    named: dict[str, float] = {}
    if constraints.domain:
        named[f"domain:{constraints.domain}"] = 1.0
        if constraints.genre:
            named[f"genre:{constraints.domain}:{constraints.genre}"] = 1.0
    if constraints.creator and normalise(constraints.creator) in creator_entity:
        named[creator_entity[normalise(constraints.creator)]] = 1.0
    return named


__all__ = ["AnnSource", "ConstraintFilter", "GraphSource", "SequenceSource", "WorldRequest", "top_items",
           "world_entities"]
