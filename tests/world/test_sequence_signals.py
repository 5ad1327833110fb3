"""The sequence signals: events rebuilt from the log, ranks and overlaps by hand, the signals recomputed
from a hand loop of the history term, and their known values on worlds where the history reduces to
its last click (a tiny decay, no series) or to nothing (no sequential effect of any kind)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.params import WorldParams
from hermes_core.world.sequence_signals import (
    held_out_click_events,
    sequence_signals,
    target_ranks,
    top_k_overlap_missing,
)
from hermes_core.world.truth import NO_ITEM
from tests.world.hand_history import hand_history_term


@pytest.fixture(scope="module")
def last_click_world(tiny_world_params: WorldParams) -> World:
    """A world whose history is practically its last click: tiny decay, no series."""
    return World.generate(tiny_world_params.model_copy(update={"history_decay": 1e-6, "series_strength": 0.0}))


def test_events_match_a_loop_over_the_sessions(tiny_world: World) -> None:
    # independent reconstruction: walk each session's requests in step order, clicks by position
    logs = tiny_world.logs
    expected: list[tuple[int, int, tuple[int, ...]]] = []
    for session in np.unique(logs.session):
        requests = np.flatnonzero(logs.session == session)
        requests = requests[np.argsort(logs.step[requests])]
        earlier: list[int] = []
        for r in requests:
            clicked = [int(logs.candidates[r, logs.slate[r, k]]) for k in np.flatnonzero(logs.clicks[r])]
            if earlier:
                expected += [(int(r), item, tuple(earlier)) for item in clicked]
            earlier += clicked
    events = held_out_click_events(logs, start_seconds=0.0)
    got = [(int(r), int(t), tuple(int(i) for i in h if i != NO_ITEM))
           for r, t, h in zip(events.request, events.target, events.histories)]
    assert sorted(got) == sorted(expected) and len(got) > 100
    assert sum(len(h) >= 2 for _, _, h in expected) > 50  # histories longer than one click occur
    # the history's last item is the context the simulator logged for that request
    assert np.array_equal(events.histories[:, -1], logs.context_item[events.request])
    assert np.array_equal(events.user, logs.user[events.request])
    # padding only on the left
    for row in events.histories:
        filled = row != NO_ITEM
        assert np.all(np.diff(filled.astype(int)) >= 0)


def test_a_later_start_keeps_only_the_sessions_that_begin_after_it(tiny_world: World) -> None:
    logs = tiny_world.logs
    start = float(np.median(logs.timestamp))
    events = held_out_click_events(logs, start)
    first = {int(s): float(logs.timestamp[(logs.session == s)].min()) for s in np.unique(events.session)}
    assert events.target.size and min(first.values()) >= start
    every = held_out_click_events(logs, 0.0)
    kept = {int(s) for s in np.unique(every.session) if logs.timestamp[logs.session == s].min() >= start}
    assert set(first) == kept


def test_ranks_and_top_k_overlap_by_hand() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [3.0, 2.0, 1.0, 0.0]])
    # row 0: target 0.5 at column 2 ties with column 3 and trails 0.9 -> rank 2 (ties count against it)
    assert target_ranks(scores, np.array([2, 0])).tolist() == [2, 0]
    first = np.array([[4.0, 3.0, 2.0, 1.0]])
    second = np.array([[4.0, 1.0, 3.0, 2.0]])
    # top-2 of first {0, 1}, of second {0, 2}: one of two missing
    assert top_k_overlap_missing(first, second, 2).tolist() == [0.5]


def test_the_signals_are_the_hand_computation(tiny_world: World) -> None:
    held_out = 30.0
    signals = sequence_signals(tiny_world, held_out_days=held_out)
    events = held_out_click_events(tiny_world.logs, (tiny_world.params.log_days - held_out) * SECONDS_PER_DAY)
    warm = np.flatnonzero(~tiny_world.catalogue.is_cold)
    hits = {"full_history": 0, "last_click": 0, "static": 0}
    pairs_static, pairs_history, turnover = [], [], 0.0
    for user, target, row in zip(events.user, events.target, events.histories):
        history = [int(i) for i in row if i != NO_ITEM]
        static = tiny_world.affinity([int(user)], warm)[0]
        full = hand_history_term(tiny_world, history, warm)
        last = hand_history_term(tiny_world, history[-1:], warm)
        t = int(np.flatnonzero(warm == target)[0])
        for name, scores in (("full_history", static + full), ("last_click", static + last), ("static", static)):
            hits[name] += int(sum(scores[j] >= scores[t] for j in range(len(warm)) if j != t) < 10)
        pairs_static.append(static)
        pairs_history.append(full)
        top_contextual = set(np.argsort(-(static + full))[:10].tolist())
        top_static = set(np.argsort(-static)[:10].tolist())
        turnover += len(top_contextual - top_static) / 10
    n = len(events.target)
    assert signals.n_events == n > 50
    for name, count in hits.items():
        assert signals.hit_rate[name] == pytest.approx(count / n, abs=1e-12), name
    assert signals.full_over_last_click == pytest.approx(hits["full_history"] / hits["last_click"], rel=1e-12)
    a, b = np.concatenate(pairs_static), np.concatenate(pairs_history)
    share = np.cov(b, a + b, bias=True)[0, 1] / np.var(a + b)
    assert signals.history_variance_share == pytest.approx(share, rel=1e-6)
    assert signals.top10_not_in_static == pytest.approx(turnover / n, abs=1e-12)
    long_histories = sum(int((row != NO_ITEM).sum() >= 2) for row in events.histories)
    assert signals.n_events_long_history == long_histories
    assert signals.n_sessions == len(set(events.session.tolist()))


def test_popularity_hit_rate_by_an_independent_count(tiny_world: World) -> None:
    signals = sequence_signals(tiny_world, held_out_days=tiny_world.params.log_days)
    events = held_out_click_events(tiny_world.logs, 0.0)
    warm_pop = tiny_world.catalogue.log_popularity[~tiny_world.catalogue.is_cold]
    ranks = [(warm_pop >= tiny_world.catalogue.log_popularity[t]).sum() - 1 for t in events.target]
    assert signals.hit_rate["popularity"] == pytest.approx(np.mean(np.array(ranks) < 10), abs=1e-15)
    assert signals.n_events == len(events.target)
    assert 0.0 < signals.history_variance_share < 1.0 and 0.0 < signals.top10_not_in_static <= 1.0


def test_with_a_tiny_decay_and_no_series_full_history_ties_with_the_last_click(last_click_world: World) -> None:
    signals = sequence_signals(last_click_world, held_out_days=last_click_world.params.log_days)
    assert signals.n_events_long_history > 50  # the two scorers see different histories
    assert signals.hit_rate["full_history"] == signals.hit_rate["last_click"]
    assert signals.full_over_last_click == 1.0 and signals.meets_goals["full_over_last_click"] is False


def test_in_the_default_world_the_earlier_clicks_carry_signal(tiny_world: World) -> None:
    signals = sequence_signals(tiny_world, held_out_days=tiny_world.params.log_days)
    assert signals.n_events_long_history > 50
    # the full history ranks the next click in the top 10 more often than the last click alone,
    # beyond the session-bootstrap noise
    assert signals.hit_rate["full_history"] > signals.hit_rate["last_click"]
    assert signals.full_over_last_click_ci[0] > 1.0


def test_the_chunking_does_not_change_the_signals(tiny_world: World) -> None:
    whole = sequence_signals(tiny_world, held_out_days=60.0, chunk_size=100_000)
    pieces = sequence_signals(tiny_world, held_out_days=60.0, chunk_size=7)
    assert whole.hit_rate == pieces.hit_rate and whole.n_events == pieces.n_events
    assert pieces.history_variance_share == pytest.approx(whole.history_variance_share, rel=1e-9)
    assert pieces.top10_not_in_static == pytest.approx(whole.top10_not_in_static, rel=1e-12)


def test_without_sequential_effects_history_carries_nothing(tiny_world_params: WorldParams) -> None:
    world = World.generate(tiny_world_params.model_copy(
        update={"sequential_strength": 0.0, "series_strength": 0.0, "genre_transition_strength": 0.0}))
    signals = sequence_signals(world, held_out_days=world.params.log_days)
    # every history term is 0, so its variance share and the top-10 turnover vanish
    assert signals.history_variance_share == 0.0 and signals.top10_not_in_static == 0.0
    assert signals.hit_rate["last_click"] == signals.hit_rate["static"] == signals.hit_rate["full_history"]
    assert signals.last_click_over_static == 1.0


def test_a_held_out_window_outside_the_log_is_refused(tiny_world: World) -> None:
    with pytest.raises(ValueError, match="held_out_days"):
        sequence_signals(tiny_world, held_out_days=tiny_world.params.log_days + 1)


def test_session_ratio_interval_matches_a_hand_resampling_loop() -> None:
    from hermes_core.world.sequence_signals import session_ratio_interval

    # three sessions: hits (numerator / denominator) 2/1, 0/1, 1/1 over 2, 1, 1 events
    session = np.array([7, 7, 3, 9])
    numerator = np.array([1, 1, 0, 1], dtype=bool)
    denominator = np.array([1, 0, 1, 1], dtype=bool)
    low, high = session_ratio_interval(session, numerator, denominator, n_bootstrap=400, seed=5)
    per_num = {3: 0.0, 7: 2.0, 9: 1.0}
    per_den = {3: 1.0, 7: 1.0, 9: 1.0}
    keys = [3, 7, 9]  # np.unique order
    draws = np.random.default_rng(5).integers(0, 3, size=(400, 3))
    ratios = []
    for row in draws:
        num = sum(per_num[keys[d]] for d in row)
        den = sum(per_den[keys[d]] for d in row)
        ratios.append(num / den)
    assert (low, high) == pytest.approx(tuple(np.quantile(ratios, [0.025, 0.975])), abs=1e-12)
    # every session equal: the interval collapses on the ratio
    same = session_ratio_interval(np.arange(4), np.ones(4, bool), np.ones(4, bool), 200, 0)
    assert same == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 100"):
        session_ratio_interval(session, numerator, denominator, n_bootstrap=10, seed=0)


def test_the_ratio_intervals_bracket_the_ratios(tiny_world: World) -> None:
    signals = sequence_signals(tiny_world, seed=3)
    for key in ("full_over_last_click", "last_click_over_static"):
        low, high = getattr(signals, f"{key}_ci")
        assert low <= getattr(signals, key) <= high, key
    assert signals.n_bootstrap == 1000 and signals.ci_level == 0.95
    # the same seed gives the same interval; another seed draws other resamples
    assert sequence_signals(tiny_world, seed=3).full_over_last_click_ci == signals.full_over_last_click_ci
