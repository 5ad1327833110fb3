r"""The parts of a user's affinity for an item, which sum exactly to it: the truth an explanation is checked against.

The world's contextual affinity (:mod:`hermes_core.world.preferences`) is additive,

.. math::

    s(u, i \mid c) = \underbrace{\sum_{k} 1.4\, m_u\, \frac{p^{vis}_{uk}\, v_{ik}}{\sigma_v}}_{\text{visual styles}}
        + \underbrace{\sum_{k} 1.4\, (1 - m_u)\, \frac{p^{txt}_{uk}\, t_{ik}}{\sigma_t}}_{\text{text themes}}
        + \underbrace{0.8\, \frac{h_{ui}}{\sigma_h}}_{\text{hidden}}
        + \underbrace{0.8 \log\big(4 \max(a_{u, d(i)}, 0.02)\big)}_{\text{domain}}
        + \underbrace{0.5\, \frac{\log pop_i - \mu_p}{\sigma_p}}_{\text{popularity}}
        + \underbrace{\kappa\Big(\frac{\cos(c, i) - \mu}{\sigma} + 1[\text{same creator}]\Big)}_{\text{history}}

so every term is one named component: each of the 8 visual styles and 16 text themes
(:mod:`hermes_core.world.vocabulary`: a style or theme *is* one coordinate of the item's latent),
the collaborative-only hidden factor, the user's taste for the item's domain, the item's
popularity, and the history (:func:`hermes_core.world.truth.history_term`: today the session's
last click ``c``; zero without one). An
attribution method (integrated gradients, SHAP) applied to a model of this world can be scored
for faithfulness against these parts: a feature's true share of the affinity is known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hermes_core.world.catalogue import Catalogue
from hermes_core.world.params import WorldParams
from hermes_core.world.population import Users
from hermes_core.world.preferences import (
    CONTENT_WEIGHT,
    DOMAIN_AFFINITY_FLOOR,
    DOMAIN_WEIGHT,
    HIDDEN_WEIGHT,
    POPULARITY_WEIGHT,
    PreferenceScales,
)
from hermes_core.world.truth import history_term, pad_histories
from hermes_core.world.vocabulary import THEME_NAMES, VISUAL_STYLES

STYLE_NAMES: tuple[str, ...] = tuple(VISUAL_STYLES)


def component_names() -> list[str]:
    """Column order of :func:`affinity_components`: styles, themes, then the single parts."""
    return ([f"style:{name}" for name in STYLE_NAMES] + [f"theme:{name}" for name in THEME_NAMES]
            + ["hidden", "domain", "popularity", "history"])


def affinity_components(params: WorldParams, scales: PreferenceScales, users: Users, catalogue: Catalogue,
                        user: int, item_idx: np.ndarray, history: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per item of ``item_idx``, one column per component (:func:`component_names`); the
    row sums are the user's affinity for the items given ``history`` (item indices in the order
    consumed; only its last item acts in the current model)."""
    items = np.asarray(item_idx, dtype=np.int64)
    if items.ndim != 1:
        raise ValueError(f"item_idx must be 1-D, got shape {items.shape}")
    if catalogue.visual_latent.shape[1] != len(STYLE_NAMES) or catalogue.text_latent.shape[1] != len(THEME_NAMES):
        raise ValueError("the catalogue's latents do not match the vocabulary's styles and themes")
    modality = float(users.modality_affinity[user])
    visual = (CONTENT_WEIGHT * modality / scales.visual_std
              * users.visual_preference[user][None, :] * catalogue.visual_latent[items])  # (n, 8)
    text = (CONTENT_WEIGHT * (1.0 - modality) / scales.text_std
            * users.text_preference[user][None, :] * catalogue.text_latent[items])  # (n, 16)
    hidden = HIDDEN_WEIGHT * (catalogue.hidden_latent[items] @ users.hidden_preference[user]) / scales.hidden_std
    domain = DOMAIN_WEIGHT * np.log(4.0 * np.maximum(users.domain_affinity[user, catalogue.domain[items]],
                                                     DOMAIN_AFFINITY_FLOOR))
    popularity = POPULARITY_WEIGHT * (catalogue.log_popularity[items] - scales.popularity_mean) / scales.popularity_std
    histories = pad_histories([[] if history is None else list(history)], len(catalogue.domain))  # (1, L)
    context = history_term(params, scales, catalogue, histories, items)[0]  # the one formula of the history part
    parts = np.column_stack([visual, text, hidden, domain, popularity, context])
    return pd.DataFrame(parts, index=pd.Index(items, name="item"), columns=component_names())
