r"""Query-aware blending of the candidate sources: exact deduplication, per-source score
normalisation, a weighted sum whose weights depend on the query class, and the fit of those
weights on a validation split.

For one request, source :math:`s` returns its top-:math:`k_s` items with scores on its own scale
(ANN inner products, graph path scores, SASRec logits). The blend is

.. math::

    b(i) = \sum_{s \in A} w_{q,s}\, \tilde x_s(i),

with :math:`A` the sources that answered the request, :math:`q` its query class
(:data:`QUERY_CLASSES`), :math:`w_{q,s} \ge 0` the class's weights and :math:`\tilde x_s(i)` the
normalised score of item :math:`i` in source :math:`s` (0 when :math:`s` did not return
:math:`i`); see :func:`normalise_scores`.

A source that failed or timed out contributes nothing, and the weights of the sources that
answered are **not** renormalised: within one request, dividing by
:math:`\sum_{s \in A} w_{q,s}` multiplies every blended score by the same constant, so the
ranking (the only thing a request returns) is unchanged, while the unnormalised score keeps
one meaning across requests (the share of the full blend's evidence an item collected; a
degraded request visibly scores lower). The one case where the answered weights matter is when
they are all 0 (e.g. a no-query request whose weights put everything on SASRec, and SASRec
failed): then every blended score would be 0 and the order arbitrary, so the blend falls back
to uniform weights over the answered sources and says so (``Blend.fallback_weights``).

Ties are broken by the lower item index everywhere (stable sorts over candidates kept in
increasing item order), so the same inputs always give the same output order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

QUERY_CLASSES: tuple[str, ...] = ("explicit", "free_text", "no_query")
"""Query classes with their own blend weights: ``explicit`` (query understanding found
constraints), ``free_text`` (a query without constraints), ``no_query`` (an empty query: the
user's history alone)."""

Normalisation = Literal["reciprocal_rank", "min_max"]
NORMALISATIONS: tuple[str, ...] = ("reciprocal_rank", "min_max")
RRF_C = 60.0
"""The reciprocal-rank constant of Cormack, Clarke & Büttcher (2009), who found 60 robust."""


@dataclass(frozen=True, eq=False)
class SourceResult:
    """One source's top-k for one request: item indices and scores, higher is better.

    ``items`` must be distinct (a source's top-k lists each item once); scores must be finite.
    The order of the two arrays does not matter: ranks are recomputed from the scores.
    """

    items: np.ndarray  # (k,) int64 item indices
    scores: np.ndarray  # (k,) float64

    def __post_init__(self) -> None:
        items = np.asarray(self.items)
        scores = np.asarray(self.scores, dtype=np.float64)
        if items.ndim != 1 or scores.ndim != 1 or items.shape != scores.shape:
            raise ValueError(
                f"items and scores must be 1-D of one length, got shapes {items.shape} and {scores.shape}"
            )
        if items.size and not np.issubdtype(items.dtype, np.integer):
            raise ValueError(f"items must be integer item indices, got dtype {items.dtype}")
        items = items.astype(np.int64)
        if not np.isfinite(scores).all():
            raise ValueError("scores contain NaN or infinite values")
        if np.unique(items).size != items.size:
            raise ValueError("items contain duplicates: a source's top-k must list each item once")
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "scores", scores)

    @classmethod
    def of(cls, value: Any) -> SourceResult:
        """A :class:`SourceResult` from any object with ``items`` and ``scores`` (a source written
        against its own result class), validated."""
        if isinstance(value, SourceResult):
            return value
        if not (hasattr(value, "items") and hasattr(value, "scores")):
            raise TypeError(f"a source must return an object with items and scores, got {type(value).__name__}")
        return cls(items=np.asarray(value.items), scores=np.asarray(value.scores))

    def __len__(self) -> int:
        return int(self.items.size)


def _check_weight_row(weights: Mapping[str, float], name: str) -> dict[str, float]:
    row = {source: float(value) for source, value in weights.items()}
    if not row:
        raise ValueError(f"{name} names no source")
    for source, value in row.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}[{source!r}] must be finite and >= 0, got {value}")
    if sum(row.values()) <= 0:
        raise ValueError(f"{name} must have a positive weight for at least one source")
    return row


