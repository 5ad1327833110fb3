r"""How much the order of a session tells about its next click, measured on the world's own truth.

Held-out sessions: every logged session whose first request falls in the last ``held_out_days``
days of the logging window (a temporal split; nothing random). A *next-click event* is a click in
such a session that has at least one click in an earlier request of the same session (its
history: those earlier clicks in order, by request step then slate position, so the history's last
item is the request's logged ``context_item``). Clicks of the same request are not each other's
history, as in the simulator.

For each event the whole warm catalogue is ranked by four scores of the truth:

* ``full_history``: the contextual affinity ``s(u, i | h)`` with the whole history
  (:mod:`hermes_core.world.truth`);
* ``last_click``: the contextual affinity given only the history's last item;
* ``static``: the static affinity ``s(u, i)``;
* ``popularity``: the item's true log-popularity (the same ranking for every event),

and ``HR@k`` is the share of events whose clicked item ranks in the top ``k`` (full ranking, no
sampled negatives, items already in the history are not removed; ties count against the target:
its rank is the number of other items scoring at least as high). The three truth scorers use the
neutral session context (no modality intent, no hour), so they differ only in the history they
see. Issue 9's goals: ``HR(full_history) >= 1.15 HR(last_click)`` and
``HR(last_click) >= 1.15 HR(static)``. An event with a one-click history scores the same under
``full_history`` and ``last_click``.

Two more signals, over the same events:

* the history's share of the variance of contextual affinity over all (event, warm item) pairs,
  ``Cov(b, s + b) / Var(s + b)`` (the covariance decomposition, Shorrocks 1982, "Inequality
  decomposition by factor components", Econometrica 50(1); the static share is the rest, so the
  two sum to 1);
* the share of the top-10 items by contextual affinity that are not among the top-10 by static
  affinity (averaged over events).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.preferences import affinity_matrix
from hermes_core.world.simulate import Logs
from hermes_core.world.truth import NO_ITEM, history_term
from hermes_core.world.world import World

RATIO_GOAL = 1.15
SCORERS: tuple[str, ...] = ("full_history", "last_click", "static", "popularity")


@dataclass(frozen=True)
class ClickEvents:
    """Next-click events of held-out sessions, one row each."""

    request: np.ndarray  # (n,) logged request of the click
    session: np.ndarray  # (n,)
    user: np.ndarray  # (n,)
    target: np.ndarray  # (n,) clicked item
    histories: np.ndarray  # (n, L) earlier clicks of the session, right-aligned, NO_ITEM-padded


@dataclass(frozen=True)
class SequenceSignals:
    """The sequence signals of one world (see the module docstring for each definition)."""

    held_out_days: float
    k: int
    n_sessions: int  # held-out sessions with at least one event
    n_events: int
    n_events_long_history: int  # events with at least two earlier clicks (where full and last can differ)
    hit_rate: dict[str, float]  # HR@k of each scorer of SCORERS
    full_over_last_click: float
    last_click_over_static: float
    history_variance_share: float
    top10_not_in_static: float
    full_over_last_click_ci: tuple[float, float] = (float("nan"), float("nan"))
    last_click_over_static_ci: tuple[float, float] = (float("nan"), float("nan"))
    ci_level: float = 0.95
    n_bootstrap: int = 0

    @property
    def meets_goals(self) -> dict[str, bool]:
        return {"full_over_last_click": self.full_over_last_click >= RATIO_GOAL,
                "last_click_over_static": self.last_click_over_static >= RATIO_GOAL}

    def as_dict(self) -> dict[str, object]:
        """JSON-ready numbers (for ``metrics/ingest.json: world_signals``), goals included."""
        return {**asdict(self), "ratio_goal": RATIO_GOAL, "meets_goals": self.meets_goals}


def held_out_click_events(logs: Logs, start_seconds: float) -> ClickEvents:
    """The next-click events of the sessions whose first request is at or after ``start_seconds``."""
    n_sessions = int(logs.session.max()) + 1 if len(logs.session) else 0
    first_time = np.full(n_sessions, np.inf)
    np.minimum.at(first_time, logs.session, logs.timestamp)
    req, pos = np.nonzero(logs.clicks)
    session, step = logs.session[req], logs.step[req]
    order = np.lexsort((pos, step, session))
    req, pos, session, step = req[order], pos[order], session[order], step[order]
    items = logs.candidates[req, logs.slate[req, pos]]
    index = np.arange(len(req))
    new_session = np.r_[True, session[1:] != session[:-1]]
    new_group = new_session | np.r_[True, step[1:] != step[:-1]]
    session_start = np.maximum.accumulate(np.where(new_session, index, 0))
    group_start = np.maximum.accumulate(np.where(new_group, index, 0))  # first click of the same request
    keep = (first_time[session] >= start_seconds) & (group_start > session_start)
    length = int((group_start - session_start)[keep].max()) if keep.any() else 1
    # right-aligned: column L-1 holds the click just before the request, column L-1-j the one j earlier
    place = group_start[keep][:, None] - length + np.arange(length)[None, :]
    histories = np.where(place >= session_start[keep][:, None], items[np.maximum(place, 0)], NO_ITEM)
    return ClickEvents(request=req[keep], session=session[keep], user=logs.user[req[keep]],
                       target=items[keep], histories=histories.astype(np.int64))


def target_ranks(scores: np.ndarray, target_column: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among its columns, ties against the target:
    the number of other columns scoring at least as high. ``scores``: (n, m)."""
    rows = np.arange(len(scores))
    target_score = scores[rows, target_column][:, None]
    return (scores >= target_score).sum(axis=1) - 1


