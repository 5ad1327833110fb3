r"""The world's true preference model: affinity, graded relevance, clicks, conversions.

Affinity of user ``u`` for item ``i`` of domain ``d`` in a session context ``x`` (each component
standardised on a sample of pairs so that the weights are comparable):

.. math::

    s(u, i \mid x) = 1.4\,[m_{u d x}\, \tilde v_{ui} + (1 - m_{u d x})\, \tilde t_{ui}(x)]
        + 0.8\, \tilde h_{ui} + 0.8 \log(4 \max(a_{u d}, 0.02)) + w_c\, \tilde e_{u, c(i)}
        + 0.5\, \widetilde{\log pop_i}\, 1[\text{popularity in relevance}] + \chi(x, d)

with

* ``v_ui = p^vis_u . visual_i``, ``h_ui = p^hid_u . hidden_i`` and the drifting text taste
  ``t_ui(x) = (p^txt_u + (day_x / T - 1) delta_u) . text_i`` (``delta_u``: the user's drift over the
  logging window of ``T`` days; ``day_x`` defaults to ``T``, the training cut-off);
* the modality weight ``m_{udx} = sigmoid(logit m_u + s_m M_d + iota_x)``: the user's own
  weight of looks, shifted by the domain (:data:`DOMAIN_MODALITY`, ``s_m = world.domain_modality_shift``:
  products and movies are chosen by their looks more than news) and by the session's modality
  intent ``iota_x`` (``+world.modality_intent_strength`` in a session about looks, minus that in one
  about content, 0 otherwise);
* the creator taste ``e_{uc} = q_u . z~_c`` with the carried creator factor
  ``z~_c = z_c + rho * mean_{c' in N(c)} z_{c'}`` (``rho = world.collaborator_taste_carry``, ``N(c)``
  the creator's collaborators): a user who likes a creator tends to like its collaborators;
  ``w_c = world.creator_taste_weight``;
* the context term ``chi(x, d) = s_chi H[b(hour_x), d]`` (:data:`HOUR_DOMAIN`, ``s_chi = world.context_strength``,
  0 without an hour).

The *static* affinity ``s(u, i)`` is the neutral context: no intent, no hour, the cut-off day.
The history's term (:func:`hermes_core.world.truth.history_term`) is added on top of it.

Graded relevance ``rel in {0..4}`` cuts affinity at quantiles of the static affinity fixed once
per world, so that grades occur with the shares ``relevance_shares``. Clicks follow a
position-based or cascade model with similarity fatigue (:mod:`hermes_core.world.truth`).
A click converts with probability ``sigmoid(b0 + b_rel * rel + b_price * z(log price) 1[product])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.catalogue import Catalogue, Creators
from hermes_core.world.dynamics import Dynamics
from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.population import Users

CONTENT_WEIGHT = 1.4
HIDDEN_WEIGHT = 0.8
DOMAIN_WEIGHT = 0.8
POPULARITY_WEIGHT = 0.5
DOMAIN_AFFINITY_FLOOR = 0.02

DOMAIN_MODALITY: dict[str, float] = {"movie": 0.5, "music": -0.5, "product": 1.0, "news": -1.0}
"""Shift of the modality weight's logit by domain (times ``world.domain_modality_shift``)."""

HOUR_BUCKETS: tuple[str, ...] = ("night", "morning", "afternoon", "evening")
"""Hours 0-5, 6-11, 12-17 and 18-23."""
HOUR_DOMAIN: dict[str, tuple[float, float, float, float]] = {
    # movie, music, product, news; every row and every column sums to 0
    "night": (0.0, 1.0, -0.5, -0.5),
    "morning": (-0.5, -0.5, 0.0, 1.0),
    "afternoon": (-0.5, 0.0, 1.0, -0.5),
    "evening": (1.0, -0.5, -0.5, 0.0),
}
"""Shift of each domain's affinity by the hour of the request (times ``world.context_strength``).
Rows and columns sum to 0, so over a uniform day no domain gains or loses on average: the static
truth (no hour) is the average over the day."""

