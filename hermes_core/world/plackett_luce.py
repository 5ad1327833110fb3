"""Plackett-Luce slates: sampling and exact position marginals.

A Plackett-Luce policy with weights ``w_a = exp(s_a / T)`` over a candidate set fills
position 0, 1, ... by drawing without replacement with probability proportional to the
weights left (Plackett 1975; Luce 1959). The marginal probability that candidate ``a``
lands at position ``k`` is

.. math::

    P(a \\text{ at } k) = \\sum_{S:\\,|S|=k,\\ a \\notin S} P(S)\\,\\frac{w_a}{1 - W(S)},
    \\qquad
    P(S) = \\sum_{j \\in S} P(S \\setminus j)\\,\\frac{w_j}{1 - W(S \\setminus j)},

with normalised weights, ``W(S) = \\sum_{j\\in S} w_j`` and ``P(\\emptyset) = 1``: ``P(S)`` is the
probability that the first ``|S|`` positions hold exactly the set ``S`` in any order. The
dynamic programme over subsets is exact and costs ``O(2^C C)`` per request for ``C``
candidates, which is why the world keeps candidate sets small (at most 14).
"""

from __future__ import annotations

import numpy as np


def softmax_weights(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise ``exp(s / T) / sum exp(s / T)``; ``-inf`` scores get weight 0."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = scores / temperature
    z = z - np.max(z, axis=-1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=-1, keepdims=True)


def position_marginals(weights: np.ndarray, slate_size: int) -> np.ndarray:
    """Exact marginals ``M[r, a, k] = P(candidate a at position k)`` of Plackett-Luce.

    Parameters
    ----------
    weights : (n_requests, n_candidates) non-negative, each row summing to 1.
    slate_size : number of positions K (<= n_candidates).

    Returns
    -------
    (n_requests, n_candidates, K) array; each position's column sums to 1 over candidates.
    """
    weights = np.asarray(weights, dtype=np.float64)
    n, c = weights.shape
    if slate_size > c:
        raise ValueError(f"slate_size {slate_size} exceeds the {c} candidates")
    if c > 16:
        raise ValueError(f"exact marginals need at most 16 candidates, got {c}")
    n_masks = 1 << c
    membership = ((np.arange(n_masks)[:, None] >> np.arange(c)[None, :]) & 1).astype(bool)  # (2^C, C)
    sizes = membership.sum(axis=1)
    # 1 - W(S) summed over the weights outside S: subtracting from 1 would lose all
    # precision when one weight dominates.
    remaining = np.clip(weights @ (~membership).T.astype(np.float64), 1e-300, None)  # (n, 2^C)
    prefix_prob = np.zeros((n, n_masks))
    prefix_prob[:, 0] = 1.0
    marginals = np.zeros((n, c, slate_size))
    for k in range(slate_size):
        masks_k = np.flatnonzero(sizes == k)
        for mask in masks_k:
            p_s = prefix_prob[:, mask]  # (n,)
            if k > 0 and not np.any(p_s):
                continue
            out = ~membership[mask]
            pick = p_s[:, None] * weights[:, out] / remaining[:, mask][:, None]  # (n, |out|)
            marginals[:, out, k] += pick
            if k + 1 < slate_size:
                for j_pos, j in enumerate(np.flatnonzero(out)):
                    prefix_prob[:, mask | (1 << j)] += pick[:, j_pos]
    return marginals


def sample_slates(weights: np.ndarray, slate_size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one Plackett-Luce slate per row with the Gumbel-top-k trick.

    Sorting ``log w_a + G_a`` with i.i.d. standard Gumbel ``G_a`` in decreasing order yields a
    Plackett-Luce ranking (Yellott 1977). Returns (n_requests, K) candidate indices.
    """
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=weights.shape)
    return np.argsort(-keys, axis=1, kind="stable")[:, :slate_size]
