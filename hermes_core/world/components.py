r"""The parts of a user's affinity for an item, which sum exactly to it: the truth an explanation is checked against.

The world's contextual affinity (:mod:`hermes_core.world.preferences`, :mod:`hermes_core.world.truth`)
is additive,

.. math::

    s(u, i \mid h, x) = \underbrace{\sum_{k} 1.4\, m_{uix}\, \frac{p^{vis}_{uk}\, v_{ik}}{\sigma_v}}_{\text{visual styles}}
        + \underbrace{\sum_{k} 1.4\, (1 - m_{uix})\, \frac{p^{txt}_{uk}(x)\, t_{ik}}{\sigma_t}}_{\text{text themes}}
        + \underbrace{0.8\, \frac{h_{ui}}{\sigma_h}}_{\text{hidden}}
        + \underbrace{0.8 \log\big(4 \max(a_{u, d(i)}, 0.02)\big)}_{\text{domain}}
        + \underbrace{w_c \frac{e_{u c(i)}}{\sigma_e}}_{\text{creator}}
        + \underbrace{\ldots}_{\text{popularity}}
        + \underbrace{\chi(x, d(i))}_{\text{context}}
        + \underbrace{b_{intent} + b_{creator} + b_{series} + b_{genre}}_{\text{history}}

so every term is one named component: each of the 8 visual styles and 16 text themes
(:mod:`hermes_core.world.vocabulary`: a style or theme *is* one coordinate of the item's latent),
the collaborative-only hidden factor, the user's taste for the item's domain, their taste for its
creator, the item's popularity (zero unless ``world.popularity_in_relevance``), the session's hour,
and the four history terms (:func:`hermes_core.world.truth.history_parts`; zero without a history).
An attribution method (integrated gradients, SHAP) applied to a model of this world can be scored
for faithfulness against these parts: a feature's true share of the affinity is known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hermes_core.world.preferences import (
    CONTENT_WEIGHT,
    SessionContext,
    TasteModel,
    raw_components,
    weighted_components,
)
from hermes_core.world.truth import history_parts, pad_histories
from hermes_core.world.vocabulary import THEME_NAMES, VISUAL_STYLES

STYLE_NAMES: tuple[str, ...] = tuple(VISUAL_STYLES)
SINGLE_PARTS: tuple[str, ...] = ("hidden", "domain", "creator", "popularity", "context")
HISTORY_PARTS: tuple[str, ...] = ("intent", "creator", "series", "genre")


def component_names() -> list[str]:
    """Column order of :func:`affinity_components`: styles, themes, the single parts, the history's."""
    return ([f"style:{name}" for name in STYLE_NAMES] + [f"theme:{name}" for name in THEME_NAMES]
            + list(SINGLE_PARTS) + [f"history:{name}" for name in HISTORY_PARTS])


def affinity_components(model: TasteModel, user: int, item_idx: np.ndarray, history: Sequence[int] | None = None,
                        context: SessionContext | None = None) -> pd.DataFrame:
    """One row per item of ``item_idx``, one column per component (:func:`component_names`); the
    row sums are the user's contextual affinity for the items given ``history`` (item indices in
    the order consumed) and ``context`` (one row, e.g. :meth:`SessionContext.single`)."""
    items = np.asarray(item_idx, dtype=np.int64)
    if items.ndim != 1:
        raise ValueError(f"item_idx must be 1-D, got shape {items.shape}")
    cat, users, s = model.catalogue, model.users, model.scales
    if cat.visual_latent.shape[1] != len(STYLE_NAMES) or cat.text_latent.shape[1] != len(THEME_NAMES):
        raise ValueError("the catalogue's latents do not match the vocabulary's styles and themes")
    user_idx = np.array([int(user)])
    raw = raw_components(model, user_idx, items, context)
    weighted = weighted_components(model, raw)
    modality = raw["modality"][0][:, None]  # (n, 1): the weight of looks for each item
    _, _, day = (context or SessionContext()).rows(1)
    drift = 0.0 if np.isnan(day[0]) else day[0] / model.params.log_days - 1.0
    text_taste = users.text_preference[user] + drift * users.text_drift[user]
    visual = CONTENT_WEIGHT * modality / s.visual_std * users.visual_preference[user][None, :] * cat.visual_latent[items]
    text = CONTENT_WEIGHT * (1.0 - modality) / s.text_std * text_taste[None, :] * cat.text_latent[items]
    histories = pad_histories([[] if history is None else list(history)], model.n_items)  # (1, L)
    parts = history_parts(model, histories, items)  # the one formula of the history terms
    columns = [visual, text] + [weighted[name][0][:, None] for name in SINGLE_PARTS] + [
        parts[name][0][:, None] for name in HISTORY_PARTS]
    return pd.DataFrame(np.hstack(columns), index=pd.Index(items, name="item"), columns=component_names())
