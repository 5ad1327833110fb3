"""Hand-built candidate lists for the stage's tests (no world, no files)."""

from __future__ import annotations

import numpy as np

from hermes_core.rerank.evaluation import Truth
from hermes_core.rerank.exposure import normalise_rows
from hermes_core.rerank.inputs import CandidateLists, map_scores


def make_lists(items: np.ndarray, protected_items: np.ndarray, *, vectors: np.ndarray | None = None,
               category: np.ndarray | None = None, mapping: str = "rank_percentile",
               scores: np.ndarray | None = None) -> CandidateLists:
    """Lists ``items (B, N)`` (``-1`` padding) over a catalogue of ``len(protected_items)`` items, in the
    ranker's order (scores ``N - column`` unless given); vectors default to one-hot rows (every pair
    of distinct items has cosine 0), categories to the item index modulo 3."""
    items = np.asarray(items, dtype=np.int64)
    mask = items >= 0
    n_items = len(protected_items)
    if scores is None:
        scores = np.where(mask, (items.shape[1] - np.arange(items.shape[1]))[None, :].astype(float), 0.0)
    protected_items = np.asarray(protected_items, dtype=bool)
    category = np.arange(n_items) % 3 if category is None else np.asarray(category)
    return CandidateLists(
        keys=np.array([f"r{i}" for i in range(items.shape[0])], dtype=object),
        user_ids=np.array([f"w:user:{i:06d}" for i in range(items.shape[0])], dtype=object),
        items=items, mask=mask, scores=scores,
        ranks=np.where(mask, np.arange(1, items.shape[1] + 1)[None, :], 0),
        relevance=map_scores(scores, mask, mapping),
        protected=np.where(mask, protected_items[np.maximum(items, 0)], False),
        item_vectors=normalise_rows(np.eye(n_items) if vectors is None else np.asarray(vectors, dtype=float)),
        item_category=category, category_names=_category_names(category),
        item_ids=np.array([f"w:item:{i:06d}" for i in range(n_items)], dtype=object),
        item_protected=protected_items, protected_name="independent", other_name="mainstream",
    )  # fmt: skip


def _category_names(category: np.ndarray) -> tuple[str, ...]:
    """``c0, c1, ...``: one name per column of a multi-label matrix, else per category index."""
    count = category.shape[1] if category.ndim == 2 else int(category.max()) + 1
    return tuple(f"c{i}" for i in range(count))


def make_truth(grades: np.ndarray, merit: np.ndarray | None = None, clicks: object = None) -> Truth:
    """A truth from grades (merit ``(2^g - 1)/15`` unless given)."""
    grades = np.asarray(grades, dtype=float)
    return Truth(grades=grades, merit=(np.exp2(grades) - 1) / 15 if merit is None else np.asarray(merit, dtype=float),
                 expected_clicks=clicks, description="hand truth")  # fmt: skip
