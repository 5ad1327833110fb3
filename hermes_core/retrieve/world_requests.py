r"""The world protocol: requests and text queries split by time, each with its truly relevant items.

The logging window ends at day :math:`T` (``world.log_days``). A logged request or a world text
query belongs to the **test** split when it happens in the last ``retrieve.split.test_days`` days,
to the **validation** split in the ``validation_days`` before them (the blend's weights are fitted
there, never on test), and to **training** before (what the baselines and SASRec learn from).

**Logged requests** (no query): up to ``max_requests`` per split, drawn without replacement with the
stage's seed among the requests whose user has clicked at least once before. A request carries:

* the user's **history**: every item she clicked before the request, in click order (all sessions);
* the session's **context**: its earlier clicks, modality intent, hour and day (what the world's
  contextual truth conditions on);
* its **relevant items**: :math:`\{i : \text{grade}(u, i \mid h_{\text{session}}, x) \ge g\}` over the
  whole catalogue (``World.contextual_relevance``, ``relevance_grade`` :math:`g`), less the items of
  her history (a candidate generator does not re-serve what she has consumed). Logged next clicks are
  biased towards what the logging policy showed; the contextual truth is not.

**Text queries** (the world's, each issued by a user at a time): relevant items are those of query
grade :math:`\ge` ``query_relevance_grade`` (``World.query_relevance``), less the user's history.
A query's **class** is ``explicit`` when the constraint extractor finds a constraint in its text,
else ``free_text``; logged requests are ``no_query``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hermes_core.retrieve.query_understanding import ConstraintExtractor, Constraints
from hermes_core.retrieve.params import RetrieveSplitParams
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.click_log import ClickLog
from hermes_core.world.simulate import request_context
from hermes_core.world.world import World

SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class RequestSet:
    """The requests and queries of one split, one row each (``frame``), with per-row arrays."""

    split: str
    frame: pd.DataFrame  # key, kind, query_class, user, time_days, request, query, query_kind, text, n_relevant
    histories: list[np.ndarray]  # the user's clicks before the row, oldest first
    session_histories: list[np.ndarray]  # the session's clicks before the request (empty for queries)
    relevant: list[np.ndarray]  # truly relevant items, history excluded
    constraints: list[Constraints] = field(default_factory=list)  # extracted (empty for logged requests)
    next_clicks: list[np.ndarray] = field(default_factory=list)  # the request's own clicks (logged protocol)

    def __len__(self) -> int:
        return len(self.frame)


def split_bounds(world: World, params: RetrieveSplitParams) -> dict[str, tuple[float, float]]:
    """``{split: (start_seconds, end_seconds)}``, end exclusive (the last split ends after the log)."""
    end = world.params.log_days * SECONDS_PER_DAY
    test_start = end - params.test_days * SECONDS_PER_DAY
    validation_start = test_start - params.validation_days * SECONDS_PER_DAY
    if validation_start <= 0:
        raise ValueError(f"retrieve.split: test_days + validation_days = {params.test_days + params.validation_days:g} "
                         f"leaves no training days in a log of {world.params.log_days} days")
    return {"train": (0.0, validation_start), "validation": (validation_start, test_start),
            "test": (test_start, end + 1.0)}  # fmt: skip


def logged_requests(world: World, clicks: ClickLog, split: str, params: RetrieveSplitParams,
                    rng: np.random.Generator) -> RequestSet:
    """Up to ``params.max_requests`` logged requests of ``split`` whose user has clicked before, with
    their histories, contexts and contextual truth (module docstring)."""
    logs = world.logs
    start, end = split_bounds(world, params)[split]
    inside = np.flatnonzero((logs.timestamp >= start) & (logs.timestamp < end))
    has_history = np.array([clicks.before(int(logs.user[r]), float(logs.timestamp[r])).size > 0 for r in inside],
                           dtype=bool)  # fmt: skip
    eligible = inside[has_history]
    chosen = np.sort(rng.choice(eligible, size=min(params.max_requests, eligible.size), replace=False))
    rows, histories, sessions, relevant, next_clicks = [], [], [], [], []
    for r in chosen:
        user, seconds = int(logs.user[r]), float(logs.timestamp[r])
        history = clicks.before(user, seconds)
        session = clicks.session_before(int(logs.session[r]), seconds)
        context = request_context(logs.modality_intent[r : r + 1], logs.timestamp[r : r + 1])
        grades = world.contextual_relevance(user, session, None, context)
        truth = np.setdiff1d(np.flatnonzero(grades >= params.relevance_grade), history)
        own = clicks.item[clicks.request == r]
        rows.append({"key": f"r{int(r)}", "kind": "request", "query_class": "no_query", "user": user,
                     "time_days": seconds / SECONDS_PER_DAY, "request": int(r), "query": -1, "query_kind": "",
                     "text": "", "n_relevant": int(truth.size)})  # fmt: skip
        histories.append(history)
        sessions.append(session)
        relevant.append(truth)
        next_clicks.append(np.setdiff1d(own, history))
    return RequestSet(split, pd.DataFrame(rows), histories, sessions, relevant,
                      [Constraints() for _ in rows], next_clicks)  # fmt: skip


def query_requests(world: World, clicks: ClickLog, split: str, params: RetrieveSplitParams,
                   extractor: ConstraintExtractor) -> RequestSet:
    """Every world text query of ``split``, with its issuer's history, its extracted constraints, its
    class and its relevant items (module docstring)."""
    queries = world.queries
    start, end = split_bounds(world, params)[split]
    inside = np.flatnonzero((queries.timestamp >= start) & (queries.timestamp < end))
    rows, histories, relevant, constraints = [], [], [], []
    for q in inside:
        user, seconds = int(queries.user[q]), float(queries.timestamp[q])
        history = clicks.before(user, seconds)
        found = extractor.extract(queries.text[q])
        truth = np.setdiff1d(np.flatnonzero(world.query_relevance(int(q)) >= params.query_relevance_grade), history)
        rows.append({"key": f"q{int(q)}", "kind": "query", "query_class": "free_text" if found.is_empty else "explicit",
                     "user": user, "time_days": seconds / SECONDS_PER_DAY, "request": -1, "query": int(q),
                     "query_kind": queries.kind[q], "text": queries.text[q], "n_relevant": int(truth.size)})  # fmt: skip
        histories.append(history)
        relevant.append(truth)
        constraints.append(found)
    empty = [np.zeros(0, dtype=np.int64) for _ in rows]
    return RequestSet(split, pd.DataFrame(rows), histories, empty, relevant, constraints, empty)


def combined(first: RequestSet, second: RequestSet) -> RequestSet:
    """Two request sets of one split, rows of ``first`` then ``second``."""
    if first.split != second.split:
        raise ValueError(f"cannot combine splits {first.split!r} and {second.split!r}")
    return RequestSet(first.split, pd.concat([first.frame, second.frame], ignore_index=True),
                      first.histories + second.histories, first.session_histories + second.session_histories,
                      first.relevant + second.relevant, first.constraints + second.constraints,
                      first.next_clicks + second.next_clicks)  # fmt: skip


def world_request_sets(world: World, params: RetrieveSplitParams, extractor: ConstraintExtractor,
                       seed: int) -> dict[str, RequestSet]:
    """The validation and test splits: sampled logged requests, then every text query of the split."""
    clicks = ClickLog.of(world.logs)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    return {split: combined(logged_requests(world, clicks, split, params, rng),
                            query_requests(world, clicks, split, params, extractor))
            for split in ("validation", "test")}  # fmt: skip


__all__ = ["SPLITS", "ClickLog", "RequestSet", "combined", "logged_requests", "query_requests", "split_bounds",
           "world_request_sets"]
