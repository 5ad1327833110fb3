r"""Ranking metrics on dense score matrices ``(n_queries, n_items)``: how well a ranking finds
the *relevant items* of each query.

One meaning per name: ``recall_at_k`` here is the share of a query's relevant items in its top
``k``; the share of an exact search's top ``k`` that an approximate index returns is
:func:`hermes_core.index.faiss_index.search_recall_at_k`.

Protocol: *full ranking*. Every column of ``scores`` is a candidate for every query (pass
``-inf`` to take an item out of a query's ranking, e.g. items seen in training). Ties in
``scores`` are broken by the lower item index (a stable sort), so results are deterministic.

Queries with no relevant item (all grades 0, or an all-False relevance row) have an undefined
NDCG and recall (0/0). By default they are **excluded** from the mean, never scored 0 or 1; every
result reports ``n_scored``, the number of queries that were averaged, and ``per_query`` holds
NaN for the excluded ones. :func:`ndcg_at_k` and :func:`mrr` take ``no_relevant`` to state
another convention, so that a number can be compared with a reference implementation's:

- ``"skip"`` (default): excluded, NaN (trec_eval, which evaluates only queries with a relevant
  document in the qrels);
- ``"one"``: scored 1 and averaged (allRank's ``ndcg``, whose ``filler_value`` defaults to 1.0,
  while its early releases set 0; LightGBM's and XGBoost's ``ndcg`` evaluation metrics);
- ``"zero"``: scored 0 and averaged (TF-Ranking's ``NDCGMetric`` and ``MRRMetric``, which divide
  with ``divide_no_nan`` and keep such a list in the mean; scikit-learn's ``ndcg_score``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


NoRelevant = Literal["skip", "one", "zero"]
"""How a query without any relevant item is scored (see the module docstring)."""

_NO_RELEVANT_SCORE = {"one": 1.0, "zero": 0.0}


@dataclass(frozen=True)
class RankingMetric:
    """A mean over the scored queries, how many were scored, and the per-query values."""

    mean: float  # NaN when no query could be scored
    n_scored: int
    per_query: np.ndarray  # (n_queries,), NaN for queries without a relevant item ("skip")


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


def ndcg_at_k(
    scores: np.ndarray, true_relevance: np.ndarray, k: int, no_relevant: NoRelevant = "skip"
) -> RankingMetric:
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
    IDCG = 0: ``no_relevant`` says how they are scored (``"skip"``: excluded, NaN, the default;
    ``"one"``: 1, as allRank; ``"zero"``: 0, as TF-Ranking; see the module docstring).
    ``k`` above ``n_items`` is clipped.
    """
    _check_no_relevant(no_relevant)
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
    if no_relevant != "skip":
        return _fill_no_relevant(per_query, scored, no_relevant)
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


def mrr(
    scores: np.ndarray,
    true_relevance: np.ndarray,
    k: int | None = None,
    no_relevant: NoRelevant = "skip",
) -> RankingMetric:
    r"""Mean reciprocal rank of the first relevant item (Voorhees 1999, TREC-8 QA track).

    .. math::

        \mathrm{RR@}k(q) = \begin{cases}
            1 / r_q & \text{if } r_q \le k \\
            0 & \text{otherwise}
        \end{cases},
        \qquad r_q = \min\{r : \mathrm{rel}_{q,\pi_q(r)} > 0\}

    with :math:`\pi_q(r)` the item at rank :math:`r` when sorting ``scores[q]`` in decreasing
    order (ties → lower item index). ``true_relevance`` is a boolean mask or non-negative grades;
    an item is relevant when its grade is above 0 (TF-Ranking's ``MRRMetric``). ``k=None`` ranks
    the whole list; ``k`` above ``n_items`` is clipped. A query that has relevant items, none of
    them in the top ``k``, scores 0 under every convention; a query with **no** relevant item is
    scored as ``no_relevant`` says (``"skip"``: excluded, NaN; ``"one"``: 1; ``"zero"``: 0, as
    TF-Ranking's ``MRRMetric``; see the module docstring). allRank's ``mrr`` matches none of
    them exactly: it zeroes such a query only when no query of the batch has a relevant item.
    """
    _check_no_relevant(no_relevant)
    n_items = max(np.shape(scores)[-1], 1) if np.ndim(scores) == 2 else 1
    score_matrix, grades, k = _check_inputs(
        scores, true_relevance, n_items if k is None else k, "true_relevance"
    )
    grades = grades.astype(np.float64)
    if (grades < 0).any() or not np.isfinite(grades).all():
        raise ValueError("true_relevance grades must be finite and >= 0 (or a boolean mask)")
    relevant_in_top = np.take_along_axis(grades, _top_k_columns(score_matrix, k), axis=1) > 0
    has_hit = relevant_in_top.any(axis=1)
    first_rank = relevant_in_top.argmax(axis=1) + 1  # (n_queries,) 1-based; meaningless without a hit
    reciprocal_rank = np.where(has_hit, 1.0 / first_rank, 0.0)
    scored = (grades > 0).any(axis=1)
    per_query = np.full(score_matrix.shape[0], np.nan)
    per_query[scored] = reciprocal_rank[scored]
    if no_relevant != "skip":
        return _fill_no_relevant(per_query, scored, no_relevant)
    n_scored = int(scored.sum())
    mean = float(per_query[scored].mean()) if n_scored else float("nan")
    return RankingMetric(mean=mean, n_scored=n_scored, per_query=per_query)


def _check_no_relevant(no_relevant: str) -> None:
    if no_relevant not in ("skip", "one", "zero"):
        raise ValueError(f"no_relevant must be 'skip', 'one' or 'zero', got {no_relevant!r}")


def _fill_no_relevant(per_query: np.ndarray, scored: np.ndarray, no_relevant: str) -> RankingMetric:
    """Score the queries without a relevant item by the convention and average every query."""
    per_query[~scored] = _NO_RELEVANT_SCORE[no_relevant]
    n_scored = per_query.shape[0]
    mean = float(per_query.mean()) if n_scored else float("nan")
    return RankingMetric(mean=mean, n_scored=n_scored, per_query=per_query)
