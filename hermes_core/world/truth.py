r"""The world's truth for any user, history, context and ranking: contextual affinity, relevance, clicks.

The simulator (:mod:`hermes_core.world.simulate`) only records the truth of the slates the logging
policy chose. These functions answer for *any* items and *any* ranking, with the same formulas, so
that a retrieval, ranking or reranking method can be scored on slates nobody logged.

Contextual affinity of user ``u`` for item ``i`` after the session history ``h = (h_1, ..., h_n)``
(item indices in the order consumed, most recent last) in the session context ``x``:

.. math::

    s(u, i \mid h, x) = s(u, i \mid x) + b(h, i)

with ``s(u, i | x)`` from :mod:`hermes_core.world.preferences` and the history term, with decay
weights ``w_j = lambda^{n - j}`` (``lambda = world.history_decay``; the last click weighs 1) and
``W = sum_j w_j``:

.. math::

    b(h, i) = \kappa \frac{\cos(\bar x_h, x_i) - \overline{\cos}(\bar x_h)}{\sigma}
        + \kappa \sum_j \frac{w_j}{W} 1[c(h_j) = c(i)]
        + \kappa_s \sum_j w_j 1[\mathrm{next}(h_j) = i]
        + \kappa_g T[g(h_n), g(i)]

* the session's **intent** ``x̄_h = sum_j w_j x_{h_j} / W``, a point in content space that drifts
  with every click (``x``: unit content vectors); its cosine with the item is centred on its mean
  over the whole catalogue and scaled by ``sigma``, the cosine's deviation over random item pairs;
* the decayed share of the history made by the item's creator;
* the **series** term: the next part of a series after a clicked part
  (:mod:`hermes_core.world.dynamics`), ``kappa_s = world.series_strength``;
* the **genre transition** from the last click, ``kappa_g = world.genre_transition_strength``;

``kappa = world.sequential_strength``; ``b = 0`` for an empty history. Every earlier click acts
through the intent, the creator share and the series; only the genre transition is first-order.

Graded relevance cuts the contextual affinity at the world's fixed thresholds
(:func:`~hermes_core.world.preferences.grade`), as the simulator grades the logged candidates.

Clicks follow the position-based model (Craswell et al. 2008, "An experimental comparison of click
position-bias models", WSDM; Chuklin et al. 2015, *Click Models for Web Search*, section 3.2) with
a continuous attractiveness and similarity fatigue: the item at position ``k`` (0 = top) is
clicked independently of the others with probability

.. math:: P(C_k = 1) = \theta_k\, \mathrm{attr}(\tilde g_k)\, f_k, \qquad \theta_k = (k + 1)^{-\eta}, \qquad
          \mathrm{attr}(g) = f + (c - f)\,\frac{2^g - 1}{15}

(``eta = world.examination_decay``, ``f``/``c`` = ``world.click_floor``/``world.click_ceiling``,
``g~_k`` the continuous grade of the item's affinity, :func:`continuous_grade`, and ``f_k`` the
similarity fatigue, :func:`~hermes_core.world.preferences.fatigue_factors`), so the expected number
of clicks on a ranking is ``sum_k theta_k attr(g~_k) f_k``: two rankings of the same grades still
differ when one puts the better items first or repeats near copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hermes_core.world.dynamics import NO_SUCCESSOR, global_genre
from hermes_core.world.preferences import (
    SessionContext,
    TasteModel,
    affinity_matrix,
    attractiveness,
    content_vectors,
    examination,
    fatigue_factors,
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


def continuous_grade(model: TasteModel, affinity: np.ndarray) -> np.ndarray:
    """The grade as a continuous number in ``[0, 4]``: ``k - 1/2`` at the threshold between grades
    ``k - 1`` and ``k``, linear between thresholds; below the lowest threshold linear over one
    band's width down to 0, above the highest linear up to 4 at ``scales.top_affinity`` (the
    99.95th percentile of static affinity), so it rounds to the graded relevance in the inner
    bands and orders items of the same grade, the top one included, by their affinity."""
    t = np.asarray(model.scales.thresholds, dtype=float)
    knots = np.r_[t[0] - (t[1] - t[0]), t, max(model.scales.top_affinity, t[-1] + 1e-6)]
    values = np.array([0.0, 0.5, 1.5, 2.5, 3.5, 4.0])
    return np.interp(np.asarray(affinity, dtype=float), knots, values)


def decay_weights(model: TasteModel, histories: np.ndarray) -> np.ndarray:
    """``w_j = lambda^{n - j}`` on the filled places of right-aligned histories, 0 on padding: (n, L)."""
    length = histories.shape[1]
    weights = model.params.history_decay ** np.arange(length - 1, -1, -1, dtype=float)
    return np.where(histories != NO_ITEM, weights[None, :], 0.0)


def history_term(model: TasteModel, histories: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """The history's part ``b(h, i)`` of the contextual affinity (module docstring): (n, m).

    ``histories``: (n, L) right-aligned item indices (:func:`pad_histories`, :data:`NO_ITEM` where a
    history is shorter); ``item_idx``: (m,). A row without any item gets 0.
    """
    parts = history_parts(model, histories, item_idx)
    return parts["intent"] + parts["creator"] + parts["series"] + parts["genre"]


def history_parts(model: TasteModel, histories: np.ndarray, item_idx: np.ndarray) -> dict[str, np.ndarray]:
    """The four terms of :func:`history_term` (``intent``, ``creator``, ``series``, ``genre``), each (n, m)."""
    histories = np.asarray(histories, dtype=np.int64)
    if histories.ndim != 2:
        raise ValueError(f"histories must be (n, L), got shape {histories.shape}")
    items = np.asarray(item_idx, dtype=np.int64).reshape(-1)
    p, s, cat, dyn = model.params, model.scales, model.catalogue, model.dynamics
    n = len(histories)
    if histories.shape[1] == 0:
        histories = np.full((n, 1), NO_ITEM, dtype=np.int64)
    weights = decay_weights(model, histories)  # (n, L)
    total = weights.sum(axis=1)
    has = total > 0
    safe = np.where(histories == NO_ITEM, 0, histories)
    content = content_vectors(cat)
    intent = np.einsum("nl,nld->nd", weights, content[safe])
    norm = np.linalg.norm(intent, axis=1, keepdims=True)
    intent = np.divide(intent, norm, out=np.zeros_like(intent), where=norm > 0)
    cos_all = intent @ content.T  # (n, n_items): centred on the catalogue's mean for each row
    cos = cos_all[:, items] - cos_all.mean(axis=1, keepdims=True)
    intent_term = p.sequential_strength * cos / s.context_cos_std
    share = np.divide(weights, total[:, None], out=np.zeros_like(weights), where=has[:, None])
    n_creators = int(cat.creator.max()) + 1
    creator_share = np.zeros((n, n_creators))
    np.add.at(creator_share, (np.repeat(np.arange(n), histories.shape[1]), cat.creator[safe].reshape(-1)),
              share.reshape(-1))
    creator_term = p.sequential_strength * creator_share[:, cat.creator[items]]
    successor = dyn.successor[safe]  # (n, L)
    next_weight = np.zeros((n, len(cat.domain)))
    valid = (successor != NO_SUCCESSOR) & (weights > 0)
    rows = np.repeat(np.arange(n), histories.shape[1]).reshape(n, -1)
    np.add.at(next_weight, (rows[valid], successor[valid]), weights[valid])
    series_term = p.series_strength * next_weight[:, items]
    last = histories[:, -1]
    genres = global_genre(cat)
    genre_term = np.where(has[:, None], p.genre_transition_strength
                          * dyn.genre_transition[genres[np.where(last == NO_ITEM, 0, last)]][:, genres[items]], 0.0)
    return {"intent": np.where(has[:, None], intent_term, 0.0), "creator": creator_term,
            "series": series_term, "genre": genre_term}


def contextual_affinity_matrix(model: TasteModel, user_idx: np.ndarray, histories: np.ndarray,
                               item_idx: np.ndarray, context: SessionContext | None = None) -> np.ndarray:
    """``s(u_r, i | h_r, x_r)`` for each row ``r`` (a user, its right-aligned history and context) and item: (n, m)."""
    static = affinity_matrix(model, np.asarray(user_idx), np.asarray(item_idx), context)
    return static + history_term(model, histories, item_idx)


def contextual_affinity(model: TasteModel, user: int, history: Sequence[int] | np.ndarray | None,
                        item_idx: np.ndarray, context: SessionContext | None = None) -> np.ndarray:
    """``s(u, i | h, x)`` of one user for each item of ``item_idx`` (m,); equals the static affinity
    exactly when the history is empty and the context neutral (both terms are then 0.0)."""
    items = check_items(item_idx, model.n_items, "items")
    histories = pad_histories([[] if history is None else history], model.n_items)
    return contextual_affinity_matrix(model, np.array([int(user)]), histories, items, context)[0]


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


def slate_click_probabilities(model: TasteModel, affinity: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """``P(C_k = 1) = theta_k attr(g~_k) f_k`` of slates (n, K) of items, top first, whose items have
    the contextual affinities ``affinity`` (n, K): the click model of the module docstring, the one
    formula the simulator, the truth API and the signals use."""
    slates = np.asarray(slates, dtype=np.int64)
    theta = examination(model.params, np.arange(slates.shape[1]))
    fatigue = fatigue_factors(model.params, model.scales, content_vectors(model.catalogue), slates)
    return theta[None, :] * attractiveness(model.params, continuous_grade(model, affinity)) * fatigue


def position_click_probabilities(model: TasteModel, user: int, ranking: np.ndarray | Sequence[int],
                                 history: Sequence[int] | np.ndarray | None = None,
                                 context: SessionContext | None = None) -> np.ndarray:
    """``P(C_k = 1) = theta_k attr(g~_k) f_k`` at every position of ``ranking`` ((K,) or (n, K), top
    first), with ``g~_k`` the continuous grade given ``history`` and ``context`` and ``f_k`` the
    similarity fatigue (:func:`slate_click_probabilities`); same shape as ``ranking``."""
    items = check_ranking(ranking, model.n_items)
    rows = items.reshape(-1, items.shape[-1])
    affinity = contextual_affinity(model, user, history, rows.reshape(-1), context).reshape(rows.shape)
    return slate_click_probabilities(model, affinity, rows).reshape(items.shape)


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
