r"""What the policies see: each user's candidate list, the ranker's scores mapped to relevance in
[0, 1], every candidate's cohort, and the item vectors of the cosine similarity.

A batch of ``B`` lists (one per key, a logged request of the world or a MovieLens user) is padded to
``N`` columns, best first by the ranker (column ``j`` holds the candidate of rank ``j + 1``);
``mask`` is ``False`` on padding. Slates everywhere in this stage are ``(B, K)`` column indices
into these arrays (``-1``: an empty slot), as :mod:`hermes_core.rerank.exposure_parity` uses them.

**Relevance a policy sees.** A policy never sees the truth: its relevance is the fine ranker's score
:math:`s_{b,i}` mapped to :math:`[0, 1]` (``rerank.score_mapping``):

* ``rank_percentile`` (default): :math:`u_{b,i} = 1 - (r_{b,i} - 1)/(N_b - 1)`, with :math:`r_{b,i}`
  the rank of candidate :math:`i` in list :math:`b` and :math:`N_b` its length (1 for a one-item
  list). It depends only on the order, so it does not move when the rank stage changes the scale
  of its scores or emits an outlier (the default world's scores span -150 to 273, most lists
  about 2), and every list gets the same spread of relevance;
* ``min_max``: :math:`u = (s - \min_b s)/(\max_b s - \min_b s)` within the list (1 when all equal);
  one outlier squeezes every other candidate of its list towards 0;
* ``sigmoid``: :math:`u = 1/(1 + e^{-s})`, comparable across lists when the scores are logits.

The same :math:`u` is the relevance of the policies' exposure-per-relevance ratios (parity's
target, the LP's constraint and utility) and MMR's relevance term; the *evaluation* uses the
world's truth instead (:mod:`hermes_core.rerank.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from hermes_core.rerank.exposure import normalise_rows

COHORT_NAMES: tuple[str, str] = ("independent", "mainstream")


@dataclass(frozen=True, eq=False)
class CandidateLists:
    """``B`` padded candidate lists and what the policies know of their items.

    ``keys (B,)``, ``user_ids (B,)``; ``items (B, N)`` catalogue index (``-1`` padding); ``mask (B, N)``;
    ``scores (B, N)`` the ranker's (0 at padding); ``ranks (B, N)`` 1 = top (0 at padding);
    ``relevance (B, N)`` the mapped :math:`u` (0 at padding); ``protected (B, N)`` cohort A;
    ``item_vectors (n_items, d)`` unit rows (zero for an item without a vector); ``item_category``
    ``(n_items,)`` int, or ``(n_items, C)`` bool for multi-label categories; ``item_ids``
    ``(n_items,)`` the catalogue's ids; ``item_protected (n_items,)``; ``protected_name`` and
    ``other_name`` the cohorts' names; ``category_names`` (C,).
    """

    keys: np.ndarray
    user_ids: np.ndarray
    items: np.ndarray
    mask: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    relevance: np.ndarray
    protected: np.ndarray
    item_vectors: np.ndarray
    item_category: np.ndarray
    category_names: tuple[str, ...]
    item_ids: np.ndarray
    item_protected: np.ndarray
    protected_name: str
    other_name: str

    def __post_init__(self) -> None:
        shape = self.items.shape
        for name in ("mask", "scores", "ranks", "relevance", "protected"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"CandidateLists.{name} has shape {getattr(self, name).shape}, items {shape}")
        if len(self.keys) != shape[0] or len(self.user_ids) != shape[0]:
            raise ValueError(f"CandidateLists: {len(self.keys)} keys and {len(self.user_ids)} users for {shape[0]} lists")
        if (self.items[self.mask] < 0).any() or (self.items[~self.mask] != -1).any():
            raise ValueError("CandidateLists.items must be >= 0 at real candidates and -1 at padding")
        if not self.mask[:, 0].all():
            raise ValueError("CandidateLists: every list needs at least one candidate (column 0 real)")
        values = self.relevance[self.mask]
        if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
            raise ValueError("CandidateLists.relevance must lie in [0, 1] at every real candidate")

    @property
    def n_lists(self) -> int:
        return int(self.items.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.items.shape[1])

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_categories(self) -> int:
        return len(self.category_names)

    def take(self, rows: np.ndarray) -> CandidateLists:
        """The lists ``rows`` only (same catalogue)."""
        rows = np.asarray(rows)
        return replace(self, keys=self.keys[rows], user_ids=self.user_ids[rows], items=self.items[rows],
                       mask=self.mask[rows], scores=self.scores[rows], ranks=self.ranks[rows],
                       relevance=self.relevance[rows], protected=self.protected[rows])  # fmt: skip

    def catalogue_slates(self, slates: np.ndarray) -> np.ndarray:
        """``(B, K)`` catalogue indices of ``slates`` (column indices; ``-1`` stays ``-1``), one row per list."""
        if slates.ndim != 2 or slates.shape[0] != self.n_lists:
            raise ValueError(f"slates must be (B = {self.n_lists}, K), got shape {slates.shape}")
        return np.where(slates >= 0, np.take_along_axis(self.items, np.maximum(slates, 0), axis=1), -1)

    def top_k(self, k: int) -> np.ndarray:
        """``(B, k)`` the ranker's own slates: columns ``0 .. k-1`` (``-1`` past a short list)."""
        columns = np.broadcast_to(np.arange(k), (self.n_lists, k))
        real = np.take_along_axis(self.mask, np.minimum(columns, self.n_candidates - 1), axis=1) & (
            columns < self.n_candidates)
        return np.where(real, columns, -1)