NO_HOUR = -1
NEAR_DUPLICATE_QUANTILE = 0.99
"""The fatigue floor ``tau`` is this quantile of the content cosine over random item pairs."""
TOP_AFFINITY_QUANTILE = 0.9995
"""The continuous grade reaches 4 at this quantile of static affinity over random pairs."""


@dataclass(frozen=True)
class PreferenceScales:
    """Standard deviations of the raw components, the grade thresholds and the fatigue floor."""

    visual_std: float
    text_std: float
    hidden_std: float
    creator_std: float
    popularity_mean: float
    popularity_std: float
    log_price_mean: float
    log_price_std: float
    context_cos_mean: float  # reported with the deviation; the intent term centres on each history's own mean
    context_cos_std: float
    near_duplicate_cos: float
    thresholds: tuple[float, float, float, float]
    top_affinity: float


@dataclass(frozen=True)
class TasteModel:
    """Everything affinity depends on: the parameters, scales, users, items and order patterns."""

    params: WorldParams
    scales: PreferenceScales
    users: Users
    catalogue: Catalogue
    creator_taste: np.ndarray  # (n_creators, CREATOR_TASTE_DIM) carried creator factors z~_c
    dynamics: Dynamics

    @property
    def n_items(self) -> int:
        return len(self.catalogue.domain)