def top_k_overlap_missing(first: np.ndarray, second: np.ndarray, k: int) -> np.ndarray:
    """Per row, the share of the top-``k`` columns of ``first`` not among the top-``k`` of ``second``."""
    top_first = np.argpartition(-first, k - 1, axis=1)[:, :k]
    top_second = np.argpartition(-second, k - 1, axis=1)[:, :k]
    shared = (top_first[:, :, None] == top_second[:, None, :]).any(axis=2).sum(axis=1)
    return 1.0 - shared / k


def session_ratio_interval(session: np.ndarray, numerator: np.ndarray, denominator: np.ndarray,
                           n_bootstrap: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    r"""Percentile bootstrap interval of ``sum(numerator) / sum(denominator)`` over sessions.

    Events of one session share its user and history, so whole sessions are resampled: each of
    ``n_bootstrap`` resamples draws the distinct sessions with replacement
    (``default_rng(seed).integers``) and recomputes the ratio of the summed hits,
    :math:`\hat r^{*} = \sum_s c^{*}_s N_s / \sum_s c^{*}_s D_s` (``c*``: how often session ``s`` was
    drawn). Resamples with a zero denominator are dropped. ``numerator``, ``denominator``: per event.
    """
    if n_bootstrap < 100:
        raise ValueError(f"n_bootstrap must be at least 100 for a percentile interval, got {n_bootstrap}")
    keys, inverse = np.unique(session, return_inverse=True)
    per_num = np.bincount(inverse, weights=numerator.astype(float), minlength=len(keys))
    per_den = np.bincount(inverse, weights=denominator.astype(float), minlength=len(keys))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(keys), size=(n_bootstrap, len(keys)))
    num, den = per_num[draws].sum(axis=1), per_den[draws].sum(axis=1)
    ratios = num[den > 0] / den[den > 0]
    if ratios.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(low), float(high)


