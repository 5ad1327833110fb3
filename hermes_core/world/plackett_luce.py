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

A policy given by its *logits* ``l_a = log w_a`` (up to a constant per request) is handled in log
space, so that huge gaps (a near-deterministic greedy policy has ``l = s / 10^{-9}``) lose nothing:
the probability of picking ``a`` at position ``k`` after ``a_1 .. a_{k-1}`` is

.. math:: \\pi(a \\mid a_{<k}) = \\exp\\Big(l_a - \\log \\sum_{b \\notin a_{<k}} e^{l_b}\\Big),

the log-sum-exp taken over the candidates left, and a slate's prefix probability
``pi(a_1 .. a_k) = prod_{j<=k} pi(a_j | a_{<j})``.
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


def check_logits(logits: np.ndarray, slate_size: int) -> np.ndarray:
    """``logits`` (n, C) as float64, refusing NaN, ``+inf`` and rows with fewer than ``slate_size``
    finite entries (``-inf``: a candidate the policy never shows while another is left)."""
    values = np.asarray(logits, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"logits must be (n_requests, n_candidates), got shape {values.shape}")
    if slate_size < 1 or slate_size > values.shape[1]:
        raise ValueError(f"slate_size {slate_size} must lie in 1..{values.shape[1]} (the candidates)")
    if np.isnan(values).any() or np.isposinf(values).any():
        row = int(np.flatnonzero(np.isnan(values).any(axis=1) | np.isposinf(values).any(axis=1))[0])
        raise ValueError(f"logits row {row} holds NaN or +inf")
    short = np.flatnonzero(np.isfinite(values).sum(axis=1) < slate_size)
    if short.size:
        raise ValueError(f"logits row {int(short[0])} has fewer than {slate_size} finite entries: "
                         "the policy cannot fill the slate")
    return values


def check_slates(slates: np.ndarray, n_requests: int, n_candidates: int) -> np.ndarray:
    """``slates`` (n, K) of distinct candidate slots ``0 .. C - 1``, as int64."""
    values = np.asarray(slates)
    if values.ndim != 2 or values.shape[0] != n_requests:
        raise ValueError(f"slates must be (n_requests={n_requests}, K), got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"slates must hold integer candidate slots, got dtype {values.dtype}")
    values = values.astype(np.int64)
    if values.size and (values.min() < 0 or values.max() >= n_candidates):
        raise ValueError(f"slates hold a slot outside 0..{n_candidates - 1}")
    ordered = np.sort(values, axis=1)
    repeated = np.flatnonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))
    if repeated.size:
        raise ValueError(f"slate {int(repeated[0])} repeats a candidate; a slate holds distinct candidates")
    return values


