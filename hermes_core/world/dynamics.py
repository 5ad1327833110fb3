r"""Order in the world that content similarity alone cannot find: series and genre transitions.

* **Series.** Each creator's items, in the order they were made, are cut into consecutive runs
  of 1 to :data:`MAX_SERIES_LENGTH` items (lengths uniform); a run of two or more is a *series*
  (a saga, an album trilogy, a product line, a running story) and each of its parts but the last
  has a *successor*. A user who has just consumed part ``k`` wants part ``k + 1``: the history term
  (:func:`hermes_core.world.truth.history_term`) adds ``series_strength`` times the click's
  decay weight to the successor of every clicked part. Cold items are the newest, so a cold
  item is often the next part of a warm series: a sequence model can reach it before anyone
  clicked it.
* **Genre transitions.** Genres are numbered across domains, ``g = 8 d + genre`` (32 in all).
  ``T`` (32 x 32) has standard-normal entries, centred and scaled to unit deviation in each row,
  so that the term ``genre_transition_strength * T[g(last click), g(i)]`` shifts items between
  genres without moving the mean affinity. It is a first-order (Markov) pattern that co-clicks
  reveal and content does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.catalogue import Catalogue

MAX_SERIES_LENGTH = 4
GENRES_PER_DOMAIN = 8
NO_SUCCESSOR = -1


@dataclass(frozen=True)
class Dynamics:
    """The world's order patterns: series of items and the genre transition matrix."""

    series: np.ndarray  # (n_items,) series index, -1 for an item in no series
    series_position: np.ndarray  # (n_items,) 0-based part number within its series, -1 when none
    successor: np.ndarray  # (n_items,) the next part of the item's series, -1 when none
    genre_transition: np.ndarray  # (32, 32) row-standardised transition scores


def global_genre(catalogue: Catalogue) -> np.ndarray:
    """``8 * domain + genre`` of every item: (n_items,)."""
    return catalogue.domain.astype(np.int64) * GENRES_PER_DOMAIN + catalogue.genre.astype(np.int64)


def generate_dynamics(catalogue: Catalogue, n_domains: int, rng: np.random.Generator) -> Dynamics:
    """Series from each creator's items in creation order and a random genre transition matrix."""
    n = len(catalogue.domain)
    series = np.full(n, -1, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    successor = np.full(n, NO_SUCCESSOR, dtype=np.int64)
    next_series = 0
    for creator in np.unique(catalogue.creator):
        items = np.flatnonzero(catalogue.creator == creator)
        items = items[np.lexsort((items, catalogue.created_at[items]))]  # oldest first, index breaks ties
        start = 0
        while start < len(items):
            length = int(rng.integers(1, MAX_SERIES_LENGTH + 1))
            run = items[start:start + length]
            if len(run) >= 2:
                series[run] = next_series
                position[run] = np.arange(len(run))
                successor[run[:-1]] = run[1:]
                next_series += 1
            start += length
    size = n_domains * GENRES_PER_DOMAIN
    raw = rng.standard_normal((size, size))
    transition = (raw - raw.mean(axis=1, keepdims=True)) / raw.std(axis=1, keepdims=True)
    return Dynamics(series=series, series_position=position, successor=successor, genre_transition=transition)
