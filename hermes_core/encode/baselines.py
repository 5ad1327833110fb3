r"""Content-free rankers of the cold items: group popularity and seeded random scores.

A cold item has no interaction of its own, so its popularity is that of its group (creator in
the world, genre on MovieLens) measured on warm items only. Every cold item of a group gets the
same value, so the ranking is mostly ties; they are broken in a seeded random order drawn
*independently for every user*, so that the mean NDCG estimates the expected NDCG over tie
orders. One tie order shared by all users would instead put the same arbitrary few items of the
top group in everybody's top k, and the baseline's score would be a lottery over that draw (on
MovieLens 100K, genre popularity's NDCG@10 ranged from 0.041 to 0.105 over 20 seeds, mean 0.066,
and was 0.040 at the pipeline's seed, against random's 0.047 in expectation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _ranked_scores(values: np.ndarray, n_users: int, rng: np.random.Generator) -> np.ndarray:
    r"""``(n_users, n)`` scores :math:`s_{u,i} = d_i + \varepsilon_{u,i}`: ``values`` ranked, ties
    broken per user.

    :math:`d_i \in \{0, 1, \dots\}` is the dense rank of ``values[i]`` (equal values share one rank,
    a larger value a larger rank) and :math:`\varepsilon_{u,i} \sim U[0, 1)` are independent draws of
    ``rng``: every user sees the items in decreasing order of ``values`` and the tied ones in
    their own uniformly random order.
    """
    values = np.asarray(values, dtype=np.float64)
    dense = np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.float64)
    return dense[None, :] + rng.random((n_users, len(values)))


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
    r"""Candidates ranked by their group's warm popularity, ties in each user's own random order.

    :math:`s_{u,i} = d(pop(g_i)) + \varepsilon_{u,i}` with :math:`pop` of :func:`group_popularity`,
    :math:`d` its dense rank among the candidates and :math:`\varepsilon_{u,i} \sim U[0,1)` drawn
    from ``default_rng([seed, 1])`` (:func:`_ranked_scores`; a stream apart from :func:`random_scores`,
    so that popularity is not random's scores plus the group rank). Groups with no warm item have
    :math:`pop = 0`. The order *between* groups is the same for every user; the order *within*
    a group is drawn per user (not once for all users, which would make the score depend on
    which tied items one draw puts first, nor by the metrics' lower-index rule, which would
    favour the catalogue order). Returns ``(n_users, n_candidates)``.
    """
    popularity = group_popularity(exposure_rows, groups, is_cold)
    candidate_groups = pd.Series(np.asarray(groups, dtype=object)[np.asarray(candidate_rows)])
    values = candidate_groups.map(popularity).fillna(0.0).to_numpy(dtype=np.float64)
    return _ranked_scores(values, n_users, np.random.default_rng([seed, 1]))


def random_scores(n_users: int, n_candidates: int, seed: int) -> np.ndarray:
    """Uniform random scores ``(n_users, n_candidates)`` from ``default_rng(seed)``."""
    return np.random.default_rng(seed).random((n_users, n_candidates))
