r"""Ranking metrics on dense score matrices ``(n_queries, n_items)``: how well a ranking finds
the *relevant items* of each query.

One meaning per name: ``recall_at_k`` here is the share of a query's relevant items in its top
``k``; the share of an exact search's top ``k`` that an approximate index returns is
:func:`hermes_core.index.faiss_index.search_recall_at_k`.

Protocol: *full ranking*. Every column of ``scores`` is a candidate for every query (pass
``-inf`` to take an item out of a query's ranking, e.g. items seen in training). Ties in
``scores`` are broken by the lower item index (a stable sort), so results are deterministic.

Queries with no relevant item (all grades 0, or an all-False relevance row) have an undefined
NDCG and recall (0/0). They are **excluded** from the mean, never scored 0 or 1; every result
reports ``n_scored``, the number of queries that were averaged, and ``per_query`` holds NaN
for the excluded ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankingMetric:
    """A mean over the scored queries, how many were scored, and the per-query values."""

    mean: float  # NaN when no query could be scored
    n_scored: int
    per_query: np.ndarray  # (n_queries,), NaN for queries without a relevant item


def _check_inputs(
    scores: np.ndarray, labels: np.ndarray, k: int, label_name: str
) -> tuple[np.ndarray, np.ndarray, int]:
    score_matrix = np.asarray(scores, dtype=np.float64)
    label_matrix = np.asarray(labels)
    if score_matrix.ndim != 2:
        raise ValueError(f"scores must be (n_queries, n_items), got shape {score_matrix.shape}")
    if label_matrix.shape != score_matrix.shape:
        raise ValueError(
            f"{label_name} has shape {label_matrix.shape}, scores {score_matrix.shape}"
        )
    if np.isnan(score_matrix).any():
        raise ValueError("scores contain NaN; use -inf to exclude an item from a ranking")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return score_matrix, label_matrix, min(k, score_matrix.shape[1])


def _top_k_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """Item indices of the ``k`` best scores of each row, best first; ties → lower index."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (n_queries, k)


def ndcg_at_k(scores: np.ndarray, true_relevance: np.ndarray, k: int) -> RankingMetric:
    r"""Normalised discounted cumulative gain at ``k`` (Järvelin & Kekäläinen 2002).

    .. math::

        \mathrm{DCG@}k(q) = \sum_{r=1}^{k} \frac{2^{\mathrm{rel}_{q,\pi_q(r)}} - 1}{\log_2(r + 1)},
        \qquad
        \mathrm{NDCG@}k(q) = \frac{\mathrm{DCG@}k(q)}{\mathrm{IDCG@}k(q)}

    where :math:`\pi_q(r)` is the item at rank :math:`r` when sorting ``scores[q]`` in
    decreasing order, and IDCG is the DCG of the ideal ordering of the *true grades over all
    candidate items* of the query (not only the ones retrieved). Gains :math:`2^{rel}-1`
    (Burges et al. 2005) equal binary relevance when grades are 0/1.

    ``true_relevance`` holds non-negative grades. Queries whose grades are all 0 have
    IDCG = 0 and are excluded (see the module docstring); ``k`` above ``n_items`` is clipped.
    """
    score_matrix, grades, k = _check_inputs(scores, true_relevance, k, "true_relevance")
    grades = grades.astype(np.float64)
    if (grades < 0).any() or not np.isfinite(grades).all():
        raise ValueError("true_relevance grades must be finite and >= 0")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # (k,): 1/log2(rank+1), rank = 1..k
    top = _top_k_columns(score_matrix, k)
    gains = np.exp2(np.take_along_axis(grades, top, axis=1)) - 1.0  # (n_queries, k)
    dcg = gains @ discounts
    ideal_grades = -np.sort(-grades, axis=1)[:, :k]  # (n_queries, k) best grades first
    idcg = (np.exp2(ideal_grades) - 1.0) @ discounts
    scored = idcg > 0
    per_query = np.full(score_matrix.shape[0], np.nan)
    per_query[scored] = dcg[scored] / idcg[scored]
    n_scored = int(scored.sum())
    mean = float(per_query[scored].mean()) if n_scored else float("nan")
    return RankingMetric(mean=mean, n_scored=n_scored, per_query=per_query)


def recall_at_k(scores: np.ndarray, relevant_mask: np.ndarray, k: int) -> RankingMetric:
    r"""Share of a query's relevant items found in its top ``k``.

    .. math:: \mathrm{recall@}k(q) = \frac{|\{\text{top-}k\text{ items of } q\} \cap R_q|}{|R_q|}

    with :math:`R_q` the relevant items (``relevant_mask[q]``). The denominator is
    :math:`|R_q|`, as in Microsoft Recommenders' ``recall_at_k`` (not :math:`\min(k, |R_q|)`,
    so a query with more than ``k`` relevant items cannot reach 1). Queries with no
    relevant item are excluded; ``k`` above ``n_items`` is clipped.
    """
    score_matrix, relevant, k = _check_inputs(scores, relevant_mask, k, "relevant_mask")
    if relevant.dtype != bool:
        if not np.isin(relevant, (0, 1)).all():
            raise ValueError("relevant_mask must be boolean (or 0/1)")
        relevant = relevant.astype(bool)
    top = _top_k_columns(score_matrix, k)
    hits = np.take_along_axis(relevant, top, axis=1).sum(axis=1)
    n_relevant = relevant.sum(axis=1)
    scored = n_relevant > 0
    per_query = np.full(score_matrix.shape[0], np.nan)
    per_query[scored] = hits[scored] / n_relevant[scored]
    n_scored = int(scored.sum())
    mean = float(per_query[scored].mean()) if n_scored else float("nan")
    return RankingMetric(mean=mean, n_scored=n_scored, per_query=per_query)
