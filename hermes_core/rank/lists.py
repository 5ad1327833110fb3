"""Padded ranking lists: one row per request (or query), one column per candidate, a mask for padding.

Every ranker of the stage (the neural fine ranker with any loss, LightGBM, the baselines) reads the
same :class:`RankingLists`, so the world, MovieLens 100K and a LETOR file are three producers of one
format. Padding carries label 0, features 0, item ``-1`` and ``mask`` False; a ranker scores it
``-inf`` (:func:`masked_scores`), so it sorts last and never enters a top-k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.data.readers.letor import RankingDataset


@dataclass(frozen=True, eq=False)
class RankingLists:
    """``features (n, L, F)`` float32, ``labels (n, L)`` float32 grades, ``mask (n, L)`` bool
    (True at a real candidate), ``items (n, L)`` int64 item indices (-1 at padding)."""

    features: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    items: np.ndarray

    def __post_init__(self) -> None:
        n, length = self.mask.shape
        if self.features.ndim != 3 or self.features.shape[:2] != (n, length):
            raise ValueError(f"features must be (n, L, F) with (n, L) = {(n, length)}, got {self.features.shape}")
        if self.labels.shape != (n, length) or self.items.shape != (n, length):
            raise ValueError(f"labels and items must be {(n, length)}, got {self.labels.shape} and {self.items.shape}")
        if (self.labels[self.mask] < 0).any():
            raise ValueError("labels must be >= 0 at every real candidate")

    def __len__(self) -> int:
        return self.mask.shape[0]

    @property
    def n_features(self) -> int:
        return self.features.shape[2]

    def subset(self, rows: np.ndarray) -> RankingLists:
        """The lists at ``rows``."""
        return RankingLists(self.features[rows], self.labels[rows], self.mask[rows], self.items[rows])

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(features (N, F), labels (N,), group_sizes (n,))`` of the real candidates, list by list
        (LightGBM's layout)."""
        return self.features[self.mask], self.labels[self.mask], self.mask.sum(axis=1)

    def with_column(self, column: np.ndarray) -> RankingLists:
        """The same lists with one more feature ``column (n, L)`` (0 at padding)."""
        extra = np.where(self.mask, column, 0.0).astype(np.float32)[..., None]
        return RankingLists(np.concatenate([self.features, extra], axis=2), self.labels, self.mask, self.items)


def pad_lists(features: list[np.ndarray], labels: list[np.ndarray], items: list[np.ndarray],
              length: int | None = None) -> RankingLists:
    """Stack variable-length lists (each ``features[q] (m_q, F)``) right-padded to ``length``
    (default: the longest); longer lists are truncated to their first ``length`` candidates."""
    if not features:
        raise ValueError("pad_lists needs at least one list")
    n_features = features[0].shape[1]
    size = max(len(f) for f in features) if length is None else length
    n = len(features)
    out_features = np.zeros((n, size, n_features), dtype=np.float32)
    out_labels = np.zeros((n, size), dtype=np.float32)
    out_mask = np.zeros((n, size), dtype=bool)
    out_items = np.full((n, size), -1, dtype=np.int64)
    for q, (f, y, i) in enumerate(zip(features, labels, items, strict=True)):
        m = min(len(f), size)
        out_features[q, :m], out_labels[q, :m], out_mask[q, :m], out_items[q, :m] = f[:m], y[:m], True, i[:m]
    return RankingLists(out_features, out_labels, out_mask, out_items)


def from_ranking_dataset(dataset: RankingDataset, max_list: int | None = None) -> RankingLists:
    """A LETOR :class:`~hermes_core.data.readers.letor.RankingDataset` as padded lists (the first
    ``max_list`` documents of each query as the file orders them; items are row numbers in the file)."""
    offsets = dataset.group_offsets
    spans = [(int(offsets[q]), int(offsets[q + 1])) for q in range(dataset.n_queries)]
    return pad_lists([np.nan_to_num(dataset.features[a:b]) for a, b in spans],
                     [dataset.labels[a:b].astype(np.float32) for a, b in spans],
                     [np.arange(a, b) for a, b in spans], max_list)  # fmt: skip


def masked_scores(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``scores`` as float64 with ``-inf`` at padding (so it ranks last)."""
    return np.where(mask, np.asarray(scores, dtype=np.float64), -np.inf)


__all__ = ["RankingLists", "from_ranking_dataset", "masked_scores", "pad_lists"]
