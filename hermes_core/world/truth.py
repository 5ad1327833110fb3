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

Clicks follow one of two click models (``world.click_model``), both with a continuous
attractiveness and similarity fatigue. A user still *active* (reading the slate) at position ``k``
(0 = top) clicks the item there with probability

.. math:: p_k = \theta_k\, \mathrm{attr}(\tilde g_k)\, f_k, \qquad \theta_k = (k + 1)^{-\eta}, \qquad
          \mathrm{attr}(g) = f + (c - f)\,\frac{2^g - 1}{15}

(``eta = world.examination_decay``, ``f``/``c`` = ``world.click_floor``/``world.click_ceiling``,
``g~_k`` the continuous grade of the item's affinity, :func:`continuous_grade`, and ``f_k`` the
similarity fatigue, :func:`~hermes_core.world.preferences.fatigue_factors`).

* ``position-based`` (Craswell et al. 2008, "An experimental comparison of click position-bias
  models", WSDM; Chuklin et al. 2015, *Click Models for Web Search*, section 3.2): the user stays
  active to the end, so every position is clicked independently, ``P(C_k = 1) = p_k``;
* ``cascade``: after a click the user stops reading with probability ``s``
  (``world.cascade_stop_probability``), as in the cascade model of Craswell et al. (2008), where
  she always stops, and the dependent click model of Guo et al. (2009, "Efficient multiple-click
  models in web search", WSDM), where she goes on with a position-dependent probability. Then
  ``P(A_0) = 1``, ``P(A_{k+1}) = P(A_k)(1 - s p_k)`` and

  .. math:: P(C_k = 1) = p_k \prod_{j<k} (1 - s\, p_j),

  which is the position-based model at ``s = 0``. Here ``s`` is the same at every position (DCM's
  ``1 - lambda_k``) and ``theta_k`` stays, so a reading user may pass an item by. A click's
  probability now depends on the items above it, not on the item and its position alone (the
  position-wise estimators' assumption).

The expected number of clicks on a ranking is ``sum_k P(C_k = 1)``: two rankings of the same grades
still differ when one puts the better items first or repeats near copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hermes_core.world.dynamics import NO_SUCCESSOR, global_genre
from hermes_core.world.params import WorldParams
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


CLICK_MODELS: tuple[str, ...] = ("position-based", "cascade")
"""The values of ``world.click_model`` (module docstring)."""


def stop_probability(params: WorldParams) -> float | None:
    """The probability ``s`` of stopping after a click under ``params``' click model; None for the
    position-based model (nobody stops, and the simulator draws no stop decisions)."""
    if params.click_model not in CLICK_MODELS:
        raise ValueError(f"world.click_model must be one of {CLICK_MODELS}, got {params.click_model!r}")
    return params.cascade_stop_probability if params.click_model == "cascade" else None


def cascade_click_probabilities(active_click_probabilities: np.ndarray, stop: float) -> np.ndarray:
    r"""Click marginals of the cascade model from the click probabilities of an active user (..., K):

    .. math:: P(C_k = 1) = p_k \prod_{j<k} (1 - s\, p_j)

    (Craswell et al. 2008; Guo et al. 2009), top position first on the last axis; ``s = 0`` returns ``p``.
    """
    if not 0.0 <= stop <= 1.0:
        raise ValueError(f"stop probability must lie in [0, 1], got {stop}")
    p = np.asarray(active_click_probabilities, dtype=float)
    still_active = np.cumprod(1.0 - stop * p, axis=-1)
    reach = np.concatenate([np.ones_like(p[..., :1]), still_active[..., :-1]], axis=-1)  # P(A_k)
    return p * reach


def click_marginals(params: WorldParams, active_click_probabilities: np.ndarray) -> np.ndarray:
    """``P(C_k = 1)`` under ``params``' click model from ``p_k``, the click probabilities of an active
    user (..., K): ``p`` itself (position-based) or :func:`cascade_click_probabilities`."""
    stop = stop_probability(params)
    p = np.asarray(active_click_probabilities, dtype=float)
    return p if stop is None else cascade_click_probabilities(p, stop)


def active_click_probabilities(model: TasteModel, affinity: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """``p_k = theta_k attr(g~_k) f_k``, the click probability of a user still reading at position
    ``k``, of slates (n, K) of items, top first, whose items have the contextual affinities
    ``affinity`` (n, K): the one formula the simulator, the truth API and the signals use."""
    slates = np.asarray(slates, dtype=np.int64)
    theta = examination(model.params, np.arange(slates.shape[1]))
    fatigue = fatigue_factors(model.params, model.scales, content_vectors(model.catalogue), slates)
    return theta[None, :] * attractiveness(model.params, continuous_grade(model, affinity)) * fatigue


def slate_click_probabilities(model: TasteModel, affinity: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """``P(C_k = 1)`` of slates (n, K) of items, top first, whose items have the contextual affinities
    ``affinity`` (n, K), under the world's click model (module docstring): the marginals of
    :func:`active_click_probabilities` (:func:`click_marginals`)."""
    return click_marginals(model.params, active_click_probabilities(model, affinity, slates))


def ranking_active_click_probabilities(model: TasteModel, user: int, ranking: np.ndarray | Sequence[int],
                                       history: Sequence[int] | np.ndarray | None = None,
                                       context: SessionContext | None = None) -> np.ndarray:
    """``p_k = theta_k attr(g~_k) f_k`` at every position of ``ranking`` ((K,) or (n, K), top first),
    with ``g~_k`` the continuous grade given ``history`` and ``context`` and ``f_k`` the similarity
    fatigue (:func:`active_click_probabilities`); same shape as ``ranking``."""
    items = check_ranking(ranking, model.n_items)
    rows = items.reshape(-1, items.shape[-1])
    affinity = contextual_affinity(model, user, history, rows.reshape(-1), context).reshape(rows.shape)
    return active_click_probabilities(model, affinity, rows).reshape(items.shape)


def position_click_probabilities(model: TasteModel, user: int, ranking: np.ndarray | Sequence[int],
                                 history: Sequence[int] | np.ndarray | None = None,
                                 context: SessionContext | None = None) -> np.ndarray:
    """``P(C_k = 1)`` at every position of ``ranking`` ((K,) or (n, K), top first) under the world's
    click model: the marginals (:func:`click_marginals`) of :func:`ranking_active_click_probabilities`;
    same shape as ``ranking``."""
    return click_marginals(model.params, ranking_active_click_probabilities(model, user, ranking, history, context))


def draw_clicks(active_click_probabilities: np.ndarray, rng: np.random.Generator,
                stop: float | None = None) -> np.ndarray:
    """One click draw of every slate (..., K), top position first on the last axis: bool, same shape.

    ``stop`` None (position-based): independent Bernoulli draws ``U_k < p_k``, one uniform per
    position. A float ``s`` (cascade): the same click uniforms, then one stop uniform per position,
    ``V_k``; the user reads top down, clicks at ``k`` when still active and ``U_k < p_k``, and stops
    after a click when ``V_k < s``. With ``s = 0`` the clicks equal the position-based ones of the
    same generator (only the generator's later state differs).
    """
    p = np.asarray(active_click_probabilities, dtype=float)
    uniforms = rng.random(p.shape)
    if stop is None:
        return uniforms < p
    if not 0.0 <= stop <= 1.0:
        raise ValueError(f"stop probability must lie in [0, 1], got {stop}")
    stops = rng.random(p.shape) < stop
    clicks = np.zeros(p.shape, dtype=bool)
    active = np.ones(p.shape[:-1], dtype=bool)
    for k in range(p.shape[-1]):
        clicks[..., k] = active & (uniforms[..., k] < p[..., k])
        active &= ~(clicks[..., k] & stops[..., k])
    return clicks


def simulate_clicks(click_probabilities: np.ndarray, rng: np.random.Generator | int, n: int = 1,
                    stop: float | None = None) -> np.ndarray:
    """``n`` independent click draws of every ranking: (n, *click_probabilities.shape), bool.

    ``click_probabilities``: ``p_k``, the click probability of a user still reading at each position
    (last axis, top first); ``stop``: None for the position-based model (independent Bernoulli
    draws of every position), the cascade's stop probability otherwise (:func:`draw_clicks`).
    ``rng``: a generator or a seed, always the caller's (never one of the world's own streams, so
    a simulation changes no draw of the world).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if rng is None or isinstance(rng, bool):
        raise TypeError("rng must be a numpy Generator or an integer seed (an unseeded draw is not reproducible)")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(int(rng))
    p = np.asarray(click_probabilities, dtype=float)
    return draw_clicks(np.broadcast_to(p, (n, *p.shape)), generator, stop)
