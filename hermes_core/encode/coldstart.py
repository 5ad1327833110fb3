r"""Training pairs, user profiles, cold-start evaluation and its content-free baselines.

Query vectors
-------------
Every query is one vector :math:`q = [q^{txt}; q^{img}] \in \mathbb{R}^{d_t + d_v}` (text part
first, 384 + 1280 for MiniLM and EfficientNet-Lite0):

* a **user** query is the masked mean of the (prepared) text and image embeddings of the warm
  items the user clicked before the cut-off: :math:`q^{m}_u = \frac{1}{|P^m_u|}\sum_{i \in P^m_u} m_i`
  over the positives :math:`P^m_u` that have modality :math:`m` (zero when none has it);
* a **text** query is the MiniLM embedding of its words, :math:`q = [t_q; 0]`.

Training pairs are leave-one-out: the pair (user :math:`u`, positive :math:`i`) uses the
profile of :math:`P_u \setminus \{i\}`, so the positive is never part of its own query.

Cold-start protocol
-------------------
Full ranking of *all* cold items for each evaluated user (no sampled negatives), scored by
each model from content alone (cold items have no interaction). NDCG@k uses gains
:math:`2^{rel}-1`, the discount :math:`1/\log_2(r+1)` and the ideal DCG over all cold items;
recall@k counts the relevant cold items in the top k over all relevant cold items. Users with
no relevant cold item are **excluded** from the mean and counted
(:mod:`hermes_core.encode.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.encode.metrics import RankingMetric, ndcg_at_k, recall_at_k


def prepare_features(embeddings: np.ndarray, mask: np.ndarray, centre: bool = True) -> np.ndarray:
    r"""Centre the present rows on their mean and L2-normalise them; missing rows stay zero.

    :math:`x_i \leftarrow (x_i - \bar x) / \lVert x_i - \bar x\rVert` with :math:`\bar x` the mean
    of the rows where ``mask`` is True. EfficientNet's pooled features are non-negative (ReLU6
    averages), so without centring every pair of images has a cosine near 1; centring makes
    the two modalities comparable inputs of the towers. ``centre=False`` only normalises.
    """
    features = np.asarray(embeddings, dtype=np.float32)
    present = np.asarray(mask, dtype=bool)
    if features.ndim != 2 or present.shape != (features.shape[0],):
        raise ValueError(f"embeddings (n, d) and mask (n,) expected, got {features.shape} and {present.shape}")
    result = np.zeros_like(features)
    if not present.any():
        return result
    rows = features[present].astype(np.float64)
    if centre:
        rows = rows - rows.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result[present] = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


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
            f"encode.validation_item_share={share} holds out {n_held} of {len(clicked)} clicked warm items; "
            "it must leave at least one on each side"
        )
    return np.sort(np.random.default_rng(seed).choice(clicked, size=n_held, replace=False))


def positive_labels(positives: pd.DataFrame, user_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(user_ids), len(rows))`` bool: did the user have a positive on the item."""
    pairs = unique_positives(positives)
    users = pd.Index(np.asarray(user_ids, dtype=object)).get_indexer(pairs["user_id"].to_numpy(dtype=object))
    columns = pd.Index(np.asarray(rows)).get_indexer(pairs["item_row"].to_numpy())
    keep = (users >= 0) & (columns >= 0)
    labels = np.zeros((len(user_ids), len(rows)), dtype=bool)
    labels[users[keep], columns[keep]] = True
    return labels


# --------------------------------------------------------------------------- baselines


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


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class RankingReport:
    """NDCG@k and recall@k of one model over the same users and candidates."""

    ndcg: RankingMetric
    recall: RankingMetric
    ndcg_k: int
    recall_k: int
    n_users: int

    @property
    def n_excluded_ndcg(self) -> int:
        return self.n_users - self.ndcg.n_scored

    @property
    def n_excluded_recall(self) -> int:
        return self.n_users - self.recall.n_scored


def evaluate_ranking(
    scores: np.ndarray, grades: np.ndarray, relevant: np.ndarray, ndcg_k: int, recall_k: int
) -> RankingReport:
    """Full-ranking NDCG@``ndcg_k`` on ``grades`` and recall@``recall_k`` on ``relevant``.

    ``scores``, ``grades`` and ``relevant`` are ``(n_users, n_candidates)``. Users whose grades
    are all 0 (NDCG) or with no relevant candidate (recall) are excluded and counted.
    """
    return RankingReport(
        ndcg=ndcg_at_k(scores, grades, ndcg_k),
        recall=recall_at_k(scores, np.asarray(relevant, dtype=bool), recall_k),
        ndcg_k=ndcg_k,
        recall_k=recall_k,
        n_users=int(np.asarray(scores).shape[0]),
    )


def movielens_grades(
    heldout: pd.DataFrame, user_ids: np.ndarray, candidate_rows: np.ndarray, positive_rating: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Relevance of held-out cold movies from their ratings: ``(grades, relevant)``.

    A cold movie the user rated :math:`r` gets grade :math:`\max(0, \lceil r \rceil - 2)`
    (5 → 3, 4 → 2, 3 → 1, 1-2 → 0); an unrated one 0 (unknown counts as not relevant, the
    usual convention of full-ranking evaluation on MovieLens). ``relevant`` is
    :math:`r \ge` ``positive_rating``. Both are ``(len(user_ids), len(candidate_rows))``.
    """
    user_position = pd.Index(np.asarray(user_ids, dtype=object))
    column = pd.Index(np.asarray(candidate_rows))
    users = user_position.get_indexer(heldout["user_id"].to_numpy(dtype=object))
    columns = column.get_indexer(heldout["item_row"].to_numpy())
    keep = (users >= 0) & (columns >= 0)
    ratings = heldout["rating"].to_numpy(dtype=np.float64)[keep]
    grades = np.zeros((len(user_position), len(column)), dtype=np.int64)
    relevant = np.zeros(grades.shape, dtype=bool)
    grades[users[keep], columns[keep]] = np.maximum(0, np.ceil(ratings) - 2).astype(np.int64)
    relevant[users[keep], columns[keep]] = ratings >= positive_rating
    return grades, relevant


def paired_difference(
    per_user_a: np.ndarray, per_user_b: np.ndarray, n_bootstrap: int, seed: int, level: float = 0.95
) -> dict[str, float]:
    r"""Mean per-user difference :math:`\bar d = \frac1n \sum_u (a_u - b_u)` with a paired
    percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13).

    Users where either value is NaN (excluded from a metric) are left out. Resamples users
    with replacement ``n_bootstrap`` times with ``default_rng(seed)``; returns ``difference``,
    ``ci_low``, ``ci_high`` (the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles) and ``n_users``.
    """
    a, b = np.asarray(per_user_a, dtype=np.float64), np.asarray(per_user_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"per-user arrays differ in shape: {a.shape} vs {b.shape}")
    differences = (a - b)[~(np.isnan(a) | np.isnan(b))]
    if len(differences) == 0:
        return {"difference": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n_users": 0}
    rng = np.random.default_rng(seed)
    means = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, 100):  # blocks of 100 resamples bound the memory
        block = min(100, n_bootstrap - start)
        draws = rng.integers(0, len(differences), (block, len(differences)))  # (block, n_users)
        means[start : start + block] = differences[draws].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": float(differences.mean()), "ci_low": float(low), "ci_high": float(high),
            "n_users": int(len(differences))}

