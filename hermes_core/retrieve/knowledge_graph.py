r"""Knowledge-graph candidate source: weighted walks along meta-paths out of the seeds.

**Graph.** Entities (items, creators, genres, themes, actors ...) are indexed ``0 .. E-1``; each
relation ``r`` is a sparse matrix :math:`A_r` (E, E) with :math:`A_r[h, t]` the summed weights of
the triples ``(h, r, t)`` (1 for an unweighted triple). Items are a subset of the entities: item
``i`` stands for entity :math:`e(i)` (or none, e.g. a MovieLens movie without a Freebase link),
and :math:`X` (n_items, E) is the 0/1 matrix with :math:`X[i, e(i)] = 1`.

**Meta-paths** (the typed paths of heterogeneous information networks: Sun et al. 2011, "PathSim",
VLDB). A meta-path :math:`P = (S_1, \dots, S_L)` is a sequence of :math:`L` *hops*; each
step follows one or more oriented relations, written SPARQL-style: ``r`` (head to tail),
``^r`` (tail to head) and ``(a|b)`` (either), steps joined by ``/``. Item to creator to item is
``created_by/^created_by`` (2 hops), item to creator to collaborator to item
``created_by/(collaborated_with|^collaborated_with)/^created_by`` (3 hops), the next film of a
series ``(film.film.sequel|^film.film.sequel)`` (1 hop). A step's matrix is
:math:`M_S = \sum_{a \in S} A_a` (:math:`A_r^\top` for ``^r``).

**Degree normalisation.** Each step is divided by the degree of the node it leaves,

.. math:: N_S = D_S^{-\alpha} M_S, \qquad D_S = \mathrm{diag}(M_S \mathbf 1)

(rows of nodes without such an edge stay 0). With the default :math:`\alpha = 1` every step is a
random-walk transition, the propagation of personalized PageRank and of ItemRank (Page et al.
1999; Gori & Pucci 2007, "ItemRank", IJCAI): a genre with 500 films hands each film 1/500 of
what reached it while a director of 3 films hands each 1/3, so hubs do not swamp rare shared
neighbours; the first step also splits a seed's mass over its own edges (a film with 40 actors
gives each actor 1/40). :math:`\alpha = 0` counts paths instead.

**Scores.** With seed weights :math:`s` (n_items,) on items and :math:`t` (E,) on entities (those
a query names), path weights :math:`w_P` and a decay :math:`\delta \in (0, 1]` per hop after the
first, item ``j`` scores

.. math::

    \mathrm{score}(j) = \sum_P w_P \Big[\delta^{L_P - 1} \big(s^\top X N_{S_1} \cdots N_{S_{L_P}} X^\top\big)_j
        + \mathbb 1[L_P \ge 2]\, \delta^{L_P - 2} \big(t^\top N_{S_2} \cdots N_{S_{L_P}} X^\top\big)_j\Big],

and 0 for every seed item. With :math:`\alpha = 1`, :math:`(X N_{S_1} \cdots N_{S_L} X^\top)_{ij}` is
the probability that a walk from item ``i`` following the path's steps ends on ``j``, so a
path's score is seed weight x path weight x :math:`\delta^{\text{hops} - 1}` x the walk's
probability, summed over paths and seeds. An entity seed stands at the path's second node
(where the item's first step lands: a creator, a genre, a theme), so it walks the remaining
:math:`L_P - 1` hops; a 1-hop path has no such node and takes no entity seed. For item seeds the
decay only rescales each path's weight (:math:`w_P \delta^{L_P - 1}`); it matters where item
and entity seeds mix.

**Batches.** The path sums are precomputed once as ``item_transition`` (n_items, n_items) and
``entity_transition`` (E, n_items); many users' scores are one sparse product
``item_seeds @ item_transition + entity_seeds @ entity_transition``.

**Top k.** Only items with a positive score are candidates, best first, ties to the lower item
index (the rule of :mod:`hermes_core.evaluation.ranking`); rows with fewer than ``k`` are padded
with item ``-1`` and score ``-inf``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from hermes_core.world.export_kg import kg_loading_records, kg_records
from hermes_core.world.world import World, item_id

NO_ITEM = -1
"""Padding of :meth:`KnowledgeGraphSource.batch_top_k`: no candidate at this rank."""
TOP_K_ROW_BLOCK = 256
DENSE_TRANSITION_SHARE = 0.05
"""A transition with more stored entries than this share of its cells is kept dense as well
(a sparse seed matrix times a dense one is ~10x faster than sparse times sparse there)."""
DEFAULT_DECAY = 0.5
DEFAULT_DEGREE_EXPONENT = 1.0
_RELATION = re.compile(r"^\^?[^\s/|()^]+$")


# --------------------------------------------------------------------------- meta-paths


@dataclass(frozen=True)
class Edge:
    """One oriented relation of a step: ``relation`` head to tail, or tail to head when ``inverse``."""

    relation: str
    inverse: bool = False

    @property
    def text(self) -> str:
        return f"^{self.relation}" if self.inverse else self.relation


@dataclass(frozen=True)
class MetaPath:
    """A sequence of steps, each a tuple of oriented relations followed together (module docstring)."""

    steps: tuple[tuple[Edge, ...], ...]

    @classmethod
    def parse(cls, text: str) -> MetaPath:
        """``"created_by/(collaborated_with|^collaborated_with)/^created_by"`` as a meta-path.

        Raises ``ValueError`` naming the path and the step at fault."""
        if not text.strip():
            raise ValueError("meta-path is empty")
        steps = []
        for number, raw_step in enumerate(text.split("/"), start=1):
            step = raw_step.strip()
            if step.startswith("(") and step.endswith(")"):
                step = step[1:-1]
            alternatives = [a.strip() for a in step.split("|")]
            bad = [a for a in alternatives if not _RELATION.match(a)]
            if bad or not alternatives:
                raise ValueError(
                    f"meta-path {text!r}: step {number} {raw_step!r} is not 'relation', '^relation' "
                    f"or '(a|^b|...)' (bad part {bad[0] if bad else raw_step!r})"
                )
            edges = tuple(Edge(a.lstrip("^"), a.startswith("^")) for a in alternatives)
            if len(set(edges)) != len(edges):
                raise ValueError(f"meta-path {text!r}: step {number} repeats an edge")
            steps.append(edges)
        return cls(tuple(steps))

    @property
    def text(self) -> str:
        """The canonical text: ``r``, ``^r`` or ``(a|b)`` per step, joined by ``/``."""
        return "/".join(
            step[0].text if len(step) == 1 else "(" + "|".join(e.text for e in step) + ")"
            for step in self.steps
        )

    @property
    def hops(self) -> int:
        return len(self.steps)

    @property
    def relations(self) -> set[str]:
        return {edge.relation for step in self.steps for edge in step}


WORLD_META_PATHS: dict[str, float] = {
    "created_by/^created_by": 1.0,
    "created_by/(collaborated_with|^collaborated_with)/^created_by": 0.0,
    "has_theme/^has_theme": 1.0,
    "has_style/^has_style": 4.0,
    "has_genre/^has_genre": 0.25,
    "in_domain/^in_domain": 4.0,
}
"""Meta-paths of the world's graph (:mod:`hermes_core.world.export_kg`) and their weights ``w_P``
(with ``decay`` 0.5 and ``degree_exponent`` 1): the choices of
:func:`~hermes_core.retrieve.kg_path_weights.fit_path_weights` on the default world's next clicks
(1,000 requests of distinct users before day 60, recall@100 0.310 at all weights 1, 0.359 at
these). The collaborator path is kept but off: every positive weight lowered that recall (in
the last round 0.3589 at 0, 0.3584 at 1/64, 0.3540 at 1/16, 0.3409 at 1), although collaborators' items are 1.20
times likelier relevant than the domain's base rate (:mod:`hermes_core.world.kg_signals`): the
theme, style and domain walks already rank items better than that."""

MOVIELENS_META_PATHS: dict[str, float] = {
    "(film.film.sequel|^film.film.sequel)": 1.0,
    "film.film.directed_by/^film.film.directed_by": 1.0,
    "film.film.actor/^film.film.actor": 1.0,
    "film.film.written_by/^film.film.written_by": 1.0,
    "film.film.genre/^film.film.genre": 1.0,
}
"""Meta-paths of MovieLens 100K's Freebase graph (:mod:`hermes_core.data.readers.movielens_kg`)
and their weights ``w_P``, all 1 (not fitted: a fit over 14 relations on the 943 users'
second-to-last ratings raised that split's recall@100 from 0.075 to 0.098 but not the last
ratings', 0.066 against 0.070 at these). Each inverse relation (``film.director.film`` ...)
repeats its forward one, so only the forward relations are walked, both ways."""


# --------------------------------------------------------------------------- graph


class KnowledgeGraph:
    """Entities, one sparse adjacency (E, E) per relation, and the entity of every item."""

    def __init__(self, entities: Sequence[str], adjacency: Mapping[str, sparse.csr_matrix],
                 item_entity: np.ndarray) -> None:
        self.entities: tuple[str, ...] = tuple(entities)
        self.adjacency: dict[str, sparse.csr_matrix] = dict(adjacency)
        self.item_entity = np.asarray(item_entity, dtype=np.int64)  # (n_items,) entity index, -1: none
        n = len(self.entities)
        for relation, matrix in self.adjacency.items():
            if matrix.shape != (n, n):
                raise ValueError(f"adjacency of {relation!r} has shape {matrix.shape}, expected ({n}, {n})")
        if self.item_entity.ndim != 1 or np.any((self.item_entity < -1) | (self.item_entity >= n)):
            raise ValueError(f"item_entity must be a 1-d array of entity indices in -1..{n - 1}")
        linked = self.item_entity[self.item_entity >= 0]
        if len(np.unique(linked)) != len(linked):
            raise ValueError("two items stand for the same entity")

    @classmethod
    def from_triples(cls, triples: pd.DataFrame, item_entities: Sequence[str | None]) -> KnowledgeGraph:
        """The graph of ``triples`` (columns ``head``, ``relation``, ``tail``, optional ``weight``
        > 0, 1 where missing; duplicate triples add up) whose item ``i`` is entity ``item_entities[i]``
        (None: an item without an entity). Entities are indexed items first (in item order),
        then the others in order of first appearance; an item entity without a triple is an
        isolated node. Raises ``ValueError`` naming the row and field at fault."""
        missing = [c for c in ("head", "relation", "tail") if c not in triples.columns]
        if missing:
            raise ValueError(f"triples lack column(s) {', '.join(missing)} (have {list(triples.columns)})")
        for column in ("head", "relation", "tail"):
            values = triples[column]
            bad = values.isna() | (values.astype(str).str.strip() == "")
            if bad.any():
                raise ValueError(f"triples row {triples.index[int(np.argmax(bad.to_numpy()))]!r}: empty {column}")
        if "weight" in triples.columns:
            given = triples["weight"].notna().to_numpy()
            weights = pd.to_numeric(triples["weight"], errors="coerce").to_numpy(dtype=float, copy=True)
            weights[~given] = 1.0
            bad = ~(np.isfinite(weights) & (weights > 0))
            if bad.any():
                row = int(np.argmax(bad))
                value = triples["weight"].iloc[row]
                value = value.item() if isinstance(value, np.generic) else value
                raise ValueError(f"triples row {triples.index[row]!r}: weight {value!r} is not a finite number > 0")
        else:
            weights = np.ones(len(triples))

        index: dict[str, int] = {}
        item_of_entity: dict[str, int] = {}
        item_entity = np.full(len(item_entities), NO_ITEM, dtype=np.int64)
        for item, entity in enumerate(item_entities):
            if entity is None:
                continue
            if entity in index:
                raise ValueError(f"item_entities[{item}] {entity!r} is already item {item_of_entity[entity]}'s entity")
            index[entity] = item_entity[item] = len(index)
            item_of_entity[entity] = item
        heads = triples["head"].astype(str).to_numpy()
        tails = triples["tail"].astype(str).to_numpy()
        for name in np.concatenate([heads, tails]):
            if name not in index:
                index[name] = len(index)
        head_index = np.array([index[h] for h in heads], dtype=np.int64)
        tail_index = np.array([index[t] for t in tails], dtype=np.int64)
        relations = triples["relation"].astype(str).to_numpy()
        n = len(index)
        adjacency = {}
        for relation in sorted(set(relations)):
            rows = relations == relation
            adjacency[relation] = sparse.csr_matrix(
                (weights[rows], (head_index[rows], tail_index[rows])), shape=(n, n))  # duplicates summed
        return cls(list(index), adjacency, item_entity)

    @classmethod
    def from_world(cls, world: World) -> KnowledgeGraph:
        """The world's exported graph (:mod:`hermes_core.world.export_kg`, themes and styles weighted
        by their loadings); item ``i`` is entity ``w:item:<i>``."""
        triples = pd.DataFrame(kg_records(world) + kg_loading_records(world))
        return cls.from_triples(triples, [item_id(i) for i in range(world.n_items)])

    @property
    def n_items(self) -> int:
        return len(self.item_entity)

    @property
    def n_entities(self) -> int:
        return len(self.entities)

    @property
    def relations(self) -> tuple[str, ...]:
        return tuple(self.adjacency)

    @cached_property
    def entity_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.entities)}

    @cached_property
    def item_selection(self) -> sparse.csr_matrix:
        """:math:`X` (n_items, E): ``X[i, e(i)] = 1``, an empty row for an item without entity."""
        linked = np.flatnonzero(self.item_entity >= 0)
        return sparse.csr_matrix((np.ones(len(linked)), (linked, self.item_entity[linked])),
                                 shape=(self.n_items, self.n_entities))

    def step_matrix(self, step: tuple[Edge, ...], degree_exponent: float) -> sparse.csr_matrix:
        """:math:`N_S = D_S^{-\\alpha} M_S` (E, E) of one step (module docstring)."""
        unknown = [e.relation for e in step if e.relation not in self.adjacency]
        if unknown:
            raise ValueError(f"relation {unknown[0]!r} is not in the graph (relations: {', '.join(self.relations)})")
        summed = sparse.csr_matrix((self.n_entities, self.n_entities))
        for edge in step:
            matrix = self.adjacency[edge.relation]
            summed = summed + (matrix.T.tocsr() if edge.inverse else matrix)
        degree = np.asarray(summed.sum(axis=1)).ravel()  # (E,)
        scale = np.zeros_like(degree)
        scale[degree > 0] = degree[degree > 0] ** (-degree_exponent)
        return sparse.csr_matrix(sparse.diags(scale) @ summed)


# --------------------------------------------------------------------------- source


class KnowledgeGraphSource:
    """Item scores and top-``k`` candidates from seed items and entities (module docstring).

    ``meta_paths``: meta-path text -> weight ``w_P >= 0``; ``decay``: ``delta`` in (0, 1];
    ``degree_exponent``: ``alpha`` in [0, 1].
    """

    def __init__(self, graph: KnowledgeGraph, meta_paths: Mapping[str, float],
                 decay: float = DEFAULT_DECAY, degree_exponent: float = DEFAULT_DEGREE_EXPONENT) -> None:
        if not meta_paths:
            raise ValueError("meta_paths is empty: the source needs at least one path")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must lie in (0, 1], got {decay!r}")
        if not 0.0 <= degree_exponent <= 1.0:
            raise ValueError(f"degree_exponent must lie in [0, 1], got {degree_exponent!r}")
        paths = []
        for text, weight in meta_paths.items():
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"meta-path {text!r}: weight {weight!r} is not a finite number >= 0")
            path = MetaPath.parse(text)
            unknown = sorted(path.relations - set(graph.relations))
            if unknown:
                raise ValueError(f"meta-path {text!r} names relation {unknown[0]!r}, which the graph does not "
                                 f"hold (relations: {', '.join(graph.relations)})")
            paths.append(path)
        self.graph = graph
        self.paths: tuple[MetaPath, ...] = tuple(paths)
        self.weights = np.array([float(w) for w in meta_paths.values()])  # (n_paths,)
        self.decay = float(decay)
        self.degree_exponent = float(degree_exponent)

    # ---------------------------------------------------------------- path matrices
    @cached_property
    def _walks(self) -> list[tuple[sparse.csr_matrix, sparse.csr_matrix | None]]:
        """Per path: the item walk :math:`X N_1 \\cdots N_L X^\\top` (n_items, n_items) and the
        entity walk :math:`N_2 \\cdots N_L X^\\top` (E, n_items), None for a 1-hop path; both
        without weight or decay. Multiplied right to left so that the two share their tail."""
        walks = []
        selection_t = self.graph.item_selection.T.tocsr()  # (E, n_items)
        for path in self.paths:
            tail = selection_t
            entity_walk = None
            for position in range(path.hops - 1, -1, -1):
                tail = sparse.csr_matrix(self.graph.step_matrix(path.steps[position], self.degree_exponent) @ tail)
                if position == 1:
                    entity_walk = tail
            walks.append((sparse.csr_matrix(self.graph.item_selection @ tail), entity_walk))
        return walks

    def path_item_matrix(self, path: int) -> sparse.csr_matrix:
        """Item walk of path number ``path`` times :math:`\\delta^{L - 1}`, without ``w_P``: (n_items, n_items)."""
        return self._walks[path][0] * self.decay ** (self.paths[path].hops - 1)

    @cached_property
    def item_transition(self) -> sparse.csr_matrix:
        """:math:`\\sum_P w_P \\delta^{L_P - 1} X N_{S_1} \\cdots N_{S_{L_P}} X^\\top`: (n_items, n_items)."""
        total = sparse.csr_matrix((self.graph.n_items, self.graph.n_items))
        for p, weight in enumerate(self.weights):
            if weight > 0:
                total = total + weight * self.path_item_matrix(p)
        return sparse.csr_matrix(total)

    @cached_property
    def entity_transition(self) -> sparse.csr_matrix:
        """:math:`\\sum_{P: L_P \\ge 2} w_P \\delta^{L_P - 2} N_{S_2} \\cdots N_{S_{L_P}} X^\\top`: (E, n_items)."""
        total = sparse.csr_matrix((self.graph.n_entities, self.graph.n_items))
        for (_, entity_walk), path, weight in zip(self._walks, self.paths, self.weights):
            if entity_walk is not None and weight > 0:
                total = total + weight * self.decay ** (path.hops - 2) * entity_walk
        return sparse.csr_matrix(total)

    # ---------------------------------------------------------------- seeds
    def item_seed_matrix(self, seed_items: Sequence[Sequence[int] | np.ndarray],
                         seed_weights: Sequence[Sequence[float] | np.ndarray] | None = None) -> sparse.csr_matrix:
        """Seed lists of many users as a sparse (n_users, n_items) matrix (repeated items add up)."""
        rows, columns, values = [], [], []
        for user, items in enumerate(seed_items):
            items = self._check_items(items, f"seed_items[{user}]")
            weights = self._check_weights(None if seed_weights is None else seed_weights[user], len(items),
                                          f"seed_weights[{user}]")
            rows.append(np.full(len(items), user))
            columns.append(items)
            values.append(weights)
        if not rows:
            return sparse.csr_matrix((0, self.graph.n_items))
        return sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                                 shape=(len(rows), self.graph.n_items))

    def entity_seed_vector(self, seed_entities: Sequence[str] | Mapping[str, float]) -> sparse.csr_matrix:
        """Named entities (weight 1 each, or the mapping's weights) as a (1, E) seed row."""
        weights = dict(seed_entities) if isinstance(seed_entities, Mapping) else {e: 1.0 for e in seed_entities}
        unknown = [e for e in weights if e not in self.graph.entity_index]
        if unknown:
            raise ValueError(f"seed entity {unknown[0]!r} is not in the graph")
        values = self._check_weights(list(weights.values()), len(weights), "seed_entities weights")
        columns = [self.graph.entity_index[e] for e in weights]
        return sparse.csr_matrix((values, (np.zeros(len(columns), dtype=np.int64), columns)),
                                 shape=(1, self.graph.n_entities))

    def _check_items(self, items: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
        array = np.asarray(items).reshape(-1)
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must hold integer item indices, got dtype {array.dtype}")
        array = array.astype(np.int64)
        bad = array[(array < 0) | (array >= self.graph.n_items)]
        if bad.size:
            raise ValueError(f"{name} holds item index {int(bad[0])}, outside 0..{self.graph.n_items - 1}")
        return array

    @staticmethod
    def _check_weights(weights: Sequence[float] | np.ndarray | None, n: int, name: str) -> np.ndarray:
        if weights is None:
            return np.ones(n)
        array = np.asarray(weights, dtype=float).reshape(-1)
        if array.shape != (n,):
            raise ValueError(f"{name} has {array.size} weights for {n} seeds")
        if not np.all(np.isfinite(array) & (array >= 0)):
            raise ValueError(f"{name} must be finite and >= 0, got {array[~(np.isfinite(array) & (array >= 0))][0]!r}")
        return array

    # ---------------------------------------------------------------- scores
    def batch_scores(self, item_seeds: sparse.spmatrix, entity_seeds: sparse.spmatrix | None = None) -> np.ndarray:
        """Scores of many users at once: (n_users, n_items), 0 on every stored entry of ``item_seeds``.

        ``item_seeds``: (n_users, n_items) seed weights; ``entity_seeds``: (n_users, E) or None."""
        item_seeds = sparse.csr_matrix(item_seeds, dtype=float)
        if item_seeds.shape[1] != self.graph.n_items:
            raise ValueError(f"item_seeds has {item_seeds.shape[1]} columns, the graph {self.graph.n_items} items")
        if item_seeds.nnz and item_seeds.data.min() < 0:
            raise ValueError("item_seeds holds a negative weight")
        scores = _spread(item_seeds, self._item_operator)
        if entity_seeds is not None:
            entity_seeds = sparse.csr_matrix(entity_seeds, dtype=float)
            if entity_seeds.shape != (item_seeds.shape[0], self.graph.n_entities):
                raise ValueError(f"entity_seeds has shape {entity_seeds.shape}, expected "
                                 f"({item_seeds.shape[0]}, {self.graph.n_entities})")
            if entity_seeds.nnz and entity_seeds.data.min() < 0:
                raise ValueError("entity_seeds holds a negative weight")
            scores += _spread(entity_seeds, self._entity_operator)
        seeds = item_seeds.tocoo()
        scores[seeds.row, seeds.col] = 0.0
        return scores

    @cached_property
    def _item_operator(self) -> sparse.csr_matrix | np.ndarray:
        return _operator(self.item_transition)

    @cached_property
    def _entity_operator(self) -> sparse.csr_matrix | np.ndarray:
        return _operator(self.entity_transition)

    def scores(self, seed_items: Sequence[int] | np.ndarray,
               seed_entities: Sequence[str] | Mapping[str, float] = (),
               seed_weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """One user's scores (n_items,): ``seed_items`` item indices with ``seed_weights`` (default
        1 each), ``seed_entities`` entity names (or name -> weight); seed items score 0."""
        item_seeds = self.item_seed_matrix([seed_items], None if seed_weights is None else [seed_weights])
        entity_seeds = self.entity_seed_vector(seed_entities) if len(seed_entities) else None
        return self.batch_scores(item_seeds, entity_seeds)[0]

    def path_scores(self, item_seeds: sparse.spmatrix) -> np.ndarray:
        """Each path's scores without its weight, decayed: (n_paths, n_users, n_items), 0 on the
        seeds, so that ``weights @ path_scores`` (over the first axis) is :meth:`batch_scores`."""
        item_seeds = sparse.csr_matrix(item_seeds, dtype=float)
        seeds = item_seeds.tocoo()
        out = np.empty((len(self.paths), *item_seeds.shape))
        for p in range(len(self.paths)):
            out[p] = _spread(item_seeds, _operator(self.path_item_matrix(p)))
            out[p][seeds.row, seeds.col] = 0.0
        return out

    def top_k(self, seed_items: Sequence[int] | np.ndarray, k: int,
              seed_entities: Sequence[str] | Mapping[str, float] = (),
              seed_weights: Sequence[float] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One user's best ``k`` items with a positive score and their scores, best first
        (fewer than ``k`` when fewer are reached)."""
        items, values = top_k_rows(self.scores(seed_items, seed_entities, seed_weights)[None, :], k)
        keep = items[0] != NO_ITEM
        return items[0][keep], values[0][keep]

    def batch_top_k(self, item_seeds: sparse.spmatrix, k: int,
                    entity_seeds: sparse.spmatrix | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`top_k_rows` of :meth:`batch_scores`: items and scores, both (n_users, k)."""
        return top_k_rows(self.batch_scores(item_seeds, entity_seeds), k)


def _operator(transition: sparse.csr_matrix) -> sparse.csr_matrix | np.ndarray:
    """The transition itself, or a dense copy when it is dense enough (:data:`DENSE_TRANSITION_SHARE`)."""
    n_cells = transition.shape[0] * transition.shape[1]
    return transition.toarray() if transition.nnz > DENSE_TRANSITION_SHARE * n_cells else transition


def _spread(seeds: sparse.csr_matrix, operator: sparse.csr_matrix | np.ndarray) -> np.ndarray:
    """``seeds @ operator`` as a dense (n_users, n_items) array."""
    product = seeds @ operator
    return product.toarray() if sparse.issparse(product) else np.asarray(product, dtype=float)


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``scores`` (n, m) the ``k`` best *positive* entries, best first, ties to the lower
    column: ``(items, values)``, both (n, k), padded with ``-1`` and ``-inf``.

    A partition finds each row's ``k``-th best value; every entry above it is kept and, of those
    equal to it, the lowest columns until ``k`` are kept, which is what a stable full sort keeps."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores = np.asarray(scores, dtype=float)
    items = np.full((scores.shape[0], k), NO_ITEM, dtype=np.int64)
    values = np.full((scores.shape[0], k), -np.inf)
    # row blocks keep the temporaries in cache; whole-matrix temporaries made this 10x slower
    for start in range(0, scores.shape[0], TOP_K_ROW_BLOCK):
        block = slice(start, start + TOP_K_ROW_BLOCK)
        items[block], values[block] = _top_k_block(scores[block], k)
    return items, values


def _top_k_block(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    keyed = np.where(scores > 0, scores, -np.inf)  # (n, m)
    n_rows, n_columns = keyed.shape
    width = min(k, n_columns)
    kth = -np.partition(-keyed, width - 1, axis=1)[:, width - 1] if n_columns else np.full(n_rows, -np.inf)
    above = keyed > kth[:, None]
    equal = (keyed == kth[:, None]) & np.isfinite(kth)[:, None]
    room = width - above.sum(axis=1)  # (n,) places left for entries tied with the k-th
    chosen = above | (equal & (np.cumsum(equal, axis=1, dtype=np.int32) <= room[:, None]))
    rows, columns = np.nonzero(chosen)  # row-major: each row's chosen columns, ascending
    counts = np.bincount(rows, minlength=n_rows)
    slot = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    items = np.full((n_rows, k), NO_ITEM, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf)
    items[rows, slot] = columns
    values[rows, slot] = keyed[rows, columns]
    order = np.lexsort((items, -values), axis=1)  # padding (-inf) sorts last
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(values, order, axis=1)
