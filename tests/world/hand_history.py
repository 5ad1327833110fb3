"""The history term of ``hermes_core/world/truth.py`` recomputed by a loop over the history.

One reference for every test that checks the history term (the truth API, the affinity
components, the sequence signals): decayed intent cosine centred on the catalogue mean, decayed
creator share, series successor, genre transition from the last click. ``model`` is anything with
``params``, ``scales``, ``catalogue`` and ``dynamics`` (a ``World`` or its ``TasteModel``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

HISTORY_PARTS = ("intent", "creator", "series", "genre")


def hand_history_parts(model: Any, history: list[int], items: np.ndarray) -> dict[str, np.ndarray]:
    """The four history terms of ``truth.py``'s docstring for ``items`` after ``history``."""
    p, s, cat, dyn = model.params, model.scales, model.catalogue, model.dynamics
    items = np.asarray(items)
    if not history:
        return {name: np.zeros(len(items)) for name in HISTORY_PARTS}
    x = np.hstack([cat.visual_latent, cat.text_latent])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(history)
    weights = [p.history_decay ** (n - 1 - j) for j in range(n)]  # the last click weighs 1
    total = sum(weights)
    intent = sum(w * x[h] for w, h in zip(weights, history)) / total
    cos = x @ (intent / np.linalg.norm(intent))  # cosine with every catalogue item
    intent_term = p.sequential_strength * (cos[items] - cos.mean()) / s.context_cos_std
    creator_term = np.array([p.sequential_strength * sum(w / total for w, h in zip(weights, history)
                                                         if cat.creator[h] == cat.creator[i]) for i in items])
    series_term = np.array([p.series_strength * sum(w for w, h in zip(weights, history) if dyn.successor[h] == i)
                            for i in items])
    last = history[-1]
    g_last = 8 * int(cat.domain[last]) + int(cat.genre[last])
    genre_term = np.array([p.genre_transition_strength * dyn.genre_transition[g_last, 8 * cat.domain[i] + cat.genre[i]]
                           for i in items])
    return {"intent": intent_term, "creator": creator_term, "series": series_term, "genre": genre_term}


def hand_history_term(model: Any, history: list[int], items: np.ndarray) -> np.ndarray:
    """``b(h, i)``: the sum of the four parts."""
    return np.sum(list(hand_history_parts(model, history, items).values()), axis=0)
