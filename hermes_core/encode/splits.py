"""The encode stage's splits: which items and queries are held out, each drawn from one seed.

* :func:`movielens_cold_items`: on MovieLens, a share of the rated movies becomes *cold*
  (all of their ratings leave training and become the evaluation's relevance), since
  MovieLens has no item created after the logs (the world's cold items are given by the world);
* :func:`validation_items`: warm clicked items held out of training, the pseudo-cold items that
  choose each tower's epoch;
* :func:`split_queries`: the held-out share of each kind of text query;
* :func:`validation_queries`: a share of each kind's *training* queries that leaves training to
  choose each tower's epoch beside the validation users.

Every split takes item *rows* or query kinds already read from the store by :mod:`.inputs`;
none reads a file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def movielens_cold_items(rated_rows: np.ndarray, n_items: int, share: float, seed: int) -> np.ndarray:
    """``(n_items,)`` bool: ``round(share * n_rated)`` of the rated movies, drawn as cold.

    ``rated_rows`` are the distinct item rows with at least one rating; the cold ones are drawn
    without replacement by ``numpy.random.default_rng(seed)``. Raises ``ValueError`` (naming
    ``encode.split.movielens_cold_share``) unless at least one cold and one warm movie remain.
    """
    rated = np.asarray(rated_rows)
    n_cold = int(round(share * len(rated)))
    if n_cold < 1 or n_cold >= len(rated):
        raise ValueError(
            f"encode.split.movielens_cold_share={share} holds out {n_cold} of {len(rated)} rated movies; "
            "it must leave at least one cold and one warm movie"
        )
    rng = np.random.default_rng(seed)
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[np.sort(rng.choice(rated, size=n_cold, replace=False))] = True
    return is_cold


def validation_items(positives: pd.DataFrame, is_cold: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Sorted rows of ``round(share * n)`` warm items drawn (seeded) among the ``n`` warm items
    with at least one positive: the pseudo-cold items that pick each tower's epoch.

    All their positives leave the training pairs, so they are as unseen as the cold items.
    """
    clicked = np.unique(np.asarray(positives["item_row"], dtype=np.int64))
    clicked = clicked[~np.asarray(is_cold, dtype=bool)[clicked]]
    n_held = int(round(share * len(clicked)))
    if n_held < 1 or n_held >= len(clicked):
        raise ValueError(
            f"encode.split.validation_item_share={share} holds out {n_held} of {len(clicked)} clicked warm items; "
            "it must leave at least one on each side"
        )
    return np.sort(np.random.default_rng(seed).choice(clicked, size=n_held, replace=False))


def split_queries(kinds: np.ndarray, test_share: float, seed: int) -> np.ndarray:
    """Boolean ``is_test`` per query: ``round(test_share * n_kind)`` of each kind, seeded.

    Each kind with at least two queries keeps at least one on each side.
    """
    kinds = np.asarray(kinds, dtype=object)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(kinds), dtype=bool)
    for kind in sorted(set(kinds.tolist())):
        rows = np.flatnonzero(kinds == kind)
        n_test = int(round(test_share * len(rows)))
        if len(rows) >= 2:
            n_test = min(max(n_test, 1), len(rows) - 1)
        is_test[rng.choice(rows, size=n_test, replace=False)] = True
    return is_test


def validation_queries(kinds: np.ndarray, is_test: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean ``is_validation`` per query: ``round(share * n)`` of each kind's ``n`` non-test queries.

    Drawn from ``default_rng([seed, 1])``, a stream independent of :func:`split_queries`' draw; a
    kind with at least two training queries keeps at least one for training. ``share = 0`` holds
    none out.
    """
    kinds = np.asarray(kinds, dtype=object)
    training = ~np.asarray(is_test, dtype=bool)
    rng = np.random.default_rng([seed, 1])
    is_validation = np.zeros(len(kinds), dtype=bool)
    for kind in sorted(set(kinds.tolist())):
        rows = np.flatnonzero((kinds == kind) & training)
        n_held = int(round(share * len(rows)))
        if len(rows) >= 2:
            n_held = min(n_held, len(rows) - 1)
        else:
            n_held = 0
        if n_held:
            is_validation[rng.choice(rows, size=n_held, replace=False)] = True
    return is_validation
