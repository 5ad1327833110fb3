r"""Baselines beside SASRec: popularity and a first-order item-to-item transition model.

Both are fitted on training sequences of item ids ``1..n_items`` and score with the interface of
:class:`~hermes_core.evaluation.sequential.SequenceScorer` (``score`` for full ranking, column
``j`` for item ``j + 1``; ``score_candidates`` for candidate lists), as SASRec does.

* :class:`PopularityScorer`: the share of training interactions of each item,
  :math:`p_j = n_j / N`, the same for every user (the paper's "PopRec", Section IV.B).
* :class:`TransitionScorer`: a first-order Markov chain on items (the paper's FMC family without
  the factorisation). With :math:`c_{ij}` the number of times item :math:`j` directly follows
  item :math:`i` in a training sequence and :math:`c_i = \sum_j c_{ij}`, a user whose history
  ends with item :math:`i` scores

  .. math:: P(j \mid i) = \frac{c_{ij} + \alpha\, p_j}{c_i + \alpha}

  additive (Dirichlet) smoothing towards popularity with strength :math:`\alpha` (``smoothing``):
  the count of :math:`i \to j` plus :math:`\alpha` pseudo-transitions spread as popularity (MacKay &
  Peto 1995, "A hierarchical Dirichlet language model"). An item never followed by anything
  (:math:`c_i = 0`) and an empty history score :math:`p_j`; :math:`\alpha > 0` breaks ties among
  unseen transitions by popularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

SCORE_BATCH = 1024


def _checked(sequences: Sequence[np.ndarray], n_items: int) -> list[np.ndarray]:
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    checked = []
    for row, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype=np.int64)
        if sequence.ndim != 1 or (sequence.size and (sequence.min() < 1 or sequence.max() > n_items)):
            raise ValueError(f"training sequence {row} must be a 1-d array of item ids in 1..{n_items}")
        checked.append(sequence)
    return checked


def _checked_candidates(histories: Sequence[np.ndarray], candidates: np.ndarray, n_items: int) -> np.ndarray:
    candidates = np.asarray(candidates, dtype=np.int64)
    if candidates.ndim != 2 or len(candidates) != len(histories):
        raise ValueError(f"candidates must be (n_users={len(histories)}, n_candidates), got {candidates.shape}")
    if candidates.size and (candidates.min() < 1 or candidates.max() > n_items):
        raise ValueError(f"candidates must be item ids in 1..{n_items}")
    return candidates


@dataclass(frozen=True)
class PopularityScorer:
    """Every user gets each item's share of the training interactions, :math:`p_j = n_j / N`."""

    popularity: np.ndarray  # (n_items,) p_j of items 1..n_items

    @classmethod
    def fit(cls, sequences: Sequence[np.ndarray], n_items: int) -> PopularityScorer:
        items = _checked(sequences, n_items)
        counts = np.bincount(np.concatenate(items) if items else np.zeros(0, np.int64), minlength=n_items + 1)[1:]
        total = counts.sum()
        if total == 0:
            raise ValueError("the training sequences hold no interaction")
        return cls(counts / total)

    @property
    def n_items(self) -> int:
        return len(self.popularity)

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(n_users, n_items) the same row :math:`p` for every user."""
        return np.broadcast_to(self.popularity, (len(histories), self.n_items)).copy()

    def score_candidates(self, histories: Sequence[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        """(n_users, n_candidates) :math:`p` of each candidate."""
        return self.popularity[_checked_candidates(histories, candidates, self.n_items) - 1]


@dataclass(frozen=True)
class TransitionScorer:
    """First-order item-to-item transitions smoothed towards popularity (module docstring)."""

    transitions: sparse.csr_matrix  # (n_items, n_items) c_ij at [i - 1, j - 1]
    popularity: np.ndarray  # (n_items,) p_j
    smoothing: float  # alpha

    @classmethod
    def fit(cls, sequences: Sequence[np.ndarray], n_items: int, smoothing: float = 1.0) -> TransitionScorer:
        if not (smoothing > 0.0 and np.isfinite(smoothing)):
            raise ValueError(f"smoothing must be a finite number > 0, got {smoothing!r}")
        items = _checked(sequences, n_items)
        pairs = [(sequence[:-1], sequence[1:]) for sequence in items if len(sequence) >= 2]
        sources = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
        targets = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
        counts = sparse.csr_matrix(
            (np.ones(len(sources)), (sources - 1, targets - 1)), shape=(n_items, n_items)
        )  # duplicate (i, j) entries are summed into c_ij
        counts.sum_duplicates()
        return cls(counts, PopularityScorer.fit(items, n_items).popularity, float(smoothing))

    @property
    def n_items(self) -> int:
        return len(self.popularity)

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(n_users, n_items) :math:`P(j \\mid i)` with :math:`i` each history's last item."""
        last = self._last_items(histories)
        has_last = last > 0
        scores = np.broadcast_to(self.popularity, (len(histories), self.n_items)).copy()
        if has_last.any():
            rows = last[has_last] - 1
            counts = self.transitions[rows].toarray()  # (n_with_history, n_items)
            totals = np.asarray(self.transitions.sum(axis=1)).ravel()[rows]
            scores[has_last] = (counts + self.smoothing * self.popularity) / (totals + self.smoothing)[:, None]
        return scores

    def score_candidates(self, histories: Sequence[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        """(n_users, n_candidates) :math:`P(j \\mid i)` of each candidate ``j``."""
        candidates = _checked_candidates(histories, candidates, self.n_items)
        scores = np.empty(candidates.shape)
        for start in range(0, len(candidates), SCORE_BATCH):  # bounds the dense (batch, n_items) block
            batch = slice(start, start + SCORE_BATCH)
            scores[batch] = np.take_along_axis(self.score(histories[batch]), candidates[batch] - 1, axis=1)
        return scores

    def _last_items(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(n_users,) each history's last item, 0 when it is empty."""
        last = np.zeros(len(histories), dtype=np.int64)
        for row, history in enumerate(histories):
            if len(history):
                last[row] = history[-1]
                if not 1 <= last[row] <= self.n_items:
                    raise ValueError(f"history {row} ends with item {last[row]}, outside 1..{self.n_items}")
        return last
