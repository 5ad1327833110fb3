r"""Evaluation of next-item recommenders on time-ordered sequences: the SASRec paper's protocol.

Kang & McAuley (2018), "Self-Attentive Sequential Recommendation", ICDM, Section IV.A-B, and the
authors' code (``kang205/SASRec``, ``util.py``):

* **Leave-one-out split** (:func:`leave_one_out`): each user's last item is the test target, the
  second-to-last the validation target, the rest the training sequence. A user with fewer than 3
  interactions keeps them all for training and is never evaluated (``data_partition``). The
  validation target is predicted from the training sequence; the test target from the training
  sequence followed by the validation item.
* **Sampled protocol** (:func:`sample_candidates`, :func:`sampled_metrics`): the target is ranked
  against 100 items the user never interacted with, each drawn uniformly from the catalogue
  ``1..n_items`` by rejection (independent draws, so the 100 may repeat an item, as in the
  reference code). One deviation, as the issue asks: the reference excludes only the training
  sequence's items, so the validation item can be a test negative; here every item of the user's
  whole sequence is excluded. The sample is seeded. The reference evaluates a random 10,000 users
  when there are more; here every evaluated user is. Sampled metrics are known to disagree with
  full ranking (Krichene & Rendle 2020, "On Sampled Metrics for Item Recommendation", KDD), hence:
* **Full ranking** (:func:`full_ranking_metrics`): the target against every item of the catalogue
  except the items of the user's history (the items the model saw as input; the target itself is
  never excluded, even when the user consumed it before).

Metrics of one target at 1-based rank :math:`r` (one relevant item, so IDCG = 1):

.. math:: \mathrm{HR@}k = \mathbb{1}[r \le k], \qquad
          \mathrm{NDCG@}k = \frac{\mathbb{1}[r \le k]}{\log_2(r + 1)}

averaged over evaluated users (a target at rank 3 scores :math:`1/\log_2 4 = 0.5`). **Ties count
against the target**: :math:`r = 1 + |\{j \ne \text{target}: s_j \ge s_\text{target}\}|`, so a
scorer that gives every candidate the same score ranks the target last, never first.

Every result carries its protocol label (:attr:`SequentialMetrics.protocol`).

Item ids are ``1..n_items``; ``0`` is the padding id of :mod:`hermes_core.data.readers.sequences`.
A scorer (:class:`SequenceScorer`) returns full-ranking scores with column ``j`` for item ``j + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

Part = Literal["validation", "test"]
PARTS: tuple[str, ...] = ("validation", "test")
N_SAMPLED_NEGATIVES = 100
"""The paper's number of sampled negatives per target."""


class SequenceScorer(Protocol):
    """What the protocols call: scores of items for users given their histories (higher = better)."""

    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(n_users, n_items) scores; column ``j`` is item ``j + 1``."""
        ...

    def score_candidates(self, histories: Sequence[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        """(n_users, n_candidates) scores of the item ids ``candidates`` (n_users, n_candidates)."""
        ...


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """Per user: the training sequence, the validation (second-to-last) and test (last) targets."""

    train: tuple[np.ndarray, ...]  # per user: every item but the last two (all items under 3)
    validation: np.ndarray  # (n_users,) int64 second-to-last item, 0 for users with < 3 interactions
    test: np.ndarray  # (n_users,) int64 last item, 0 for users with < 3 interactions
    n_items: int

    @property
    def n_users(self) -> int:
        return len(self.train)

    @property
    def evaluated(self) -> np.ndarray:
        """(n_users,) bool: users with a validation and a test target (>= 3 interactions)."""
        return self.test > 0

    def users(self) -> np.ndarray:
        """Rows of the evaluated users."""
        return np.flatnonzero(self.evaluated)

    def histories(self, part: Part) -> list[np.ndarray]:
        """The input sequence of each evaluated user: train (validation) or train + validation (test)."""
        _check_part(part)
        rows = self.users()
        if part == "validation":
            return [self.train[row] for row in rows]
        return [np.append(self.train[row], self.validation[row]) for row in rows]

    def targets(self, part: Part) -> np.ndarray:
        """(n_evaluated,) the target of each evaluated user."""
        _check_part(part)
        return (self.validation if part == "validation" else self.test)[self.evaluated]

    def interacted(self) -> list[np.ndarray]:
        """Every item of each user's whole sequence (train, validation and test), all users."""
        return [np.concatenate([train, targets[targets > 0]])
                for train, targets in zip(self.train, np.stack([self.validation, self.test], axis=1))]


def _check_part(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"part must be 'validation' or 'test', got {part!r}")


