r"""The knowledge-graph source's knobs and the fit of its meta-path weights on held-out clicks.

:class:`KnowledgeGraphParams` is the ``retrieve.knowledge_graph`` block (meta-paths with their
weights for the world and for MovieLens 100K, the decay, the degree exponent, the fitting grid).

:func:`fit_path_weights` chooses the weights :math:`w_P` of :mod:`hermes_core.retrieve.knowledge_graph`
on a validation split by coordinate ascent over a grid: the scores are linear in the weights,
:math:`\mathrm{score} = \sum_P w_P Z_P` (:math:`Z_P` each path's decayed, unweighted scores,
:meth:`~hermes_core.retrieve.knowledge_graph.KnowledgeGraphSource.path_scores`), so every path's
:math:`Z_P` is computed once and each trial costs one weighted sum and one top-``k``. The
objective is the mean held-out recall of the validation rows,

.. math:: \mathrm{recall@}k(u) = \frac{|\mathrm{top}_k(u) \cap Y_u|}{|Y_u|}

over rows with a target (:math:`Y_u`: the items the user clicked or rated next; only items with a
positive score can be in the top ``k``, as in the source). A ranking does not change when every
weight is multiplied by one number, so the *anchor* path keeps its weight and the others are
chosen relative to it. Each round visits the other paths in order and sets each to the grid value
with the best objective, the others held (a tie keeps the current value); rounds stop when one
changes nothing. Every choice is logged, and a choice at the grid's largest value or smallest
positive one is flagged (``at_edge``): the optimum may lie beyond the grid, which should then be
widened.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from scipy import sparse

from hermes_core.params import StrictModel
from hermes_core.retrieve.knowledge_graph import (
    DEFAULT_DECAY,
    DEFAULT_DEGREE_EXPONENT,
    MOVIELENS_META_PATHS,
    WORLD_META_PATHS,
    KnowledgeGraphSource,
    MetaPath,
    top_k_rows,
)

LOGGER = logging.getLogger(__name__)
WEIGHT_GRID: tuple[float, ...] = (0.0, 1 / 64, 1 / 16, 1 / 4, 1.0, 4.0, 16.0, 64.0)
"""Weights relative to the anchor path, 0 (path off) and powers of 4 from 1/64 to 64."""
TRACE_COLUMNS = ["round", "path", "weight", "objective"]


def _meta_paths(value: dict[str, float]) -> dict[str, float]:
    if not value:
        raise ValueError("needs at least one meta-path")
    for text, weight in value.items():
        MetaPath.parse(text)
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"meta-path {text!r}: weight {weight!r} is not a finite number >= 0")
    return value


class KnowledgeGraphParams(StrictModel):
    """``retrieve.knowledge_graph``: meta-paths, decay, degree normalisation and the weight fit."""

    world_meta_paths: dict[str, float] = Field(
        default_factory=lambda: dict(WORLD_META_PATHS),
        description="meta-path -> weight w_P on the world's graph (SPARQL-style path: r, ^r, (a|b), joined by /)")
    movielens_meta_paths: dict[str, float] = Field(
        default_factory=lambda: dict(MOVIELENS_META_PATHS),
        description="meta-path -> weight w_P on MovieLens 100K's Freebase graph")
    decay: float = Field(DEFAULT_DECAY, gt=0.0, le=1.0, description="delta, factor per hop after the first")
    degree_exponent: float = Field(DEFAULT_DEGREE_EXPONENT, ge=0.0, le=1.0,
                                   description="alpha: each step divided by the leaving node's degree^alpha")
    fit_weights: bool = Field(False, description="choose the weights on validation clicks (fit_path_weights)")
    weight_grid: tuple[float, ...] = Field(WEIGHT_GRID, min_length=2,
                                           description="weights tried per path, relative to the anchor")
    fit_rounds: int = Field(3, ge=1, le=20, description="coordinate-ascent rounds at most")
    fit_k: int = Field(100, ge=1, le=10_000, description="k of the validation recall@k")

    @field_validator("world_meta_paths", "movielens_meta_paths")
    @classmethod
    def _valid_paths(cls, value: dict[str, float]) -> dict[str, float]:
        return _meta_paths(value)

    @field_validator("weight_grid")
    @classmethod
    def _valid_grid(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        return _check_grid(value)


def _check_grid(grid: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(g) for g in grid)
    if len(values) < 2 or any(not (math.isfinite(g) and g >= 0) for g in values):
        raise ValueError(f"weight grid needs at least 2 finite values >= 0, got {values}")
    if list(values) != sorted(set(values)):
        raise ValueError(f"weight grid must be strictly increasing, got {values}")
    if not any(g > 0 for g in values):
        raise ValueError(f"weight grid needs a positive value, got {values}")
    return values


@dataclass(frozen=True)
class PathWeightFit:
    """What :func:`fit_path_weights` chose and how it got there."""

    weights: dict[str, float]  # meta-path text -> chosen weight (the anchor's unchanged)
    anchor: str
    objective: float  # mean validation recall@k at the chosen weights
    start_objective: float  # ... at the starting weights
    n_rows: int  # validation rows with a target
    at_edge: tuple[str, ...]  # paths chosen at the grid's largest or smallest positive value
    trace: pd.DataFrame  # TRACE_COLUMNS: every weight tried


def held_out_recall(scores: np.ndarray, targets: sparse.spmatrix, k: int) -> np.ndarray:
    """Per row: share of the row's targets in the ``k`` best positive scores (:func:`top_k_rows`);
    NaN for a row without target. ``scores`` (n, n_items); ``targets`` (n, n_items), nonzero = target."""
    targets = sparse.csr_matrix(targets)
    if targets.shape != scores.shape:
        raise ValueError(f"targets has shape {targets.shape}, scores {scores.shape}")
    items, _ = top_k_rows(scores, k)  # (n, k), -1 padding
    n_targets = np.diff(targets.indptr)
    rows = np.repeat(np.arange(items.shape[0]), items.shape[1])
    flat = items.reshape(-1)
    found = flat >= 0
    hit = np.zeros(len(flat))
    hit[found] = np.asarray(targets[rows[found], flat[found]]).ravel() != 0
    hits = hit.reshape(items.shape).sum(axis=1)
    recall = np.full(items.shape[0], np.nan)
    has = n_targets > 0
    recall[has] = hits[has] / n_targets[has]
    return recall


def fit_path_weights(source: KnowledgeGraphSource, item_seeds: sparse.spmatrix, targets: sparse.spmatrix, *,
                     k: int = 100, grid: Sequence[float] = WEIGHT_GRID, anchor: str | None = None,
                     rounds: int = 3) -> PathWeightFit:
    """Coordinate ascent of the path weights on validation rows (module docstring).

    ``item_seeds`` (n, n_items): each row's seed weights; ``targets`` (n, n_items): its held-out
    items. Starts from ``source``'s weights; ``anchor`` (default: the first path with a positive
    weight) keeps its weight. Returns the weights with the objective before and after, every trial
    in ``trace`` and the paths chosen at an edge of the grid. Holds every path's scores at once:
    ``n_paths x n x n_items`` floats.
    """
    grid = _check_grid(grid)
    texts = [p.text for p in source.paths]
    weights = source.weights.copy()
    if anchor is None:
        positive = np.flatnonzero(weights > 0)
        if not len(positive):
            raise ValueError("every starting weight is 0: name an anchor path with a positive weight")
        anchor_index = int(positive[0])
    else:
        canonical = MetaPath.parse(anchor).text
        if canonical not in texts:
            raise ValueError(f"anchor {anchor!r} is not one of the source's meta-paths {texts}")
        anchor_index = texts.index(canonical)
        if weights[anchor_index] <= 0:
            raise ValueError(f"anchor {anchor!r} has weight 0: the ranking would not depend on it")
    path_scores = source.path_scores(item_seeds)  # (n_paths, n, n_items)

    def objective(w: np.ndarray) -> float:
        recall = held_out_recall(np.tensordot(w, path_scores, axes=1), targets, k)
        return float(np.nanmean(recall)) if np.any(~np.isnan(recall)) else float("nan")

    trace: list[dict[str, object]] = []
    best = start = objective(weights)
    for round_number in range(1, rounds + 1):
        changed = False
        for p in range(len(texts)):
            if p == anchor_index:
                continue
            for value in grid:
                trial = weights.copy()
                trial[p] = value * weights[anchor_index]
                score = best if value * weights[anchor_index] == weights[p] else objective(trial)
                trace.append({"round": round_number, "path": texts[p], "weight": float(trial[p]), "objective": score})
                if score > best:
                    best, weights, changed = score, trial, True
            LOGGER.info("round %d: %s -> weight %.6g (validation recall@%d %.4f)",
                        round_number, texts[p], weights[p], k, best)
        if not changed:
            break
    positive_grid = [g for g in grid if g > 0]
    edges = {positive_grid[0], positive_grid[-1]} if len(positive_grid) > 1 else set()
    at_edge = tuple(texts[p] for p in range(len(texts))
                    if p != anchor_index and weights[p] / weights[anchor_index] in edges)
    for text in at_edge:
        LOGGER.warning("%s chose a weight at the edge of the grid %s: widen the grid", text, grid)
    LOGGER.info("chose %s (validation recall@%d %.4f, %.4f at the starting weights)",
                dict(zip(texts, weights.tolist())), k, best, start)
    n_rows = int(np.sum(np.diff(sparse.csr_matrix(targets).indptr) > 0))
    return PathWeightFit(weights=dict(zip(texts, map(float, weights))), anchor=texts[anchor_index],
                         objective=best, start_objective=start, n_rows=n_rows, at_edge=at_edge,
                         trace=pd.DataFrame(trace, columns=TRACE_COLUMNS))