def sequence_signals(world: World, held_out_days: float = 14.0, k: int = 10, chunk_size: int = 1024,
                     n_bootstrap: int = 1000, seed: int = 0, level: float = 0.95) -> SequenceSignals:
    """Next-click HR@k of the four truth scorers, their ratios with session-bootstrap intervals
    (:func:`session_ratio_interval`, ``n_bootstrap`` resamples from ``seed``), the history's
    variance share and the top-10 turnover on the held-out sessions of ``world.logs`` (module
    docstring). Deterministic for a seed."""
    if not 0.0 < held_out_days <= world.params.log_days:
        raise ValueError(f"held_out_days must be in (0, log_days = {world.params.log_days}], got {held_out_days}")
    start = (world.params.log_days - held_out_days) * SECONDS_PER_DAY
    events = held_out_click_events(world.logs, start)
    if len(events.target) == 0:
        raise ValueError(f"no next-click event in the sessions of the last {held_out_days} days of the log")
    warm = np.flatnonzero(~world.catalogue.is_cold)
    target_column = np.searchsorted(warm, events.target)
    if not np.array_equal(warm[target_column], events.target):
        raise ValueError("a held-out click is on a cold item, which the log cannot contain")
    if k > len(warm):
        raise ValueError(f"k ({k}) exceeds the number of warm items ({len(warm)})")
    p, cat = world.params, world.catalogue
    hits = {name: 0 for name in SCORERS}
    event_hits = {name: np.zeros(len(events.target), dtype=bool) for name in ("full_history", "last_click", "static")}
    pop_scores = cat.log_popularity[warm]
    pop_rank = (pop_scores[None, :] >= pop_scores[target_column][:, None]).sum(axis=1) - 1
    hits["popularity"] = int((pop_rank < k).sum())
    sums = np.zeros(5)  # n, sum a, sum b, sum a^2, sum a b over (event, warm item) pairs
    turnover = 0.0
    for begin in range(0, len(events.target), chunk_size):
        rows = slice(begin, begin + chunk_size)
        static = affinity_matrix(world.model, events.user[rows], warm)  # (n, m)
        full = history_term(world.model, events.histories[rows], warm)
        last = history_term(world.model, events.histories[rows, -1:], warm)
        columns = target_column[rows]
        for name, scores in (("full_history", static + full), ("last_click", static + last), ("static", static)):
            hit = target_ranks(scores, columns) < k
            event_hits[name][rows] = hit
            hits[name] += int(hit.sum())
        contextual = static + full
        sums += (contextual.size, contextual.sum(), full.sum(), (contextual**2).sum(), (contextual * full).sum())
        turnover += float(top_k_overlap_missing(contextual, static, min(10, len(warm))).sum())
    n_events = len(events.target)
    hit_rate = {name: hits[name] / n_events for name in SCORERS}
    n, sum_a, sum_b, sum_aa, sum_ab = sums
    variance = sum_aa / n - (sum_a / n) ** 2
    covariance = sum_ab / n - (sum_a / n) * (sum_b / n)
    return SequenceSignals(
        held_out_days=float(held_out_days),
        k=k,
        n_sessions=int(len(np.unique(events.session))),
        n_events=n_events,
        n_events_long_history=int((events.histories[:, -2] != NO_ITEM).sum()) if events.histories.shape[1] > 1 else 0,
        hit_rate=hit_rate,
        full_over_last_click=ratio(hit_rate["full_history"], hit_rate["last_click"]),
        last_click_over_static=ratio(hit_rate["last_click"], hit_rate["static"]),
        history_variance_share=float(covariance / variance) if variance > 0 else 0.0,
        top10_not_in_static=turnover / n_events,
        full_over_last_click_ci=session_ratio_interval(events.session, event_hits["full_history"],
                                                       event_hits["last_click"], n_bootstrap, seed, level),
        last_click_over_static_ci=session_ratio_interval(events.session, event_hits["last_click"],
                                                         event_hits["static"], n_bootstrap, seed, level),
        ci_level=level,
        n_bootstrap=n_bootstrap,
    )


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0 (no hit to compare with)."""
    return numerator / denominator if denominator > 0 else float("nan")