@dataclass(frozen=True)
class BlendWeights:
    """Non-negative source weights :math:`w_{q,s}` for every query class :math:`q`.

    ``by_class`` maps each of :data:`QUERY_CLASSES` to ``{source: weight}``; every class names
    the same sources in the same order (that order is the column order of a :class:`Blend`).
    Weights need not sum to 1: only their ratios change a ranking.
    """

    by_class: Mapping[str, Mapping[str, float]]

    def __post_init__(self) -> None:
        missing = [q for q in QUERY_CLASSES if q not in self.by_class]
        unknown = [q for q in self.by_class if q not in QUERY_CLASSES]
        if missing or unknown:
            raise ValueError(f"by_class must have exactly the classes {QUERY_CLASSES}; "
                             f"missing {missing}, unknown {unknown}")
        rows = {q: _check_weight_row(self.by_class[q], f"by_class[{q!r}]") for q in QUERY_CLASSES}
        sources = tuple(rows[QUERY_CLASSES[0]])
        for q, row in rows.items():
            if tuple(row) != sources:
                raise ValueError(f"by_class[{q!r}] names sources {tuple(row)}, "
                                 f"by_class[{QUERY_CLASSES[0]!r}] names {sources}")
        object.__setattr__(self, "by_class", rows)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.by_class[QUERY_CLASSES[0]])

    def for_class(self, query_class: str) -> dict[str, float]:
        """The weights of one query class."""
        if query_class not in self.by_class:
            raise ValueError(f"query_class must be one of {QUERY_CLASSES}, got {query_class!r}")
        return dict(self.by_class[query_class])

    @classmethod
    def uniform(cls, sources: Sequence[str]) -> BlendWeights:
        """Weight :math:`1/|S|` on every source for every class."""
        return cls({q: {s: 1.0 / len(sources) for s in sources} for q in QUERY_CLASSES})


@dataclass(frozen=True, eq=False)
class CandidateTable:
    """The deduplicated candidates of one request: one row per distinct item, one column per source."""

    items: np.ndarray  # (n,) int64, increasing
    sources: tuple[str, ...]
    found: np.ndarray  # (n, S) bool: source s returned item i
    scores: np.ndarray  # (n, S) float64 raw source scores, NaN where not found
    ranks: np.ndarray  # (n, S) int64 rank within the source (1 = best), 0 where not found


def _competition_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank 1 + (number of strictly higher scores): tied scores share a rank ("1224" ranking),
    so equal evidence gets equal credit rather than an order decided by item index."""
    ordered = np.sort(scores)  # ascending
    higher = scores.size - np.searchsorted(ordered, scores, side="right")
    return (higher + 1).astype(np.int64)


def candidate_table(results: Mapping[str, SourceResult], sources: Sequence[str] | None = None) -> CandidateTable:
    """Deduplicate the sources' candidates exactly: an item returned by several sources gets one
    row carrying each of its per-source scores and ranks.

    ``sources`` fixes the columns (default: the keys of ``results``); a source in ``sources``
    without a result (it failed) gets an all-False column.
    """
    columns = tuple(results) if sources is None else tuple(sources)
    unknown = [s for s in results if s not in columns]
    if unknown:
        raise ValueError(f"results has sources {unknown} that are not in sources {columns}")
    checked = {s: SourceResult.of(r) for s, r in results.items()}
    pieces = [r.items for r in checked.values()]
    items = np.unique(np.concatenate(pieces)) if pieces else np.zeros(0, np.int64)
    found = np.zeros((items.size, len(columns)), dtype=bool)
    scores = np.full((items.size, len(columns)), np.nan)
    ranks = np.zeros((items.size, len(columns)), dtype=np.int64)
    for column, source in enumerate(columns):
        if source not in checked:
            continue
        result = checked[source]
        rows = np.searchsorted(items, result.items)
        found[rows, column] = True
        scores[rows, column] = result.scores
        ranks[rows, column] = _competition_ranks(result.scores)
    return CandidateTable(items=items.astype(np.int64), sources=columns, found=found, scores=scores, ranks=ranks)


def normalise_scores(table: CandidateTable, method: Normalisation = "reciprocal_rank",
                     rrf_c: float = RRF_C) -> np.ndarray:
    r"""Per-source scores on one comparable scale, within one request; 0 where not found.

    ``reciprocal_rank`` (default), the reciprocal-rank term of RRF (Cormack, Clarke & Büttcher
    2009, "Reciprocal rank fusion outperforms Condorcet and individual rank learning methods",
    SIGIR) scaled so that a source's best item scores 1:

    .. math:: \tilde x_s(i) = \frac{c + 1}{c + r_s(i)}

    with :math:`r_s(i)` the competition rank of :math:`i` in source :math:`s` (tied scores share
    a rank). It depends on the ranks only, so it is invariant to any increasing transform of a
    source's scores: inner products, path counts and logits become comparable without
    calibrating them. The scaling by :math:`c+1` changes no ranking (a constant factor).

    ``min_max``: :math:`\tilde x_s(i) = (x_s(i) - \min_s) / (\max_s - \min_s)` over the items
    source :math:`s` returned (1 when they all tie). It keeps score gaps, but depends on the two
    extremes and gives the source's last item 0, the same as not returning it.

    Returns an ``(n_candidates, n_sources)`` array.
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"method must be one of {NORMALISATIONS}, got {method!r}")
    if not np.isfinite(rrf_c) or rrf_c < 0:
        raise ValueError(f"rrf_c must be finite and >= 0, got {rrf_c}")
    normalised = np.zeros(table.found.shape)  # (n, S)
    if method == "reciprocal_rank":
        normalised[table.found] = (rrf_c + 1.0) / (rrf_c + table.ranks[table.found])
        return normalised
    for column in range(len(table.sources)):
        rows = table.found[:, column]
        if not rows.any():
            continue
        values = table.scores[rows, column]
        spread = values.max() - values.min()
        normalised[rows, column] = (values - values.min()) / spread if spread > 0 else 1.0
    return normalised


