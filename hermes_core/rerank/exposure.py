r"""Position-discounted exposure and the list- and catalogue-level measures built on it.

A *ranking* (or slate) is an int array of item indices, best first, shape ``(K,)`` for one list or
``(B, K)`` for a batch; ``-1`` marks an empty slot, which shows nothing and takes no exposure
(later slots keep their positions). Item indices point into whatever array the caller pairs
with the ranking: the catalogue (``item_group`` of shape ``(n_items,)``) or one user's candidate
list.

Exposure of the item at 1-based rank :math:`k` is the DCG position discount (Järvelin &
Kekäläinen, "Cumulated gain-based evaluation of IR techniques", TOIS 2002; the attention model of
Singh & Joachims 2018, §3):

.. math::

    v_k = \frac{1}{\log_2(k + 1)}, \qquad v_1 = 1,\; v_2 \approx 0.6309,\; v_3 = 0.5,\; \dots

Exposure of a group :math:`G` is summed over its items and, for a batch, over all lists:
:math:`\operatorname{Exp}(G) = \sum_{b} \sum_{k:\, g(\pi_b(k)) = G} v_k`.

The disparate-exposure ratio of cohort :math:`A` over cohort :math:`B` compares exposure per unit
of relevance (Singh & Joachims, "Fairness of Exposure in Rankings", KDD 2018, §4.2, the
disparate *treatment* constraint, whose :math:`1/|G|` factors cancel in the ratio):

.. math::

    \mathrm{DER}(A, B) = \frac{\operatorname{Exp}(A) / \operatorname{Rel}(A)}
                              {\operatorname{Exp}(B) / \operatorname{Rel}(B)},
    \qquad \operatorname{Rel}(G) = \sum_{b} \sum_{i \in G \cap C_b} u_{b,i},

with :math:`C_b` the candidates of list :math:`b` (shown or not) and :math:`u \ge 0` their
relevance. :math:`\mathrm{DER} = 1` is parity; below 1, :math:`A` is under-exposed for its merit.
"""

from __future__ import annotations

import numpy as np


def position_exposure(n_positions: int) -> np.ndarray:
    """``(n_positions,)`` exposure :math:`v_k = 1/\\log_2(k + 1)` of ranks ``k = 1 .. n_positions``."""
    if n_positions < 0:
        raise ValueError(f"n_positions must be >= 0, got {n_positions}")
    return 1.0 / np.log2(np.arange(2, n_positions + 2, dtype=np.float64))


def as_batch(rankings: np.ndarray, name: str = "rankings") -> np.ndarray:
    """``rankings`` as a 2-D int array ``(B, K)`` (a single ``(K,)`` ranking becomes ``B = 1``).

    Raises ``ValueError`` naming ``name`` when the array is not 1- or 2-D integers or holds an
    index below ``-1``.
    """
    array = np.asarray(rankings)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be an int array (K,) or (B, K), got dtype {array.dtype} shape {array.shape}")
    if (array < -1).any():
        raise ValueError(f"{name} holds an index below -1 (-1 marks an empty slot)")
    return array


def _labels_of(rankings: np.ndarray, item_label: np.ndarray, name: str) -> np.ndarray:
    """``(B, K)`` label of the item in each slot, ``-1`` in empty slots."""
    labels = np.asarray(item_label)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D int array (n_items,), got dtype {labels.dtype} shape {labels.shape}")
    if (labels < 0).any():
        raise ValueError(f"{name} must be >= 0 for every item")
    if rankings.size and rankings.max() >= labels.shape[0]:
        raise ValueError(f"rankings index item {rankings.max()} but {name} covers only {labels.shape[0]} items")
    return np.where(rankings >= 0, labels[np.maximum(rankings, 0)], -1)


def item_exposure(rankings: np.ndarray, n_items: int) -> np.ndarray:
    """``(n_items,)`` total exposure of each item summed over all rankings (0 for an item never shown)."""
    batch = as_batch(rankings)
    if batch.size and batch.max() >= n_items:
        raise ValueError(f"rankings index item {batch.max()} but n_items is {n_items}")
    weights = np.broadcast_to(position_exposure(batch.shape[1]), batch.shape)
    shown = batch >= 0
    return np.bincount(batch[shown], weights=weights[shown], minlength=n_items).astype(np.float64)


def exposure_by_group(rankings: np.ndarray, item_group: np.ndarray, n_groups: int) -> np.ndarray:
    """``(n_groups,)`` exposure of each group (cohort), summed over the slots of all rankings.

    ``item_group (n_items,)`` int in ``[0, n_groups)``: the group of every item a ranking may index.
    """
    batch = as_batch(rankings)
    groups = _labels_of(batch, item_group, "item_group")
    if (groups >= n_groups).any():
        raise ValueError(f"item_group holds a group >= n_groups = {n_groups}")
    weights = np.broadcast_to(position_exposure(batch.shape[1]), batch.shape)
    shown = groups >= 0
    return np.bincount(groups[shown], weights=weights[shown], minlength=n_groups).astype(np.float64)


