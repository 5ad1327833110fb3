"""The world's true preference model: affinity, graded relevance, clicks, conversions.

Static affinity of user u for item i (each component standardised on a sample of pairs so
that the weights below are comparable):

.. math::

    s(u, i) = 1.4\\,[m_u \\tilde{v}_{ui} + (1 - m_u)\\,\\tilde{t}_{ui}] + 0.8\\,\\tilde{h}_{ui}
              + 0.8 \\log(4\\,a_{u,d(i)}) + 0.5\\,\\widetilde{\\log pop}_i

with ``v_ui = p^vis_u . visual_i``, ``t_ui = p^txt_u . text_i``, ``h_ui = p^hid_u . hidden_i``.
In a session whose last clicked item is ``c``, the contextual affinity adds
``kappa ((cos(content_c, content_i) - mu) / sigma + 1[same creator])`` (sequential dynamics;
``mu``, ``sigma``: mean and deviation of the cosine over random item pairs).

Graded relevance ``rel in {0..4}`` cuts the *static* affinity at quantiles fixed once per
world, so that grades occur with the shares ``relevance_shares``. Clicks follow a
position-based model (Craswell et al. 2008; Chuklin et al. 2015):
``P(click | u, i, k) = theta_k * attr(rel)``, ``theta_k = (k + 1)^{-eta}``,
``attr(g) = floor + (ceiling - floor)(2^g - 1)/15``.
A click converts with probability ``sigmoid(b0 + b_rel * rel + b_price * z(log price) 1[product])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import WorldParams
from hermes_core.world.catalogue import Catalogue
from hermes_core.world.population import Users

CONTENT_WEIGHT = 1.4
HIDDEN_WEIGHT = 0.8
DOMAIN_WEIGHT = 0.8
POPULARITY_WEIGHT = 0.5
DOMAIN_AFFINITY_FLOOR = 0.02


@dataclass(frozen=True)
class PreferenceScales:
    """Standard deviations of the raw components and the grade thresholds."""

    visual_std: float
    text_std: float
    hidden_std: float
    popularity_mean: float
    popularity_std: float
    log_price_mean: float
    log_price_std: float
    context_cos_mean: float
    context_cos_std: float
    thresholds: tuple[float, float, float, float]


def content_vectors(catalogue: Catalogue) -> np.ndarray:
    """Unit-norm concatenation of visual and textual latents (for context similarity)."""
    content = np.hstack([catalogue.visual_latent, catalogue.text_latent])
    return content / np.linalg.norm(content, axis=1, keepdims=True)


def fit_scales(params: WorldParams, users: Users, catalogue: Catalogue, rng: np.random.Generator) -> PreferenceScales:
    """Standardise each component and fix the grade thresholds on 50,000 random pairs."""
    n_pairs = 50_000
    u = rng.integers(len(users.activity), size=n_pairs)
    i = rng.integers(len(catalogue.domain), size=n_pairs)
    visual = np.einsum("nd,nd->n", users.visual_preference[u], catalogue.visual_latent[i])
    text = np.einsum("nd,nd->n", users.text_preference[u], catalogue.text_latent[i])
    hidden = np.einsum("nd,nd->n", users.hidden_preference[u], catalogue.hidden_latent[i])
    log_price = np.log(catalogue.price)
    content = content_vectors(catalogue)
    cos = np.einsum("nd,nd->n", content[i], content[rng.integers(len(catalogue.domain), size=n_pairs)])
    partial = PreferenceScales(
        visual_std=float(visual.std()),
        text_std=float(text.std()),
        hidden_std=float(hidden.std()),
        popularity_mean=float(catalogue.log_popularity.mean()),
        popularity_std=float(catalogue.log_popularity.std() or 1.0),
        log_price_mean=float(log_price.mean()),
        log_price_std=float(log_price.std() or 1.0),
        context_cos_mean=float(cos.mean()),
        context_cos_std=float(cos.std() or 1.0),
        thresholds=(0.0, 0.0, 0.0, 0.0),
    )
    scores = pair_affinity(partial, users, catalogue, u, i)
    cumulative = np.cumsum(params.relevance_shares)[:4]
    ordered = np.sort(scores)
    cut = np.clip((cumulative * n_pairs).astype(int), 1, n_pairs - 1)
    # midway between neighbouring distinct samples, so no sampled pair sits exactly on a
    # threshold where the matrix and the pairwise computation could round to different grades
    above = np.minimum(np.searchsorted(ordered, ordered[cut - 1], side="right"), n_pairs - 1)
    thresholds = tuple(float(0.5 * (ordered[k - 1] + ordered[j])) for k, j in zip(cut, above))
    return PreferenceScales(**{**partial.__dict__, "thresholds": thresholds})


def _combine(scales: PreferenceScales, modality: np.ndarray, visual: np.ndarray, text: np.ndarray,
             hidden: np.ndarray, domain_aff: np.ndarray, log_pop: np.ndarray) -> np.ndarray:
    content = modality * visual / scales.visual_std + (1.0 - modality) * text / scales.text_std
    return (
        CONTENT_WEIGHT * content
        + HIDDEN_WEIGHT * hidden / scales.hidden_std
        + DOMAIN_WEIGHT * np.log(4.0 * np.maximum(domain_aff, DOMAIN_AFFINITY_FLOOR))
        + POPULARITY_WEIGHT * (log_pop - scales.popularity_mean) / scales.popularity_std
    )


def pair_affinity(scales: PreferenceScales, users: Users, catalogue: Catalogue,
                  user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """Static affinity ``s(u, i)`` for aligned index arrays of equal shape."""
    u = np.asarray(user_idx)
    i = np.asarray(item_idx)
    visual = np.einsum("...d,...d->...", users.visual_preference[u], catalogue.visual_latent[i])
    text = np.einsum("...d,...d->...", users.text_preference[u], catalogue.text_latent[i])
    hidden = np.einsum("...d,...d->...", users.hidden_preference[u], catalogue.hidden_latent[i])
    domain_aff = users.domain_affinity[u, catalogue.domain[i]]
    return _combine(scales, users.modality_affinity[u], visual, text, hidden, domain_aff, catalogue.log_popularity[i])


def affinity_matrix(scales: PreferenceScales, users: Users, catalogue: Catalogue,
                    user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
    """Static affinity for every (user in ``user_idx``, item in ``item_idx``): (n_users, n_items)."""
    items = np.arange(len(catalogue.domain)) if item_idx is None else np.asarray(item_idx)
    u = np.asarray(user_idx)
    visual = users.visual_preference[u] @ catalogue.visual_latent[items].T
    text = users.text_preference[u] @ catalogue.text_latent[items].T
    hidden = users.hidden_preference[u] @ catalogue.hidden_latent[items].T
    domain_aff = users.domain_affinity[u][:, catalogue.domain[items]]
    return _combine(scales, users.modality_affinity[u][:, None], visual, text, hidden, domain_aff,
                    catalogue.log_popularity[items][None, :])


def context_bonus_matrix(params: WorldParams, scales: PreferenceScales, catalogue: Catalogue,
                         content: np.ndarray, context_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """Sequential term ``kappa ((cos(c, i) - mu) / sigma + 1[same creator])``: (n, m).

    ``context_idx`` (n,) holds each request's last clicked item (-1: none, bonus 0);
    ``mu`` and ``sigma`` standardise the content cosine over random item pairs.
    """
    context_idx = np.asarray(context_idx)
    item_idx = np.asarray(item_idx)
    has_context = context_idx >= 0
    c = np.where(has_context, context_idx, 0)
    cos = content[c] @ content[item_idx].T
    same = catalogue.creator[c][:, None] == catalogue.creator[item_idx][None, :]
    z = (cos - scales.context_cos_mean) / scales.context_cos_std
    return params.sequential_strength * (z + same) * has_context[:, None]


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