def map_scores(scores: np.ndarray, mask: np.ndarray, mapping: str) -> np.ndarray:
    """``(B, N)`` relevance :math:`u \\in [0, 1]` of the ranker's ``scores`` (module docstring), 0 at
    padding. ``scores`` must be sorted best first within each list (the rank stage's order) for
    ``rank_percentile``, which reads ranks from the column index."""
    values = np.asarray(scores, dtype=np.float64)
    real = np.asarray(mask, dtype=bool)
    if values.shape != real.shape or values.ndim != 2:
        raise ValueError(f"scores and mask must be (B, N) of one shape, got {values.shape} and {real.shape}")
    if not np.isfinite(values[real]).all():
        raise ValueError("the ranker's scores must be finite at every real candidate")
    if mapping == "rank_percentile":
        length = real.sum(axis=1, keepdims=True)
        column = np.arange(values.shape[1])[None, :]
        out = 1.0 - column / np.maximum(length - 1, 1)
    elif mapping == "min_max":
        low = np.where(real, values, np.inf).min(axis=1, keepdims=True)
        high = np.where(real, values, -np.inf).max(axis=1, keepdims=True)
        span = high - low
        out = np.where(span > 0, (values - low) / np.where(span > 0, span, 1.0), 1.0)
    elif mapping == "sigmoid":
        out = 0.5 * (1.0 + np.tanh(values / 2.0))  # the logistic, without overflow for large |s|
    else:
        raise ValueError(f"rerank.score_mapping must be rank_percentile, min_max or sigmoid, got {mapping!r}")
    return np.where(real, np.clip(out, 0.0, 1.0), 0.0)


def pad_lists(frame: pd.DataFrame, item_index: dict[str, int], max_candidates: int) -> dict[str, np.ndarray]:
    """The rank stage's long table (``key``, ``user_id``, ``item_id``, ``score``, ``rank``) as padded
    arrays, lists in first-appearance order of ``key``, each sorted by ``rank`` and cut at
    ``max_candidates``: ``keys``, ``user_ids``, ``items``, ``mask``, ``scores``, ``ranks``.

    Raises ``ValueError`` naming the key when a list holds one item twice, mixes users, or an
    item id is not in ``item_index``.
    """
    missing = [c for c in ("key", "user_id", "item_id", "score", "rank") if c not in frame.columns]
    if missing:
        raise ValueError(f"scores table lacks columns {missing} (has {list(frame.columns)})")
    frame = frame.assign(_order=pd.factorize(frame["key"])[0]).sort_values(["_order", "rank"], kind="stable")
    frame = frame[frame.groupby("_order").cumcount() < max_candidates]
    unknown = sorted(set(frame["item_id"]) - set(item_index))
    if unknown:
        raise ValueError(f"scores table names {len(unknown)} items unknown to the catalogue, e.g. {unknown[0]!r}")
    users = frame.groupby("_order")["user_id"].nunique()
    if (users > 1).any():
        raise ValueError(f"key {frame.loc[frame['_order'] == users.index[users > 1][0], 'key'].iat[0]!r} mixes users")
    duplicated = frame.duplicated(["_order", "item_id"])
    if duplicated.any():
        raise ValueError(f"key {frame.loc[duplicated, 'key'].iat[0]!r} lists item "
                         f"{frame.loc[duplicated, 'item_id'].iat[0]!r} twice")
    order = frame["_order"].to_numpy()
    column = frame.groupby("_order").cumcount().to_numpy()
    n_lists = int(order.max()) + 1 if len(order) else 0
    width = int(column.max()) + 1 if len(column) else 0
    items = np.full((n_lists, width), -1, dtype=np.int64)
    scores = np.zeros((n_lists, width))
    ranks = np.zeros((n_lists, width), dtype=np.int64)
    items[order, column] = frame["item_id"].map(item_index).to_numpy()
    scores[order, column] = frame["score"].to_numpy(dtype=np.float64)
    ranks[order, column] = frame["rank"].to_numpy(dtype=np.int64)
    first = frame.groupby("_order").head(1)
    return {"keys": first["key"].to_numpy(dtype=object), "user_ids": first["user_id"].to_numpy(dtype=object),
            "items": items, "mask": items >= 0, "scores": scores, "ranks": ranks}  # fmt: skip


def item_vectors_from_table(table: pd.DataFrame, item_index: dict[str, int], n_items: int) -> np.ndarray:
    """``(n_items, d)`` unit item vectors from the encode stage's ``embeddings.parquet`` (the column
    whose name ends in ``_item_vector``); an item absent from the table gets a zero row (cosine 0
    with everything)."""
    columns = [name for name in table.columns if name.endswith("_item_vector")]
    if len(columns) != 1:
        raise ValueError(f"embeddings table needs exactly one '*_item_vector' column, has {columns}")
    vectors = np.stack(table[columns[0]].to_numpy()).astype(np.float64)
    rows = table["item_id"].map(item_index)
    if rows.isna().any():
        unknown = table["item_id"][rows.isna()].iat[0]
        raise ValueError(f"embeddings table names an item unknown to the catalogue: {unknown!r}")
    out = np.zeros((n_items, vectors.shape[1]))
    out[rows.to_numpy(dtype=np.int64)] = vectors
    return normalise_rows(out)


__all__ = ["COHORT_NAMES", "CandidateLists", "item_vectors_from_table", "map_scores", "pad_lists"]