def relevance_by_group(
    relevance: np.ndarray, candidate_group: np.ndarray, n_groups: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """``(n_groups,)`` relevance :math:`\\operatorname{Rel}(G)` summed over the candidates of every list.

    ``relevance`` and ``candidate_group`` share a shape, ``(N,)`` or ``(B, N)``; ``mask`` (same
    shape, bool) is ``False`` at padding, which counts for no group.
    """
    values = np.asarray(relevance, dtype=np.float64)
    groups = np.asarray(candidate_group)
    if groups.shape != values.shape:
        raise ValueError(f"candidate_group must have the shape of relevance {values.shape}, got {groups.shape}")
    keep = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != values.shape:
        raise ValueError(f"mask must have the shape of relevance {values.shape}, got {keep.shape}")
    if not np.isfinite(values[keep]).all() or (values[keep] < 0).any():
        raise ValueError("relevance must be finite and >= 0 at every real candidate")
    if ((groups[keep] < 0) | (groups[keep] >= n_groups)).any():
        raise ValueError(f"candidate_group must lie in [0, {n_groups}) at every real candidate")
    return np.bincount(groups[keep], weights=values[keep], minlength=n_groups).astype(np.float64)


def disparate_exposure_ratio(
    group_exposure: np.ndarray, group_relevance: np.ndarray, *, group_a: int, group_b: int
) -> float:
    """:math:`\\mathrm{DER}(A, B)`: exposure per unit relevance of ``group_a`` over that of ``group_b``.

    Both inputs are ``(n_groups,)`` (from :func:`exposure_by_group` and :func:`relevance_by_group`).
    Raises ``ValueError`` when either group has zero relevance (exposure per unit relevance is then
    undefined) or ``group_b`` has zero exposure (the ratio is infinite).
    """
    exposure = np.asarray(group_exposure, dtype=np.float64)
    merit = np.asarray(group_relevance, dtype=np.float64)
    for group in (group_a, group_b):
        if not merit[group] > 0:
            raise ValueError(f"group {group} has total relevance {merit[group]}: exposure per relevance is undefined")
    if not exposure[group_b] > 0:
        raise ValueError(f"group {group_b} has no exposure: the disparate-exposure ratio is infinite")
    return float((exposure[group_a] / merit[group_a]) / (exposure[group_b] / merit[group_b]))


def intra_list_diversity(embeddings: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    r"""``(B,)`` mean pairwise cosine distance within each list (intra-list diversity).

    Smyth & McClave, "Similarity vs. Diversity", ICCBR 2001; one minus the intra-list similarity of
    Ziegler et al., "Improving Recommendation Lists Through Topic Diversification", WWW 2005.

    .. math::

        \mathrm{ILD}(L) = \frac{2}{|L|(|L| - 1)} \sum_{i < j \in L} \bigl(1 - \cos(e_i, e_j)\bigr)

    ``embeddings (K, d)`` or ``(B, K, d)`` of the shown items, ``mask (B, K)`` bool ``False`` at empty
    slots. A list with fewer than two items has no pair and gets ``nan``. A zero vector has cosine
    0 with everything.
    """
    vectors = np.asarray(embeddings, dtype=np.float64)
    if vectors.ndim == 2:
        vectors = vectors[None]
    if vectors.ndim != 3:
        raise ValueError(f"embeddings must be (K, d) or (B, K, d), got shape {vectors.shape}")
    keep = np.ones(vectors.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool).reshape(
        vectors.shape[:2]
    )
    unit = normalise_rows(vectors) * keep[..., None]
    cosine = unit @ unit.transpose(0, 2, 1)  # (B, K, K)
    n_shown = keep.sum(axis=1)
    n_pairs = n_shown * (n_shown - 1) / 2
    # the diagonal holds |e_i|^2 (1 or 0): drop it before halving the symmetric sum
    pair_cosine = (cosine.sum(axis=(1, 2)) - np.trace(cosine, axis1=1, axis2=2)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, 1.0 - pair_cosine / n_pairs, np.nan)


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` divided by their L2 norm along the last axis; a zero vector stays zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors, dtype=np.float64), where=norms > 0)


def category_coverage(rankings: np.ndarray, item_category: np.ndarray, n_categories: int) -> np.ndarray:
    """``(B,)`` share of the ``n_categories`` categories that appear in each ranking.

    :math:`|\\{c(i) : i \\in L\\}| / n_{\\mathrm{categories}}`; ``item_category (n_items,)`` int in
    ``[0, n_categories)``. Empty slots show no category.
    """
    batch = as_batch(rankings)
    categories = _labels_of(batch, item_category, "item_category")
    if (categories >= n_categories).any():
        raise ValueError(f"item_category holds a category >= n_categories = {n_categories}")
    present = np.zeros((batch.shape[0], n_categories + 1), dtype=bool)  # last column: empty slots
    present[np.arange(batch.shape[0])[:, None], np.where(categories >= 0, categories, n_categories)] = True
    return present[:, :n_categories].sum(axis=1) / n_categories


def gini_coefficient(values: np.ndarray) -> float:
    r"""Gini coefficient of non-negative ``values`` (n,), 0 for perfect equality.

    Mean absolute difference over twice the mean, computed from the ascending sort
    :math:`x_{(1)} \le \dots \le x_{(n)}`:

    .. math::

        G = \frac{\sum_i \sum_j |x_i - x_j|}{2 n^2 \bar x}
          = \frac{2 \sum_{i=1}^{n} i\, x_{(i)}}{n \sum_i x_i} - \frac{n + 1}{n}.

    All equal gives 0; one value holding everything gives :math:`(n - 1)/n`. All zero (no exposure
    at all) is defined as 0.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("values is empty: the Gini coefficient needs at least one value")
    if not np.isfinite(x).all() or x[0] < 0:
        raise ValueError("values must be finite and >= 0")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * (ranks @ x) / (n * total) - (n + 1) / n)


def exposure_gini(rankings: np.ndarray, n_items: int) -> float:
    """Gini coefficient of item exposure summed over all users' rankings, over the whole catalogue.

    Items never shown enter with exposure 0, so a system that shows few items scores high.
    """
    return gini_coefficient(item_exposure(rankings, n_items))
