r"""Query vectors and training pairs: user profiles, leave-one-out pairs, text-query pairs.

Every query is one vector :math:`q = [q^{txt}; q^{img}] \in \mathbb{R}^{d_t + d_v}` (text part
first, 384 + 1280 for MiniLM and EfficientNet-Lite0):

* a **user** query is the masked mean of the (prepared) text and image embeddings of the warm
  items the user clicked before the cut-off: :math:`q^{m}_u = \frac{1}{|P^m_u|}\sum_{i \in P^m_u} m_i`
  over the positives :math:`P^m_u` that have modality :math:`m` (zero when none has it);
* a **text** query is the MiniLM embedding of its words, :math:`q = [t_q; 0]`.

Training pairs are leave-one-out: the pair (user :math:`u`, positive :math:`i`) uses the
profile of :math:`P_u \setminus \{i\}`, so the positive is never part of its own query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def unique_positives(positives: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, item): a repeated click of the same item is one positive."""
    return (
        positives[["user_id", "item_row"]]
        .drop_duplicates()
        .sort_values(["user_id", "item_row"], kind="stable")
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class QuerySet:
    """Query vectors with what each row stands for."""

    vectors: np.ndarray  # (n, d_t + d_v) float32: [text part, image part]
    keys: np.ndarray  # (n,) user id or query id of each row
    positive_rows: np.ndarray  # (n,) item row of the positive (training pairs); -1 for profiles
    n_positives: np.ndarray  # (n,) positives in the profile (1 for text queries)


def _modality_sums(
    users: np.ndarray, items: np.ndarray, features: np.ndarray, mask: np.ndarray, n_users: int
) -> tuple[np.ndarray, np.ndarray]:
    present = mask[items].astype(np.float64)
    sums = np.zeros((n_users, features.shape[1]), dtype=np.float64)
    np.add.at(sums, users, features[items] * present[:, None])
    counts = np.bincount(users, weights=present, minlength=n_users)
    return sums, counts


def user_profiles(
    positives: pd.DataFrame,
    text: np.ndarray,
    image: np.ndarray,
    text_mask: np.ndarray,
    image_mask: np.ndarray,
    min_positives: int,
) -> QuerySet:
    """Masked-mean profile of every user with at least ``min_positives`` distinct positives.

    Users are sorted by id; ``positive_rows`` is -1 (a profile has no single positive).
    """
    pairs = unique_positives(positives)
    counts = pairs.groupby("user_id", sort=True).size()
    kept = counts[counts >= min_positives]
    pairs = pairs[pairs["user_id"].isin(kept.index)]
    user_codes, user_ids = pd.factorize(pairs["user_id"], sort=True)
    items = pairs["item_row"].to_numpy()
    n_users = len(user_ids)
    text_sum, text_count = _modality_sums(user_codes, items, text, text_mask, n_users)
    image_sum, image_count = _modality_sums(user_codes, items, image, image_mask, n_users)
    vectors = np.concatenate(
        [text_sum / np.maximum(text_count, 1)[:, None], image_sum / np.maximum(image_count, 1)[:, None]], axis=1
    ).astype(np.float32)
    return QuerySet(
        vectors=vectors,
        keys=np.asarray(user_ids, dtype=object),
        positive_rows=np.full(n_users, -1, dtype=np.int64),
        n_positives=kept.loc[user_ids].to_numpy(dtype=np.int64),
    )


def leave_one_out_pairs(
    positives: pd.DataFrame,
    text: np.ndarray,
    image: np.ndarray,
    text_mask: np.ndarray,
    image_mask: np.ndarray,
) -> QuerySet:
    r"""One training pair per distinct (user, positive item), the query built without the item.

    For user :math:`u` with distinct positives :math:`P_u` (:math:`|P_u| \ge 2`) and each
    :math:`i \in P_u`, the query's modality part is the masked mean over :math:`P_u \setminus \{i\}`
    (zero when no other positive has that modality). Users with one positive give no pair.
    """
    pairs = unique_positives(positives)
    sizes = pairs.groupby("user_id")["item_row"].transform("size")
    pairs = pairs[sizes >= 2].reset_index(drop=True)
    user_codes, user_ids = pd.factorize(pairs["user_id"], sort=True)
    items = pairs["item_row"].to_numpy()
    n_users = len(user_ids)
    parts = []
    for features, mask in ((text, text_mask), (image, image_mask)):
        sums, counts = _modality_sums(user_codes, items, features, mask, n_users)
        own = mask[items].astype(np.float64)
        rest_sum = sums[user_codes] - features[items] * own[:, None]  # (n_pairs, d)
        rest_count = counts[user_codes] - own
        parts.append(np.where(rest_count[:, None] > 0, rest_sum / np.maximum(rest_count, 1)[:, None], 0.0))
    return QuerySet(
        vectors=np.concatenate(parts, axis=1).astype(np.float32),
        keys=np.asarray(user_ids, dtype=object)[user_codes],
        positive_rows=items.astype(np.int64),
        n_positives=(pairs.groupby("user_id")["item_row"].transform("size").to_numpy() - 1).astype(np.int64),
    )

def text_query_pairs(
    query_text: np.ndarray,
    query_ids: np.ndarray,
    grades: np.ndarray,
    eligible: np.ndarray,
    image_dim: int,
    positive_grade: int,
    max_positives: int,
    seed: int,
) -> QuerySet:
    """Training pairs ``([t_q; 0], item)`` for items of grade ``>= positive_grade``.

    ``grades`` is ``(n_queries, n_items)``; only ``eligible`` items (the warm ones) can be
    positives. A query with more than ``max_positives`` positives keeps a seeded sample.
    """
    rng = np.random.default_rng(seed)
    vectors, keys, rows = [], [], []
    for q in range(len(query_ids)):
        candidates = np.flatnonzero((grades[q] >= positive_grade) & eligible)
        if len(candidates) > max_positives:
            candidates = np.sort(rng.choice(candidates, size=max_positives, replace=False))
        rows.append(candidates)
        keys.extend([query_ids[q]] * len(candidates))
        vectors.append(np.repeat(query_vectors(query_text[q : q + 1], image_dim), len(candidates), axis=0))
    dim = query_text.shape[1] + image_dim
    return QuerySet(
        vectors=np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32),
        keys=np.asarray(keys, dtype=object),
        positive_rows=np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64),
        n_positives=np.ones(len(keys), dtype=np.int64),
    )


def query_vectors(query_text: np.ndarray, image_dim: int) -> np.ndarray:
    """Text queries as ``[t_q; 0]``: ``(n, d_t + image_dim)``."""
    text = np.asarray(query_text, dtype=np.float32)
    return np.concatenate([text, np.zeros((len(text), image_dim), dtype=np.float32)], axis=1)


def positive_labels(positives: pd.DataFrame, user_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(user_ids), len(rows))`` bool: did the user have a positive on the item."""
    pairs = unique_positives(positives)
    users = pd.Index(np.asarray(user_ids, dtype=object)).get_indexer(pairs["user_id"].to_numpy(dtype=object))
    columns = pd.Index(np.asarray(rows)).get_indexer(pairs["item_row"].to_numpy())
    keep = (users >= 0) & (columns >= 0)
    labels = np.zeros((len(user_ids), len(rows)), dtype=bool)
    labels[users[keep], columns[keep]] = True
    return labels
