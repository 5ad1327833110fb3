r"""The world's truth for any user, history and ranking: contextual affinity, graded relevance, clicks.

The simulator (:mod:`hermes_core.world.simulate`) only records the truth of the slates the logging
policy chose. These functions answer for *any* items and *any* ranking, with the same formulas, so
that a retrieval, ranking or reranking method can be scored on slates nobody logged.

Contextual affinity of user ``u`` for item ``i`` after the history ``h = (h_1, ..., h_n)`` (item
indices in the order consumed, most recent last):

.. math::

    s(u, i \mid h) = s(u, i) + b(h, i), \qquad
    b(h, i) = \kappa \Big(\frac{\cos(x_{h_n}, x_i) - \mu}{\sigma} + 1[\mathrm{creator}(h_n) = \mathrm{creator}(i)]\Big)

with ``s(u, i)`` the static affinity (:mod:`hermes_core.world.preferences`), ``x`` the unit content
vectors, ``mu`` and ``sigma`` the mean and deviation of the cosine over random item pairs and
``kappa = world.sequential_strength``; ``b = 0`` for an empty history. **Today only the last item
``h_n`` acts**: the earlier ones change nothing (a first-order Markov world; issue 9 adds a decayed
term over the whole history, which changes :func:`history_term` only).

Graded relevance cuts the contextual affinity at the world's fixed thresholds
(:func:`~hermes_core.world.preferences.grade`), as the simulator grades the logged candidates.

Clicks follow the position-based model (Craswell et al. 2008, "An experimental comparison of click
position-bias models", WSDM; Chuklin et al. 2015, *Click Models for Web Search*, section 3.2): the
item at position ``k`` (0 = top) is clicked independently of the others with probability

.. math:: P(C_k = 1) = \theta_k\, \mathrm{attr}(g_k), \qquad \theta_k = (k + 1)^{-\eta}, \qquad
          \mathrm{attr}(g) = f + (c - f)\,\frac{2^g - 1}{15}

(``eta = world.examination_decay``, ``f``/``c`` = ``world.click_floor``/``world.click_ceiling``,
``g_k`` the contextual grade of the item at position ``k``), so the expected number of clicks on a
ranking is ``sum_k theta_k attr(g_k)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hermes_core.world.catalogue import Catalogue
from hermes_core.world.params import WorldParams
from hermes_core.world.population import Users
from hermes_core.world.preferences import (
    PreferenceScales,
    affinity_matrix,
    attractiveness,
    content_vectors,
    context_bonus_matrix,
    examination,
    grade,
)

NO_ITEM = -1
"""Padding value of :func:`pad_histories`: no item at this place of the history."""


def check_items(values: np.ndarray, n_items: int, name: str) -> np.ndarray:
    """``values`` as int64 item indices, refusing any outside ``0 .. n_items - 1`` (naming ``name``)."""
    items = np.asarray(values)
    if items.size and not np.issubdtype(items.dtype, np.integer):
        raise TypeError(f"{name} must hold integer item indices, got dtype {items.dtype}")
    items = items.astype(np.int64)
    bad = items[(items < 0) | (items >= n_items)]
    if bad.size:
        raise ValueError(f"{name} holds item index {int(bad[0])}, outside 0..{n_items - 1}")
    return items


def pad_histories(histories: Sequence[Sequence[int] | np.ndarray], n_items: int) -> np.ndarray:
    """Histories of different lengths as one (n, L) array, right-aligned: the most recent item of
    each history is in the last column and missing places on the left hold :data:`NO_ITEM`."""
    checked = [check_items(np.asarray(h).reshape(-1), n_items, "history") for h in histories]
    length = max((len(h) for h in checked), default=0)
    padded = np.full((len(checked), max(length, 1)), NO_ITEM, dtype=np.int64)
    for row, items in enumerate(checked):
        if len(items):
            padded[row, -len(items):] = items
    return padded


def history_term(params: WorldParams, scales: PreferenceScales, catalogue: Catalogue,
                 histories: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """The history's part ``b(h, i)`` of the contextual affinity: (n, m).

    ``histories``: (n, L) right-aligned item indices (:func:`pad_histories`, :data:`NO_ITEM` where
    a history is shorter); ``item_idx``: (m,). Today only the last column (the most recent item)
    acts, through :func:`~hermes_core.world.preferences.context_bonus_matrix`; a row without
    any item gets 0.
    """
    histories = np.asarray(histories, dtype=np.int64)
    if histories.ndim != 2:
        raise ValueError(f"histories must be (n, L), got shape {histories.shape}")
    last = histories[:, -1] if histories.shape[1] else np.full(len(histories), NO_ITEM, dtype=np.int64)
    return context_bonus_matrix(params, scales, catalogue, content_vectors(catalogue), last, np.asarray(item_idx))


def contextual_affinity_matrix(params: WorldParams, scales: PreferenceScales, users: Users, catalogue: Catalogue,
                               user_idx: np.ndarray, histories: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """``s(u_r, i | h_r)`` for each row ``r`` (a user and its right-aligned history) and item: (n, m)."""
    static = affinity_matrix(scales, users, catalogue, np.asarray(user_idx), np.asarray(item_idx))
    return static + history_term(params, scales, catalogue, histories, item_idx)


def contextual_affinity(params: WorldParams, scales: PreferenceScales, users: Users, catalogue: Catalogue,
                        user: int, history: Sequence[int] | np.ndarray | None, item_idx: np.ndarray) -> np.ndarray:
    """``s(u, i | h)`` of one user for each item of ``item_idx`` (m,); equals the static affinity
    exactly when the history is empty (the history term is then 0.0)."""
    n_items = len(catalogue.domain)
    items = check_items(item_idx, n_items, "items")
    histories = pad_histories([[] if history is None else history], n_items)
    return contextual_affinity_matrix(params, scales, users, catalogue, np.array([int(user)]), histories, items)[0]


def check_ranking(ranking: np.ndarray | Sequence[int], n_items: int) -> np.ndarray:
    """A ranking (K,) or several (n, K) of distinct item indices, top first."""
    items = check_items(ranking, n_items, "ranking")
    if items.ndim not in (1, 2) or items.shape[-1] == 0:
        raise ValueError(f"ranking must be (K,) or (n, K) with K >= 1, got shape {items.shape}")
    rows = np.sort(items.reshape(-1, items.shape[-1]), axis=1)
    repeated = np.flatnonzero(np.any(rows[:, 1:] == rows[:, :-1], axis=1))
    if repeated.size:
        raise ValueError(f"ranking {int(repeated[0])} repeats an item; a ranking holds distinct items")
    return items


def position_click_probabilities(params: WorldParams, scales: PreferenceScales, users: Users, catalogue: Catalogue,
                                 user: int, ranking: np.ndarray | Sequence[int],
                                 history: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """``P(C_k = 1) = theta_k attr(g_k)`` at every position of ``ranking`` ((K,) or (n, K), top
    first), with ``g_k`` the contextual grade given ``history``; same shape as ``ranking``."""
    items = check_ranking(ranking, len(catalogue.domain))
    flat = items.reshape(-1)
    grades = grade(scales, contextual_affinity(params, scales, users, catalogue, user, history, flat)).reshape(items.shape)
    theta = examination(params, np.arange(items.shape[-1]))
    return theta * attractiveness(params, grades)


def simulate_clicks(click_probabilities: np.ndarray, rng: np.random.Generator | int, n: int = 1) -> np.ndarray:
    """``n`` independent Bernoulli draws of every position: (n, *click_probabilities.shape), bool.

    ``rng``: a generator or a seed, always the caller's (never one of the world's own streams, so
    a simulation changes no draw of the world).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if rng is None or isinstance(rng, bool):
        raise TypeError("rng must be a numpy Generator or an integer seed (an unseeded draw is not reproducible)")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(int(rng))
    p = np.asarray(click_probabilities, dtype=float)
    return generator.random((n, *p.shape)) < p
