r"""The world protocol of the rank stage: training, validation and test lists with their true grades.

Time splits follow the retrieve stage (``retrieve.split``): the test and validation requests are
the retrieve stage's logged requests of the last ``test_days`` and of the ``validation_days``
before them, with its candidates; training requests and the pre-ranker's clicks come from the days
before that, so nothing the rankers learn from happens after a request they are scored on.

* **Training lists**: for a logged request, ``list_size`` items drawn from the
  pre-ranker's top ``pool_size`` of the catalogue less the user's history (so the fine ranker sees
  the range of pre-ranker scores it will meet at serving time), each labelled with its **true
  contextual grade** 0..4 given the session and its context (``World.contextual_relevance``).
  These grades play the part of a learning-to-rank set's editorial judgments; the position-bias
  experiment (:mod:`hermes_core.rank.click_bias`) trains on logged clicks instead.
* **Validation and test lists**: every candidate the retrieve stage returned for the request (up
  to ``retrieve.candidates.top_n``), with its true grade; the pre-ranker keeps its top
  ``pre_rank_top_n`` and the fine ranker orders those. The validation lists choose every epoch,
  boosting round and the training pool's depth; only the test lists are reported.

Text queries of the retrieve output are not ranked here: the ranker's features do not read a
query, so their retrieve order is kept (said in the notebook).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.rank.features import FeatureBuilder, RequestContext
from hermes_core.rank.lists import RankingLists, pad_lists
from hermes_core.rank.two_tower import TrainedTwoTower, user_inputs
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.click_log import ClickLog
from hermes_core.world.simulate import request_context
from hermes_core.world.world import World, index_of


@dataclass(frozen=True)
class SplitDays:
    """Start and end (days since the world's start, end exclusive) of training, validation and test."""

    train: tuple[float, float]
    validation: tuple[float, float]
    test: tuple[float, float]


def split_days(world: World, validation_days: float, test_days: float) -> SplitDays:
    """The retrieve stage's temporal split of the logging window (module docstring)."""
    end = float(world.params.log_days)
    test_start = end - test_days
    validation_start = test_start - validation_days
    if validation_start <= 0:
        raise ValueError(f"retrieve.split: test_days + validation_days = {test_days + validation_days:g} leaves no "
                         f"training days in a log of {end:g} days")  # fmt: skip
    return SplitDays((0.0, validation_start), (validation_start, test_start), (test_start, end + 1.0))


def context_of(world: World, clicks: ClickLog, request: int) -> RequestContext:
    """What the ranker sees of logged request ``request``: user, time, history and session so far."""
    logs = world.logs
    user, seconds = int(logs.user[request]), float(logs.timestamp[request])
    return RequestContext(user, seconds, clicks.before(user, seconds),
                          clicks.session_before(int(logs.session[request]), seconds))


def true_grades(world: World, request: int, context: RequestContext, items: np.ndarray) -> np.ndarray:
    """True contextual grades 0..4 of ``items`` for logged request ``request`` (the world's truth)."""
    logs = world.logs
    situation = request_context(logs.modality_intent[request:request + 1], logs.timestamp[request:request + 1])
    return world.contextual_relevance(context.user, context.session, items, situation).astype(np.float32)


def sample_requests(world: World, clicks: ClickLog, days: tuple[float, float], n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` logged requests in ``days`` whose user clicked before, sorted (seeded draw)."""
    logs = world.logs
    start, end = days[0] * SECONDS_PER_DAY, days[1] * SECONDS_PER_DAY
    inside = np.flatnonzero((logs.timestamp >= start) & (logs.timestamp < end))
    first_click = pd.Series(clicks.time).groupby(clicks.user).min()
    first = first_click.reindex(logs.user[inside]).to_numpy()
    eligible = inside[np.nan_to_num(first, nan=np.inf) < logs.timestamp[inside]]
    return np.sort(rng.choice(eligible, size=min(n, eligible.size), replace=False))


def tower_training_clicks(world: World, clicks: ClickLog, builder: FeatureBuilder,
                          days: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """``(user_x (n_clicks, F_u), clicked items (n_clicks,))`` of every click in ``days``, each with
    the user-tower inputs of the request it was made in."""
    start, end = days[0] * SECONDS_PER_DAY, days[1] * SECONDS_PER_DAY
    chosen = np.flatnonzero((clicks.time >= start) & (clicks.time < end))
    requests = clicks.request[chosen]
    unique, inverse = np.unique(requests, return_inverse=True)
    user_x = user_inputs(builder, [context_of(world, clicks, int(r)) for r in unique])
    return user_x[inverse], clicks.item[chosen]


@dataclass(frozen=True, eq=False)
class TrainingLists:
    """Lists of logged requests (``requests``, world indices) with features and true grades."""

    requests: np.ndarray
    lists: RankingLists


def training_lists(world: World, clicks: ClickLog, builder: FeatureBuilder, tower: TrainedTwoTower,
                   requests: np.ndarray, list_size: int, pool_size: int, rng: np.random.Generator) -> TrainingLists:
    """``list_size`` items drawn without replacement from the pre-ranker's top ``pool_size`` (history
    excluded) of each request, in the pre-ranker's order, with its score as the last feature and the
    true grades as labels. Drawing from a pool as deep as the fine ranker's input
    (``pre_rank_top_n``) shows it the range of candidates it will score, not only the very top."""
    if pool_size < list_size:
        raise ValueError(f"rank.lists.pool_size ({pool_size}) must be at least rank.lists.list_size ({list_size})")
    contexts = [context_of(world, clicks, int(r)) for r in requests]
    every_item = np.broadcast_to(np.arange(world.n_items), (len(requests), world.n_items)).copy()
    for row, context in enumerate(contexts):
        every_item[row, np.unique(context.history)] = -1
    scores = tower.score(user_inputs(builder, contexts), every_item)
    pool = np.argsort(-scores, axis=1, kind="stable")[:, :pool_size]
    picks = np.sort(np.argsort(rng.random(pool.shape), axis=1)[:, :list_size], axis=1)  # (n, list_size) pool ranks
    top = np.take_along_axis(pool, picks, axis=1)
    features, labels, items = [], [], []
    for row, (r, context) in enumerate(zip(requests, contexts, strict=True)):
        chosen = top[row]
        block = builder.features(context, chosen)
        features.append(np.column_stack([block, scores[row, chosen].astype(np.float32)]))
        labels.append(true_grades(world, int(r), context, chosen))
        items.append(chosen)
    return TrainingLists(np.asarray(requests), pad_lists(features, labels, items, list_size))


@dataclass(frozen=True, eq=False)
class CandidateSets:
    """The retrieve stage's candidates of the logged test requests, through the pre-ranker.

    ``items``/``grades``/``retrieve_scores``/``pre_scores`` are ``(n, C)`` over every retrieved
    candidate in retrieve order (padding: item -1, grade 0, scores -inf); ``kept (n, top_n)`` are
    column indices of the pre-ranker's top items, and ``lists`` their features and grades (the
    fine ranker's input)."""

    keys: list[str]
    requests: np.ndarray
    contexts: list[RequestContext]
    items: np.ndarray
    grades: np.ndarray
    retrieve_scores: np.ndarray
    pre_scores: np.ndarray
    kept: np.ndarray
    lists: RankingLists

    def full_scores(self, kept_scores: np.ndarray) -> np.ndarray:
        """``(n, C)`` scores over every retrieved candidate from scores of the kept ones (``(n, top_n)``):
        a candidate the pre-ranker cut scores ``-inf`` (ranked after every kept one)."""
        out = np.full(self.items.shape, -np.inf)
        valid = self.kept >= 0
        rows = np.nonzero(valid)[0]
        out[rows, self.kept[valid]] = np.asarray(kept_scores)[valid]
        return out


def candidate_sets(world: World, clicks: ClickLog, builder: FeatureBuilder, tower: TrainedTwoTower,
                   candidates: pd.DataFrame, top_n: int, split: str = "test") -> CandidateSets:
    """The lists of ``split`` from ``candidates`` (the retrieve stage's parquet: ``split``, ``key``,
    ``kind``, ``rank``, ``item_id``, ``score``), logged requests only (module docstring)."""
    chosen_rows = (candidates["kind"] == "request") & (candidates["split"] == split)
    logged = candidates[chosen_rows].sort_values(["key", "rank"], kind="stable")
    keys = sorted(logged["key"].unique(), key=lambda key: int(key[1:]))
    groups = {key: frame for key, frame in logged.groupby("key", sort=False)}
    width = max((len(frame) for frame in groups.values()), default=1)
    n = len(keys)
    items = np.full((n, width), -1, dtype=np.int64)
    grades = np.zeros((n, width), dtype=np.float32)
    retrieve_scores = np.full((n, width), -np.inf)
    requests = np.array([int(key[1:]) for key in keys], dtype=np.int64)
    contexts = [context_of(world, clicks, int(r)) for r in requests]
    for row, key in enumerate(keys):
        frame = groups[key]
        chosen = np.array([index_of(item) for item in frame["item_id"]], dtype=np.int64)
        m = chosen.size
        items[row, :m], retrieve_scores[row, :m] = chosen, frame["score"].to_numpy()
        grades[row, :m] = true_grades(world, int(requests[row]), contexts[row], chosen)
    pre_scores = tower.score(user_inputs(builder, contexts), items)
    kept = np.argsort(-pre_scores, axis=1, kind="stable")[:, :top_n]
    kept = np.where(np.take_along_axis(items, kept, axis=1) >= 0, kept, -1)
    features, labels, kept_items = [], [], []
    for row, context in enumerate(contexts):
        columns = kept[row][kept[row] >= 0]
        chosen = items[row, columns]
        block = builder.features(context, chosen)
        features.append(np.column_stack([block, pre_scores[row, columns].astype(np.float32)]))
        labels.append(grades[row, columns])
        kept_items.append(chosen)
    lists = pad_lists(features, labels, kept_items, kept.shape[1])
    return CandidateSets(keys, requests, contexts, items, grades, retrieve_scores, pre_scores, kept, lists)


def retrieved_lists(builder: FeatureBuilder, test: CandidateSets) -> RankingLists:
    """Features of **every** retrieved candidate of the test requests (no pre-ranker cut), with the
    pre-ranker's score as the last feature: what the fine ranker would see without the cascade."""
    features, labels, items = [], [], []
    for row, context in enumerate(test.contexts):
        valid = test.items[row] >= 0
        chosen = test.items[row, valid]
        block = builder.features(context, chosen)
        features.append(np.column_stack([block, test.pre_scores[row, valid].astype(np.float32)]))
        labels.append(test.grades[row, valid])
        items.append(chosen)
    return pad_lists(features, labels, items, test.items.shape[1])


__all__ = ["CandidateSets", "retrieved_lists", "SplitDays", "TrainingLists", "candidate_sets", "context_of", "sample_requests",
           "split_days", "tower_training_clicks", "training_lists", "true_grades"]