def _effective_weights(weights: np.ndarray, answered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(G, S)`` restricted to the answered sources ``(S,)``; rows whose answered weights
    are all 0 fall back to uniform over the answered sources. Returns the weights and the
    ``(G,)`` fallback flags."""
    effective = np.where(answered[None, :], weights, 0.0)
    fallback = (effective.sum(axis=1) <= 0) & answered.any()
    if fallback.any():
        effective[fallback] = answered / answered.sum()
    return effective, fallback


def _blended_scores(normalised: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:math:`b = \\sum_s w_s \\tilde x_s` for ``(n, S)`` scores and ``(G, S)`` weights -> ``(n, G)``.

    An explicit loop over sources, not a matrix product, so the blend and the weight fit add in
    the same order and give bit-identical scores."""
    blended = np.zeros((normalised.shape[0], weights.shape[0]))
    for column in range(normalised.shape[1]):
        blended += normalised[:, column, None] * weights[None, :, column]
    return blended


@dataclass(frozen=True, eq=False)
class Blend:
    """The top-N of one request, best first, with the provenance of every item."""

    items: np.ndarray  # (n,) int64
    scores: np.ndarray  # (n,) blended score b(i)
    sources: tuple[str, ...]
    found_by: np.ndarray  # (n, S) bool: which sources returned each item
    source_scores: np.ndarray  # (n, S) raw source scores, NaN where not found
    normalised: np.ndarray  # (n, S) normalised scores, 0 where not found
    weights: np.ndarray  # (S,) effective weights used (0 for sources that did not answer)
    answered: tuple[str, ...]  # sources with a result for this request
    fallback_weights: bool  # the answered sources all had weight 0: uniform over them was used
    n_candidates: int  # distinct items over all sources, before the top-N cut

    def provenance(self, position: int) -> tuple[str, ...]:
        """The sources that found the item at ``position`` (0 = best)."""
        return tuple(s for s, hit in zip(self.sources, self.found_by[position]) if hit)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: rank, item, blended score, provenance and each source's raw score."""
        frame = pd.DataFrame({"rank": np.arange(1, self.items.size + 1), "item": self.items, "score": self.scores,
                              "found_by": [",".join(self.provenance(p)) for p in range(self.items.size)]})
        for column, source in enumerate(self.sources):
            frame[f"score_{source}"] = self.source_scores[:, column]
        return frame


def blend(results: Mapping[str, SourceResult], weights: Mapping[str, float], top_n: int, *,
          normalisation: Normalisation = "reciprocal_rank", rrf_c: float = RRF_C) -> Blend:
    r"""Blend one request's source results into its top ``top_n``.

    :math:`b(i) = \sum_{s \in A} w_s \tilde x_s(i)` over the answered sources :math:`A`
    (the keys of ``results``), with :math:`\tilde x` from :func:`normalise_scores`; see the
    module docstring for failed sources and the all-zero-weight fallback. ``weights`` names
    every configured source (a query class's row of :class:`BlendWeights`) and fixes the column
    order. Items are ordered by :math:`b` decreasing, ties by the lower item index.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    row = _check_weight_row(weights, "weights")
    sources = tuple(row)
    table = candidate_table(results, sources)
    normalised = normalise_scores(table, normalisation, rrf_c)
    answered = np.array([s in results for s in sources])
    effective, fallback = _effective_weights(np.array([list(row.values())]), answered)
    blended = _blended_scores(normalised, effective)[:, 0]  # (n,)
    top = np.argsort(-blended, kind="stable")[:top_n]
    return Blend(items=table.items[top], scores=blended[top], sources=sources, found_by=table.found[top],
                 source_scores=table.scores[top], normalised=normalised[top], weights=effective[0],
                 answered=tuple(s for s in sources if s in results), fallback_weights=bool(fallback[0]),
                 n_candidates=int(table.items.size))


def simplex_grid(n_sources: int, resolution: int) -> np.ndarray:
    r"""Every weight vector on the simplex with coordinates in steps of ``1 / resolution``.

    :math:`\{w = n / \text{resolution} : n \in \mathbb{N}^S, \sum_s n_s = \text{resolution}\}`,
    :math:`\binom{\text{resolution} + S - 1}{S - 1}` points (66 for 3 sources in steps of 0.1),
    in lexicographic order of :math:`n`. Returns ``(n_points, n_sources)``.
    """
    if n_sources < 1:
        raise ValueError(f"n_sources must be at least 1, got {n_sources}")
    if resolution < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}")
    points = [c for c in itertools.product(range(resolution + 1), repeat=n_sources) if sum(c) == resolution]
    return np.array(points, dtype=np.float64) / resolution


@dataclass(frozen=True, eq=False)
class WeightFit:
    """Blend weights chosen per query class on a simplex grid, with the whole grid's scores."""

    sources: tuple[str, ...]
    grid: np.ndarray  # (G, S) candidate weight vectors
    mean_recall: dict[str, np.ndarray]  # class -> (G,) mean recall@k, NaN when the class has no scored request
    n_scored: dict[str, int]  # class -> requests with at least one relevant item
    chosen: BlendWeights
    best_index: dict[str, int | None]  # class -> grid row chosen (None: no scored request, uniform kept)
    on_boundary: dict[str, bool]  # the optimum gives some source weight 0 (an edge or a vertex)
    single_source: dict[str, str | None]  # the optimum is a vertex: that one source takes all the weight
    k: int

    def grid_frame(self) -> pd.DataFrame:
        """Long table for plotting the surface: one row per (class, grid point)."""
        frames = []
        for q in QUERY_CLASSES:
            frame = pd.DataFrame(self.grid, columns=[f"w_{s}" for s in self.sources])
            frame.insert(0, "query_class", q)
            frame["mean_recall"] = self.mean_recall[q]
            frame["chosen"] = np.arange(len(self.grid)) == self.best_index[q]
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _grid_recalls(results: Mapping[str, SourceResult], relevant: np.ndarray, sources: tuple[str, ...],
                  grid: np.ndarray, k: int, normalisation: Normalisation, rrf_c: float) -> np.ndarray:
    """Recall@k of one request's blend at every grid point ``(G,)``; same ranking as :func:`blend`."""
    table = candidate_table(results, sources)
    normalised = normalise_scores(table, normalisation, rrf_c)
    answered = np.array([s in results for s in sources])
    effective, _ = _effective_weights(grid, answered)
    blended = _blended_scores(normalised, effective)  # (n_candidates, G)
    top = np.argsort(-blended, axis=0, kind="stable")[:k]  # (min(k, n), G)
    is_relevant = np.isin(table.items, relevant)  # (n_candidates,)
    return is_relevant[top].sum(axis=0) / relevant.size


def fit_blend_weights(
    results: Sequence[Mapping[str, SourceResult]],
    relevant: Sequence[Iterable[int]],
    query_classes: Sequence[str],
    sources: Sequence[str],
    *,
    resolution: int = 10,
    k: int = 100,
    normalisation: Normalisation = "reciprocal_rank",
    rrf_c: float = RRF_C,
    tie_tolerance: float = 1e-12,
) -> WeightFit:
    r"""Choose each query class's blend weights by grid search on the simplex, maximising the
    class's mean recall@k on **validation** requests (never the test split: the chosen weights
    are a fitted hyperparameter, and the test split must stay unseen to measure them).

    For class :math:`q` with validation requests :math:`V_q`, at every grid point :math:`w` of
    :func:`simplex_grid`:

    .. math::

        \bar R_q(w) = \frac{1}{|V_q^+|} \sum_{v \in V_q^+}
            \frac{|\mathrm{top}_k(b_{v,w}) \cap R_v|}{|R_v|}

    where :math:`b_{v,w}` is :func:`blend` of request :math:`v` with weights :math:`w`,
    :math:`R_v` its relevant items and :math:`V_q^+` the requests with :math:`R_v \neq \emptyset`
    (the others are excluded, as in :func:`hermes_core.evaluation.ranking.recall_at_k`, whose
    denominator :math:`|R_v|` this shares: relevant items no source found count as misses).

    The chosen point maximises :math:`\bar R_q`; points within ``tie_tolerance`` of the maximum
    are tied and the one closest to uniform weights (Euclidean) wins, then the first in grid
    order, so a flat surface does not pick an arbitrary corner. An optimum on the simplex's
    boundary (some weight 0) or at a vertex (one source alone) is a legitimate outcome, and is
    reported in ``on_boundary`` and ``single_source``. A class without a scored request keeps
    uniform weights (``best_index`` None).

    ``results[v]`` holds request :math:`v`'s answered sources (a failed source is simply absent,
    as at serving time); ``sources`` names every configured source and fixes the weight order.
    """
    n = len(results)
    if len(relevant) != n or len(query_classes) != n:
        raise ValueError(f"results, relevant and query_classes must have one length, "
                         f"got {n}, {len(relevant)}, {len(query_classes)}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if tie_tolerance < 0:
        raise ValueError(f"tie_tolerance must be >= 0, got {tie_tolerance}")
    columns = tuple(sources)
    if len(set(columns)) != len(columns) or not columns:
        raise ValueError(f"sources must be distinct and non-empty, got {columns}")
    unknown_classes = sorted({q for q in query_classes if q not in QUERY_CLASSES})
    if unknown_classes:
        raise ValueError(f"query_classes has values {unknown_classes} outside {QUERY_CLASSES}")
    grid = simplex_grid(len(columns), resolution)
    compositions = np.rint(grid * resolution).astype(np.int64)
    # integer distance to uniform, so that equidistant points tie exactly
    distance_to_uniform = ((len(columns) * compositions - resolution) ** 2).sum(axis=1)
    per_class: dict[str, list[np.ndarray]] = {q: [] for q in QUERY_CLASSES}
    for v in range(n):
        relevant_items = np.unique(np.fromiter(relevant[v], dtype=np.int64))
        if relevant_items.size == 0:
            continue
        per_class[query_classes[v]].append(
            _grid_recalls(results[v], relevant_items, columns, grid, k, normalisation, rrf_c))
    mean_recall: dict[str, np.ndarray] = {}
    best_index: dict[str, int | None] = {}
    chosen: dict[str, dict[str, float]] = {}
    for q in QUERY_CLASSES:
        rows = per_class[q]
        if not rows:
            mean_recall[q] = np.full(len(grid), np.nan)
            best_index[q] = None
            chosen[q] = {s: 1.0 / len(columns) for s in columns}
            continue
        means = np.mean(rows, axis=0)  # (G,)
        tied = np.flatnonzero(means >= means.max() - tie_tolerance)
        best = int(tied[np.argmin(distance_to_uniform[tied])])  # argmin returns the first of equal minima
        mean_recall[q] = means
        best_index[q] = best
        chosen[q] = {s: float(grid[best, c]) for c, s in enumerate(columns)}
    on_boundary = {q: best_index[q] is not None and bool((compositions[best_index[q]] == 0).any())
                   for q in QUERY_CLASSES}
    single_source = {q: None if best_index[q] is None or compositions[best_index[q]].max() != resolution
                     else columns[int(np.argmax(compositions[best_index[q]]))] for q in QUERY_CLASSES}
    return WeightFit(sources=columns, grid=grid, mean_recall=mean_recall,
                     n_scored={q: len(per_class[q]) for q in QUERY_CLASSES}, chosen=BlendWeights(chosen),
                     best_index=best_index, on_boundary=on_boundary, single_source=single_source, k=k)