def log_softmax_left(logits: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """``l_a - log sum_{b not taken} exp(l_b)`` over the last axis, ``-inf`` where ``taken``."""
    masked = np.where(taken, -np.inf, logits)
    top = masked.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return masked - (top + np.log(np.exp(masked - top).sum(axis=-1, keepdims=True)))


def log_conditional_probabilities(logits: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """``log pi(a at k | a_1 .. a_{k-1})``: (n, K, C), ``-inf`` for the candidates already placed."""
    slates = np.asarray(slates, dtype=np.int64)
    logits = check_logits(logits, slates.shape[1])
    slates = check_slates(slates, logits.shape[0], logits.shape[1])
    shown = slates[:, :, None] == np.arange(logits.shape[1])[None, None, :]  # (n, K, C)
    placed_before = (np.cumsum(shown, axis=1) - shown) > 0
    return log_softmax_left(logits[:, None, :], placed_before)


def conditional_probabilities(logits: np.ndarray, slates: np.ndarray) -> np.ndarray:
    r"""``pi(a at k | x, a_1 .. a_{k-1})`` of a Plackett-Luce policy with ``logits`` (n, C) given the
    first ``k`` positions of ``slates`` (n, K): (n, K, C), 0 for the candidates already placed.

    .. math:: \pi(a \mid a_{<k}) = \frac{e^{l_a}}{\sum_{b \notin a_{<k}} e^{l_b}}

    (Plackett 1975), by log-sum-exp over the candidates left.
    """
    return np.exp(log_conditional_probabilities(logits, slates))


def prefix_probabilities(logits: np.ndarray, slates: np.ndarray) -> np.ndarray:
    r"""``pi(a_1 .. a_k | x)``, the probability that a Plackett-Luce policy with ``logits`` (n, C)
    fills the first ``k`` positions with the first ``k`` entries of ``slates`` (n, K): (n, K).

    .. math:: \pi(a_1, \dots, a_k) = \prod_{j \le k} \frac{e^{l_{a_j}}}{\sum_{b \notin a_{<j}} e^{l_b}}

    (Plackett 1975), the product taken as a sum of logs.
    """
    slates = np.asarray(slates, dtype=np.int64)
    log_conditional = log_conditional_probabilities(logits, slates)
    log_pick = np.take_along_axis(log_conditional, slates[:, :, None], axis=2)[:, :, 0]  # (n, K)
    return np.exp(np.cumsum(log_pick, axis=1))


def logit_position_marginals(logits: np.ndarray, slate_size: int, max_block: int = 1 << 22) -> np.ndarray:
    """Exact marginals ``M[r, a, k] = P(candidate a at position k)`` of the Plackett-Luce policy
    with ``logits`` (n, C): (n, C, K).

    The subset recursion of :func:`position_marginals` with each step's choice probabilities
    taken by log-sum-exp over the candidates left, so that a policy whose weights underflow
    (a greedy one, ``logits = scores / 1e-9``) still places its second, third ... choice, where
    :func:`position_marginals` of ``exp(logits)`` loses them. ``max_block`` bounds the floats one
    step holds (rows are taken in chunks).
    """
    logits = check_logits(logits, slate_size)
    n, c = logits.shape
    if c > 16:
        raise ValueError(f"exact marginals need at most 16 candidates, got {c}")
    masks = np.arange(1 << c)
    membership = ((masks[:, None] >> np.arange(c)[None, :]) & 1).astype(bool)  # (2^C, C)
    sizes = membership.sum(axis=1)
    widest = max(int(np.sum(sizes == k)) for k in range(slate_size))
    chunk = max(1, max_block // (widest * c))
    marginals = np.zeros((n, c, slate_size))
    for start in range(0, n, chunk):
        rows = logits[start:start + chunk]
        prefix = np.zeros((len(rows), 1 << c))  # P(first |S| positions hold the set S)
        prefix[:, 0] = 1.0
        for k in range(slate_size):
            masks_k = np.flatnonzero(sizes == k)
            conditional = np.exp(log_softmax_left(rows[:, None, :], membership[masks_k][None]))  # (n, m_k, C)
            pick = prefix[:, masks_k, None] * conditional
            marginals[start:start + chunk, :, k] = pick.sum(axis=1)
            if k + 1 < slate_size:
                for j in range(c):
                    free = ~membership[masks_k, j]
                    # mask -> mask | 2^j is one-to-one on the masks without j: no index repeats
                    prefix[:, masks_k[free] | (1 << j)] += pick[:, free, j]
    return marginals


def sample_logit_slates(logits: np.ndarray, slate_size: int, rng: np.random.Generator) -> np.ndarray:
    """Plackett-Luce slates of a policy given by ``logits`` (..., C) with the Gumbel-top-k trick
    on ``l_a + G_a`` (Yellott 1977): (..., K) candidate slots, one per row of the leading axes.
    Works in log space, so weights that would underflow keep their order (:func:`sample_slates`
    takes weights)."""
    logits = np.asarray(logits, dtype=np.float64)
    keys = logits + rng.gumbel(size=logits.shape)
    return np.argsort(-keys, axis=-1, kind="stable")[..., :slate_size]
