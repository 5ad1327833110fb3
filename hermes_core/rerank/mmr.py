r"""Maximal Marginal Relevance: greedy re-ranking that trades relevance against redundancy.

Carbonell & Goldstein, "The Use of MMR, Diversity-Based Reranking for Reordering Documents and
Producing Summaries", SIGIR 1998. With :math:`S` the items selected so far and :math:`R \setminus S`
the rest, each step appends

.. math::

    i^\star = \operatorname*{arg\,max}_{i \in R \setminus S}
        \Bigl[\lambda\, \mathrm{rel}(i) - (1 - \lambda) \max_{j \in S} \mathrm{sim}(i, j)\Bigr],
    \qquad \lambda \in [0, 1].

The first pick (:math:`S = \emptyset`) is the most relevant item, for every :math:`\lambda`
(Carbonell & Goldstein start from the top document; a max over the empty set would otherwise make
the first pick arbitrary at :math:`\lambda = 0`). ``sim`` is the cosine similarity of the given
embeddings, :math:`\cos(e_i, e_j) = e_i^\top e_j / (\lVert e_i \rVert \lVert e_j \rVert)` (0 for a zero
vector), or a precomputed matrix whose entry ``[i, j]`` is :math:`\mathrm{sim}(i, j)`.

A running vector :math:`m_i = \max_{j \in S} \mathrm{sim}(i, j)` is updated with one similarity
row per pick, so a list of :math:`N` candidates costs :math:`O(kN)` objective evaluations (plus
:math:`O(kNd)` for the rows when embeddings are given) rather than :math:`O(k^2 N)`.

Ties go to the lowest candidate index (:func:`numpy.argmax` returns the first maximum). Hence
:math:`\lambda = 1` returns the relevance order with equal relevances in index order, i.e. a stable
sort by descending relevance.
"""

from __future__ import annotations

import numpy as np

from hermes_core.rerank.exposure import normalise_rows


def _check_lam(lam: float) -> None:
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {lam!r}")


def _similarity_source(
    embeddings: np.ndarray | None, similarity: np.ndarray | None, shape: tuple[int, ...]
) -> tuple[str, np.ndarray]:
    """``("embeddings", unit vectors)`` or ``("similarity", matrix)``, checked against ``shape`` (.., N)."""
    if (embeddings is None) == (similarity is None):
        raise ValueError("pass exactly one of embeddings (.., N, d) or similarity (.., N, N)")
    if embeddings is not None:
        vectors = np.asarray(embeddings, dtype=np.float64)
        if vectors.shape[:-1] != shape or vectors.ndim != len(shape) + 1:
            raise ValueError(f"embeddings must have shape {(*shape, 'd')}, got {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise ValueError("embeddings must be finite")
        return "embeddings", normalise_rows(vectors)
    matrix = np.asarray(similarity, dtype=np.float64)
    if matrix.shape != (*shape, shape[-1]):
        raise ValueError(f"similarity must have shape {(*shape, shape[-1])}, got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("similarity must be finite")
    return "similarity", matrix


def mmr_rerank(
    relevance: np.ndarray,
    k: int,
    lam: float,
    *,
    embeddings: np.ndarray | None = None,
    similarity: np.ndarray | None = None,
) -> np.ndarray:
    """``(k,)`` indices into the ``N`` candidates, in MMR order (module docstring).

    ``relevance (N,)`` finite; exactly one of ``embeddings (N, d)`` (cosine similarity) or
    ``similarity (N, N)``; ``0 <= k <= N``; ``lam`` in ``[0, 1]`` (1: pure relevance, 0: pure novelty
    after the first pick).
    """
    rel = np.asarray(relevance, dtype=np.float64)
    if rel.ndim != 1 or not np.isfinite(rel).all():
        raise ValueError(f"relevance must be a finite 1-D array (N,), got shape {rel.shape}")
    n = rel.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"k must lie in [0, N = {n}], got {k}")
    _check_lam(lam)
    kind, source = _similarity_source(embeddings, similarity, (n,))
    picked = np.empty(k, dtype=np.int64)
    available = np.ones(n, dtype=bool)
    max_similarity = np.zeros(n)  # (N,) max over the selected items; unused before the first pick
    for step in range(k):
        objective = rel if step == 0 else lam * rel - (1.0 - lam) * max_similarity
        pick = int(np.argmax(np.where(available, objective, -np.inf)))
        picked[step] = pick
        available[pick] = False
        row = source @ source[pick] if kind == "embeddings" else source[:, pick]
        max_similarity = row if step == 0 else np.maximum(max_similarity, row)
    return picked


def mmr_rerank_batch(
    relevance: np.ndarray,
    k: int,
    lam: float,
    *,
    embeddings: np.ndarray | None = None,
    similarity: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """``(B, k)`` MMR order of each of ``B`` padded candidate lists, ``-1`` past a list's last real item.

    ``relevance (B, N)`` (finite at real candidates), exactly one of ``embeddings (B, N, d)`` or
    ``similarity (B, N, N)``, ``mask (B, N)`` bool ``True`` at a real candidate (default: all real).
    Row ``b`` equals :func:`mmr_rerank` on the real candidates of list ``b`` (same tie-breaking),
    all lists advancing one pick per step.
    """
    rel = np.asarray(relevance, dtype=np.float64)
    if rel.ndim != 2:
        raise ValueError(f"relevance must be 2-D (B, N), got shape {rel.shape}")
    n_lists, n = rel.shape
    real = np.ones(rel.shape, dtype=bool) if mask is None else np.asarray(mask)
    if real.shape != rel.shape or real.dtype != bool:
        raise ValueError(f"mask must be a bool array of shape {rel.shape}, got {real.dtype} {real.shape}")
    if not np.isfinite(rel[real]).all():
        raise ValueError("relevance must be finite at every real candidate (mask True)")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    _check_lam(lam)
    kind, source = _similarity_source(embeddings, similarity, rel.shape)
    rows = np.arange(n_lists)
    picked = np.full((n_lists, k), -1, dtype=np.int64)
    available = real.copy()
    max_similarity = np.zeros(rel.shape)  # (B, N)
    for step in range(k):
        objective = rel if step == 0 else lam * rel - (1.0 - lam) * max_similarity
        objective = np.where(available, objective, -np.inf)
        pick = objective.argmax(axis=1)  # (B,)
        has_pick = available[rows, pick]
        if not has_pick.any():
            break
        picked[has_pick, step] = pick[has_pick]
        available[rows[has_pick], pick[has_pick]] = False
        if kind == "embeddings":
            row = np.einsum("bnd,bd->bn", source, source[rows, pick])
        else:
            row = source[rows, :, pick]
        max_similarity = row if step == 0 else np.maximum(max_similarity, row)
    return picked