def leave_one_out(sequences: Sequence[np.ndarray], n_items: int) -> LeaveOneOutSplit:
    """Split time-ordered sequences of item ids ``1..n_items``: last item test, second-to-last validation.

    Users with fewer than 3 interactions keep their whole sequence as training data and get no
    targets (``validation`` and ``test`` 0), as in the reference's ``data_partition``.
    """
    train, validation, test = [], np.zeros(len(sequences), np.int64), np.zeros(len(sequences), np.int64)
    for row, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype=np.int64)
        if sequence.ndim != 1:
            raise ValueError(f"sequence {row} must be 1-d, got shape {sequence.shape}")
        if sequence.size and (sequence.min() < 1 or sequence.max() > n_items):
            raise ValueError(f"sequence {row} holds an item id outside 1..{n_items} (0 is the padding id)")
        if len(sequence) < 3:
            train.append(sequence)
            continue
        train.append(sequence[:-2])
        validation[row], test[row] = sequence[-2], sequence[-1]
    return LeaveOneOutSplit(tuple(train), validation, test, int(n_items))


class InteractedItems:
    """Which items each user (row) interacted with, for membership tests and negative sampling.

    Stored as the sorted keys ``row * (n_items + 1) + item``: one binary search per query, no
    per-user Python loop and no dense ``(n_users, n_items)`` matrix.
    """

    def __init__(self, items_of_each_row: Sequence[np.ndarray], n_items: int) -> None:
        self.n_items = int(n_items)
        self.n_rows = len(items_of_each_row)
        lengths = np.array([len(items) for items in items_of_each_row], dtype=np.int64)
        rows = np.repeat(np.arange(self.n_rows, dtype=np.int64), lengths)
        items = np.concatenate([np.asarray(i, np.int64) for i in items_of_each_row] + [np.zeros(0, np.int64)])
        self._keys = np.unique(rows * (self.n_items + 1) + items)
        self.n_distinct = np.bincount(self._keys // (self.n_items + 1), minlength=self.n_rows)  # (n_rows,)

    def contains(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Boolean array (broadcast shape of ``rows`` and ``items``): did row interact with item?"""
        keys = np.asarray(rows, np.int64) * (self.n_items + 1) + np.asarray(items, np.int64)
        if len(self._keys) == 0:
            return np.zeros(keys.shape, dtype=bool)
        where = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return self._keys[where] == keys

    def sample_not_interacted(self, rows: np.ndarray, n_per_row: int, rng: np.random.Generator) -> np.ndarray:
        """(len(rows), n_per_row) items drawn uniformly from ``1..n_items`` minus each row's items.

        Independent draws (an item can repeat within a row); rejected draws are redrawn until none
        is left, which samples exactly the uniform distribution over the allowed items.
        """
        rows = np.asarray(rows, np.int64)
        full = rows[self.n_distinct[rows] >= self.n_items] if len(rows) else rows
        if len(full):
            raise ValueError(f"row {int(full[0])} interacted with every one of the {self.n_items} items: "
                             "no negative can be sampled")
        items = rng.integers(1, self.n_items + 1, size=(len(rows), n_per_row))
        row_grid = np.broadcast_to(rows[:, None], items.shape)
        rejected = self.contains(row_grid, items)
        while rejected.any():
            items[rejected] = rng.integers(1, self.n_items + 1, size=int(rejected.sum()))
            rejected[rejected] = self.contains(row_grid[rejected], items[rejected])
        return items


@dataclass(frozen=True)
class CandidateLists:
    """For each evaluated user: the history, and the target followed by its sampled negatives."""

    part: str
    users: np.ndarray  # (n_evaluated,) rows of the split
    histories: tuple[np.ndarray, ...]
    candidates: np.ndarray  # (n_evaluated, 1 + n_negatives) item ids; column 0 is the target
    protocol: str


def sample_candidates(
    split: LeaveOneOutSplit, part: Part, n_negatives: int = N_SAMPLED_NEGATIVES, seed: int | np.random.Generator = 0
) -> CandidateLists:
    """The target of each evaluated user and ``n_negatives`` items the user never interacted with.

    Negatives exclude every item of the user's whole sequence (train, validation, test) and are
    drawn with :meth:`InteractedItems.sample_not_interacted` from ``numpy.random.default_rng(seed)``.
    """
    _check_part(part)
    if n_negatives < 1:
        raise ValueError(f"n_negatives must be >= 1, got {n_negatives}")
    users = split.users()
    interacted = InteractedItems(split.interacted(), split.n_items)
    negatives = interacted.sample_not_interacted(users, n_negatives, np.random.default_rng(seed))
    candidates = np.concatenate([split.targets(part)[:, None], negatives], axis=1)
    return CandidateLists(part, users, tuple(split.histories(part)), candidates, sampled_protocol(part, n_negatives))


def sampled_protocol(part: str, n_negatives: int) -> str:
    return (f"leave-one-out {part}, target vs {n_negatives} sampled never-interacted items "
            "(uniform, Kang & McAuley 2018), ties against the target")


def full_ranking_protocol(part: str) -> str:
    return f"leave-one-out {part}, full ranking of all items minus the history's, ties against the target"


@dataclass(frozen=True)
class SequentialMetrics:
    """HR@k and NDCG@k of one target per user, labelled with the protocol that produced them."""

    protocol: str
    k: int
    hit_rate: float
    ndcg: float
    n_users: int
    ranks: np.ndarray  # (n_users,) 1-based rank of each user's target

    @property
    def per_user_hit(self) -> np.ndarray:
        """(n_users,) 1.0 where the target is in the top k (the units of a paired bootstrap)."""
        return (self.ranks <= self.k).astype(np.float64)

    @property
    def per_user_ndcg(self) -> np.ndarray:
        """(n_users,) :math:`\\mathbb{1}[r \\le k] / \\log_2(r + 1)` of each user."""
        return np.where(self.ranks <= self.k, 1.0 / np.log2(self.ranks + 1.0), 0.0)

    def as_dict(self) -> dict[str, float | int | str]:
        """``{"protocol", "HR@k", "NDCG@k", "n_users"}`` for tables and metrics files."""
        return {"protocol": self.protocol, f"HR@{self.k}": self.hit_rate, f"NDCG@{self.k}": self.ndcg,
                "n_users": self.n_users}


def metrics_from_ranks(ranks: np.ndarray, k: int, protocol: str) -> SequentialMetrics:
    """HR@k and NDCG@k (module docstring) from each user's 1-based target rank."""
    ranks = np.asarray(ranks, dtype=np.int64)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if ranks.ndim != 1 or ranks.size == 0 or ranks.min() < 1:
        raise ValueError(f"ranks must be a non-empty 1-d array of ranks >= 1, got shape {ranks.shape}")
    hit = ranks <= k
    ndcg = np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0)  # (n_users,)
    return SequentialMetrics(protocol, k, float(hit.mean()), float(ndcg.mean()), int(ranks.size), ranks)


def target_ranks(scores: np.ndarray) -> np.ndarray:
    """(n,) 1-based rank of column 0 among the columns of ``scores`` (n, c); ties count against it."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"scores must be (n_users, n_candidates), got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    return 1 + (scores[:, 1:] >= scores[:, :1]).sum(axis=1)


def sampled_metrics(scorer: SequenceScorer, candidates: CandidateLists, k: int = 10) -> SequentialMetrics:
    """HR@k and NDCG@k of the targets among their sampled candidates (the paper's protocol)."""
    scores = np.asarray(scorer.score_candidates(candidates.histories, candidates.candidates))
    if scores.shape != candidates.candidates.shape:
        raise ValueError(f"score_candidates returned shape {scores.shape}, expected {candidates.candidates.shape}")
    n_negatives = candidates.candidates.shape[1] - 1
    return metrics_from_ranks(target_ranks(scores), k, sampled_protocol(candidates.part, n_negatives))


def full_ranking_metrics(
    scorer: SequenceScorer, split: LeaveOneOutSplit, part: Part, k: int = 10, batch_size: int = 1024
) -> SequentialMetrics:
    """HR@k and NDCG@k of the targets among all items but the history's (module docstring)."""
    histories, targets = split.histories(part), split.targets(part)
    ranks = np.empty(len(targets), np.int64)
    for start in range(0, len(targets), batch_size):
        batch = slice(start, start + batch_size)
        scores = np.array(scorer.score(histories[batch]), dtype=np.float64)  # (b, n_items)
        if scores.shape != (len(targets[batch]), split.n_items):
            raise ValueError(f"score returned shape {scores.shape}, expected {(len(targets[batch]), split.n_items)}")
        if np.isnan(scores).any():
            raise ValueError("score returned NaN")
        rows = np.arange(len(scores))
        target_columns = targets[batch] - 1
        competitors = np.ones(scores.shape, dtype=bool)  # (b, n_items) items ranked against the target
        for row, history in enumerate(histories[batch]):
            competitors[row, history - 1] = False
        competitors[rows, target_columns] = False  # the target is never its own competitor
        beaten_or_tied = scores >= scores[rows, target_columns][:, None]
        ranks[batch] = 1 + (beaten_or_tied & competitors).sum(axis=1)
    return metrics_from_ranks(ranks, k, full_ranking_protocol(part))