@dataclass(frozen=True)
class SessionContext:
    """What a session adds to a user's static taste, one value per row (a request or a session).

    ``modality_intent``: logit shift of the modality weight (0: none); ``hour``: hour of day 0..23
    (:data:`NO_HOUR`: unknown, no context term); ``day``: days since the world's start for the taste
    drift (NaN: the training cut-off, ``log_days``). ``None`` for a field means neutral on every row.
    """

    modality_intent: np.ndarray | None = None
    hour: np.ndarray | None = None
    day: np.ndarray | None = None

    @classmethod
    def single(cls, modality_intent: float = 0.0, hour: int | None = None, day: float | None = None) -> SessionContext:
        """One row: a scalar context for one user."""
        return cls(np.array([float(modality_intent)]), np.array([NO_HOUR if hour is None else int(hour)]),
                   np.array([np.nan if day is None else float(day)]))

    def rows(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(intent, hour, day)`` as arrays of length ``n`` (neutral values where a field is None)."""
        intent = np.zeros(n) if self.modality_intent is None else np.broadcast_to(
            np.asarray(self.modality_intent, dtype=float), (n,))
        hour = np.full(n, NO_HOUR) if self.hour is None else np.broadcast_to(np.asarray(self.hour, dtype=np.int64), (n,))
        day = np.full(n, np.nan) if self.day is None else np.broadcast_to(np.asarray(self.day, dtype=float), (n,))
        bad = (hour != NO_HOUR) & ((hour < 0) | (hour > 23))
        if np.any(bad):
            raise ValueError(f"hour must be in 0..23 or {NO_HOUR} (unknown), got {hour[bad][0]}")
        return intent, hour, day


def hour_bucket(hour: np.ndarray) -> np.ndarray:
    """Index into :data:`HOUR_BUCKETS` of each hour 0..23."""
    return np.asarray(hour, dtype=np.int64) // 6


def content_vectors(catalogue: Catalogue) -> np.ndarray:
    """Unit-norm concatenation of visual and textual latents (for history similarity and fatigue)."""
    content = np.hstack([catalogue.visual_latent, catalogue.text_latent])
    return content / np.linalg.norm(content, axis=1, keepdims=True)


def carried_creator_taste(creators: Creators, collaborations: np.ndarray, carry: float) -> np.ndarray:
    """``z~_c = z_c + rho * mean of z over c's collaborators`` (``z_c`` alone for a creator without any)."""
    latent = creators.taste_latent
    n = len(latent)
    partners = np.zeros((n, n))
    edges = np.asarray(collaborations, dtype=np.int64).reshape(-1, 2)
    partners[edges[:, 0], edges[:, 1]] = 1.0
    partners[edges[:, 1], edges[:, 0]] = 1.0
    degree = partners.sum(axis=1, keepdims=True)
    mean = np.divide(partners @ latent, degree, out=np.zeros_like(latent), where=degree > 0)
    return latent + carry * mean


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(p) - np.log1p(-p)


def modality_weight(params: WorldParams, users: Users, catalogue: Catalogue, user_idx: np.ndarray,
                    item_idx: np.ndarray, intent: np.ndarray, pairs: bool = False) -> np.ndarray:
    """``m = sigmoid(logit m_u + s_m M_d + iota)`` for each row (user, intent) and item: (n, m);
    (n,) for aligned pairs when ``pairs``."""
    shift = params.domain_modality_shift * np.array([DOMAIN_MODALITY[d] for d in DOMAINS])
    user_logit = _logit(users.modality_affinity[user_idx]) + np.asarray(intent, dtype=float)
    item_shift = shift[catalogue.domain[item_idx]]
    logit = user_logit + item_shift if pairs else user_logit[:, None] + item_shift[None, :]
    return 1.0 / (1.0 + np.exp(-logit))


def raw_components(model: TasteModel, user_idx: np.ndarray, item_idx: np.ndarray,
                   context: SessionContext | None = None, pairs: bool = False) -> dict[str, np.ndarray]:
    """The unweighted pieces of affinity for every (row, item), each (n, m), or for aligned
    (user, item) pairs, each (n,), when ``pairs``.

    ``visual``, ``text`` (drifted), ``hidden``, ``creator`` are raw dot products; ``modality`` the
    weight ``m``; ``domain`` the user's domain taste ``a_{ud}``; ``log_pop``; ``context`` the hour term.
    """
    p, users, cat = model.params, model.users, model.catalogue
    u = np.asarray(user_idx, dtype=np.int64).reshape(-1)
    items = np.asarray(item_idx, dtype=np.int64).reshape(-1)
    if pairs and len(u) != len(items):
        raise ValueError(f"aligned pairs need as many users as items, got {len(u)} and {len(items)}")
    intent, hour, day = (context or SessionContext()).rows(len(u))
    drift = np.where(np.isnan(day), 0.0, day / p.log_days - 1.0)
    text_taste = users.text_preference[u] + drift[:, None] * users.text_drift[u]
    hour_table = p.context_strength * np.array([HOUR_DOMAIN[b] for b in HOUR_BUCKETS])
    has_hour = hour != NO_HOUR
    bucket = hour_bucket(np.where(has_hour, hour, 0))
    domain = cat.domain[items]

    def dot(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", left, right) if pairs else left @ right.T

    if pairs:
        context_term = np.where(has_hour, hour_table[bucket, domain], 0.0)
        domain_taste = users.domain_affinity[u, domain]
        log_pop = cat.log_popularity[items]
    else:
        context_term = np.where(has_hour[:, None], hour_table[bucket][:, domain], 0.0)
        domain_taste = users.domain_affinity[u][:, domain]
        log_pop = np.broadcast_to(cat.log_popularity[items][None, :], (len(u), len(items)))
    return {
        "visual": dot(users.visual_preference[u], cat.visual_latent[items]),
        "text": dot(text_taste, cat.text_latent[items]),
        "hidden": dot(users.hidden_preference[u], cat.hidden_latent[items]),
        "creator": dot(users.creator_preference[u], model.creator_taste[cat.creator[items]]),
        "modality": modality_weight(p, users, cat, u, items, intent, pairs),
        "domain": domain_taste,
        "log_pop": log_pop,
        "context": context_term,
    }


def weighted_components(model: TasteModel, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The additive parts of affinity (each shaped like ``raw``'s); they sum to the affinity."""
    s, p = model.scales, model.params
    m = raw["modality"]
    popularity = (POPULARITY_WEIGHT * (raw["log_pop"] - s.popularity_mean) / s.popularity_std
                  if p.popularity_in_relevance else np.zeros(np.shape(raw["log_pop"])))
    return {
        "visual": CONTENT_WEIGHT * m * raw["visual"] / s.visual_std,
        "text": CONTENT_WEIGHT * (1.0 - m) * raw["text"] / s.text_std,
        "hidden": HIDDEN_WEIGHT * raw["hidden"] / s.hidden_std,
        "domain": DOMAIN_WEIGHT * np.log(4.0 * np.maximum(raw["domain"], DOMAIN_AFFINITY_FLOOR)),
        "creator": p.creator_taste_weight * raw["creator"] / s.creator_std,
        "popularity": popularity,
        "context": raw["context"],
    }


def affinity_matrix(model: TasteModel, user_idx: np.ndarray, item_idx: np.ndarray | None = None,
                    context: SessionContext | None = None) -> np.ndarray:
    """Affinity without the history term for every (row of ``user_idx``, item): (n, m); the static
    affinity ``s(u, i)`` when ``context`` is None."""
    items = np.arange(model.n_items) if item_idx is None else np.asarray(item_idx)
    parts = weighted_components(model, raw_components(model, user_idx, items, context))
    return sum(parts.values())  # type: ignore[return-value]


def pair_affinity(model: TasteModel, user_idx: np.ndarray, item_idx: np.ndarray,
                  context: SessionContext | None = None) -> np.ndarray:
    """Affinity without the history term for aligned (user, item) index arrays of equal shape
    (static when ``context`` is None; a context has one row per pair)."""
    u = np.asarray(user_idx, dtype=np.int64)
    i = np.asarray(item_idx, dtype=np.int64)
    if u.shape != i.shape:
        raise ValueError(f"user_idx and item_idx must have the same shape, got {u.shape} and {i.shape}")
    parts = weighted_components(model, raw_components(model, u.reshape(-1), i.reshape(-1), context, pairs=True))
    return np.asarray(sum(parts.values())).reshape(u.shape)


def fit_scales(params: WorldParams, users: Users, catalogue: Catalogue, creator_taste: np.ndarray,
               dynamics: Dynamics, rng: np.random.Generator) -> PreferenceScales:
    """Standardise each component and fix the grade thresholds on 50,000 random pairs."""
    n_pairs = 50_000
    u = rng.integers(len(users.activity), size=n_pairs)
    i = rng.integers(len(catalogue.domain), size=n_pairs)
    visual = np.einsum("nd,nd->n", users.visual_preference[u], catalogue.visual_latent[i])
    text = np.einsum("nd,nd->n", users.text_preference[u], catalogue.text_latent[i])
    hidden = np.einsum("nd,nd->n", users.hidden_preference[u], catalogue.hidden_latent[i])
    creator = np.einsum("nd,nd->n", users.creator_preference[u], creator_taste[catalogue.creator[i]])
    log_price = np.log(catalogue.price)
    content = content_vectors(catalogue)
    # pairs of *different* items: an item paired with itself (cosine 1) would raise the fatigue floor
    other = (i + rng.integers(1, max(len(catalogue.domain), 2), size=n_pairs)) % len(catalogue.domain)
    cos = np.einsum("nd,nd->n", content[i], content[other])
    partial = PreferenceScales(
        visual_std=float(visual.std()),
        text_std=float(text.std()),
        hidden_std=float(hidden.std()),
        creator_std=float(creator.std() or 1.0),
        popularity_mean=float(catalogue.log_popularity.mean()),
        popularity_std=float(catalogue.log_popularity.std() or 1.0),
        log_price_mean=float(log_price.mean()),
        log_price_std=float(log_price.std() or 1.0),
        context_cos_mean=float(cos.mean()),
        context_cos_std=float(cos.std() or 1.0),
        near_duplicate_cos=float(np.quantile(cos, NEAR_DUPLICATE_QUANTILE)),
        thresholds=(0.0, 0.0, 0.0, 0.0),
        top_affinity=0.0,
    )
    model = TasteModel(params, partial, users, catalogue, creator_taste, dynamics)
    scores = pair_affinity(model, u, i)
    cumulative = np.cumsum(params.relevance_shares)[:4]
    ordered = np.sort(scores)
    cut = np.clip((cumulative * n_pairs).astype(int), 1, n_pairs - 1)
    # midway between neighbouring distinct samples, so no sampled pair sits exactly on a
    # threshold where the matrix and the pairwise computation could round to different grades
    above = np.minimum(np.searchsorted(ordered, ordered[cut - 1], side="right"), n_pairs - 1)
    thresholds = tuple(float(0.5 * (ordered[k - 1] + ordered[j])) for k, j in zip(cut, above))
    top = float(np.quantile(scores, TOP_AFFINITY_QUANTILE))
    return PreferenceScales(**{**partial.__dict__, "thresholds": thresholds, "top_affinity": max(top, thresholds[-1] + 1e-6)})


def grade(scales: PreferenceScales, affinity: np.ndarray) -> np.ndarray:
    """Graded relevance 0..4 from affinity."""
    return np.searchsorted(np.asarray(scales.thresholds), affinity, side="right").astype(np.int8)


def examination(params: WorldParams, position: np.ndarray) -> np.ndarray:
    """Position-based examination probability ``theta_k = (k + 1)^{-eta}`` (k from 0)."""
    return (np.asarray(position, dtype=float) + 1.0) ** (-params.examination_decay)


def attractiveness(params: WorldParams, relevance: np.ndarray) -> np.ndarray:
    """``attr(g) = floor + (ceiling - floor)(2^g - 1) / 15``."""
    gain = (2.0 ** np.asarray(relevance, dtype=float) - 1.0) / 15.0
    return params.click_floor + (params.click_ceiling - params.click_floor) * gain


def content_redundancy(scales: PreferenceScales, content: np.ndarray) -> np.ndarray:
    r"""How much each item of a row repeats each other one: (..., m, m) from unit content vectors (..., m, dim).

    .. math:: r(a, b) = \mathrm{clip}\Big(\frac{\cos(a, b) - \tau}{1 - \tau}, 0, 1\Big)

    with ``tau`` the near-duplicate cosine of :class:`PreferenceScales` (:func:`fatigue_factors`).
    """
    cos = np.einsum("...kd,...jd->...kj", content, content)
    tau = scales.near_duplicate_cos
    return np.clip((cos - tau) / max(1.0 - tau, 1e-9), 0.0, 1.0)


def fatigue_from_redundancy(phi: float, redundancy: np.ndarray) -> np.ndarray:
    """``f_k = 1 - phi max_{j<k} r(x_k, x_j)`` of every position from the slates' redundancy
    (..., K, K) (:func:`content_redundancy`): (..., K), 1 at the top position."""
    k = redundancy.shape[-1]
    above = np.tril(np.ones((k, k), dtype=bool), k=-1)
    worst = np.where(above, redundancy, 0.0).max(axis=-1)
    return 1.0 - phi * worst


def fatigue_factors(params: WorldParams, scales: PreferenceScales, content: np.ndarray,
                    slates: np.ndarray) -> np.ndarray:
    r"""Similarity fatigue of each position of each slate: (n, K) factors in ``[1 - phi, 1]``.

    .. math:: f_k = 1 - \phi \max_{j < k} r(x_k, x_j), \qquad
              r(a, b) = \mathrm{clip}\Big(\frac{\cos(a, b) - \tau}{1 - \tau}, 0, 1\Big)

    with ``phi = world.similarity_fatigue`` and ``tau`` the 99th percentile of the content cosine
    over random item pairs (:data:`NEAR_DUPLICATE_QUANTILE`): an item much like one shown above it
    is less attractive (a near copy loses ``phi`` of its appeal), one less alike than 99 % of
    random pairs nothing; the top position is never tired.
    """
    slates = np.asarray(slates, dtype=np.int64)
    return fatigue_from_redundancy(params.similarity_fatigue, content_redundancy(scales, content[slates]))


def conversion_probability(params: WorldParams, scales: PreferenceScales, catalogue: Catalogue,
                           item_idx: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """``P(convert | click) = sigmoid(b0 + b_rel rel + b_price z(log price) 1[product])``."""
    item_idx = np.asarray(item_idx)
    is_product = catalogue.domain[item_idx] == 2
    z_price = (np.log(catalogue.price[item_idx]) - scales.log_price_mean) / scales.log_price_std
    logit = (
        params.conversion_base_logit
        + params.conversion_relevance_coef * np.asarray(relevance, dtype=float)
        + params.conversion_price_coef * z_price * is_product
    )
    return 1.0 / (1.0 + np.exp(-logit))
