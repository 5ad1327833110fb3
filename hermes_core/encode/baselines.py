r"""Content-free rankers of the cold items: group popularity and seeded random scores.

A cold item has no interaction of its own, so its popularity is that of its group (creator in
the world, genre on MovieLens) measured on warm items only; ties are broken in a seeded random
order so that no baseline is favoured by the order of the catalogue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _ranked_scores(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores ``n, n-1, ..., 1`` in decreasing order of ``values``, ties in a seeded random order."""
    values = np.asarray(values, dtype=np.float64)
    order = np.lexsort((rng.permutation(len(values)), -values))
    scores = np.empty(len(values), dtype=np.float64)
    scores[order] = np.arange(len(values), 0, -1, dtype=np.float64)
    return scores


def group_popularity(
    exposure_rows: np.ndarray, groups: np.ndarray, is_cold: np.ndarray
) -> pd.Series:
    r"""Mean exposures per *warm* item of each group (creator, genre ...).

    :math:`pop(g) = \frac{\sum_{i \in W_g} n_i}{|W_g|}` with :math:`W_g` the warm items of group
    :math:`g` and :math:`n_i` the logged exposures of item :math:`i`. Exposures of cold items
    raise ``ValueError``: a cold item has none, and its own popularity is what it cannot have.
    """
    exposure_rows = np.asarray(exposure_rows, dtype=np.int64)
    is_cold = np.asarray(is_cold, dtype=bool)
    if is_cold[exposure_rows].any():
        raise ValueError(
            f"{int(is_cold[exposure_rows].sum())} exposures of cold items: popularity must use warm items only"
        )
    counts = np.bincount(exposure_rows, minlength=len(is_cold)).astype(np.float64)
    warm = pd.DataFrame({"group": np.asarray(groups, dtype=object)[~is_cold], "n": counts[~is_cold]})
    return warm.groupby("group")["n"].mean()


def popularity_scores(
    exposure_rows: np.ndarray,
    groups: np.ndarray,
    is_cold: np.ndarray,
    candidate_rows: np.ndarray,
    n_users: int,
    seed: int,
) -> np.ndarray:
    """The same ranking for every user: candidates by their group's warm popularity.

    Groups with no warm item score 0; ties are broken in a seeded random order (the metrics'
    lower-index rule would otherwise favour whichever item happens to come first).
    Returns ``(n_users, n_candidates)``.
    """
    popularity = group_popularity(exposure_rows, groups, is_cold)
    candidate_groups = pd.Series(np.asarray(groups, dtype=object)[np.asarray(candidate_rows)])
    values = candidate_groups.map(popularity).fillna(0.0).to_numpy(dtype=np.float64)
    scores = _ranked_scores(values, np.random.default_rng(seed))
    return np.broadcast_to(scores, (n_users, len(scores))).copy()


def random_scores(n_users: int, n_candidates: int, seed: int) -> np.ndarray:
    """Uniform random scores ``(n_users, n_candidates)`` from ``default_rng(seed)``."""
    return np.random.default_rng(seed).random((n_users, n_candidates))
