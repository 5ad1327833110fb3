"""The sequence signals: events rebuilt from the log, ranks and overlaps by hand, and the signals'
known values on today's world (only the last click acts) and on a world without sequential effects."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.params import WorldParams
from hermes_core.world.sequence_signals import (
    held_out_click_events,
    sequence_signals,
    target_ranks,
    top_k_overlap_missing,
)
from hermes_core.world.truth import NO_ITEM


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
    # the history's last item is the context the simulator logged for that request
    assert np.array_equal(events.histories[:, -1], logs.context_item[events.request])
    assert np.array_equal(events.user, logs.user[events.request])


def test_a_later_start_keeps_only_the_sessions_that_begin_after_it(tiny_world: World) -> None:
    logs = tiny_world.logs
    start = float(np.median(logs.timestamp))
    events = held_out_click_events(logs, start)
    first = {int(s): float(logs.timestamp[(logs.session == s)].min()) for s in np.unique(events.session)}
    assert events.target.size and min(first.values()) >= start


def test_ranks_and_top_k_overlap_by_hand() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [3.0, 2.0, 1.0, 0.0]])
    # row 0: target 0.5 at column 2 ties with column 3 and trails 0.9 -> rank 2 (ties count against it)
    assert target_ranks(scores, np.array([2, 0])).tolist() == [2, 0]
    first = np.array([[4.0, 3.0, 2.0, 1.0]])
    second = np.array([[4.0, 1.0, 3.0, 2.0]])
    # top-2 of first {0, 1}, of second {0, 2}: one of two missing
    assert top_k_overlap_missing(first, second, 2).tolist() == [0.5]


def test_today_full_history_ties_with_the_last_click(tiny_world: World) -> None:
    signals = sequence_signals(tiny_world, held_out_days=tiny_world.params.log_days)
    # only the last click acts in today's world: the two scorers are the same numbers
    assert signals.hit_rate["full_history"] == signals.hit_rate["last_click"]
    assert signals.full_over_last_click == 1.0 and signals.meets_goals["full_over_last_click"] is False
    assert 0.0 < signals.history_variance_share < 1.0 and 0.0 < signals.top10_not_in_static <= 1.0
    # popularity HR by an independent count: the target's true log-popularity among the warm items'
    events = held_out_click_events(tiny_world.logs, 0.0)
    warm_pop = tiny_world.catalogue.log_popularity[~tiny_world.catalogue.is_cold]
    ranks = [(warm_pop >= tiny_world.catalogue.log_popularity[t]).sum() - 1 for t in events.target]
    assert signals.hit_rate["popularity"] == pytest.approx(np.mean(np.array(ranks) < 10), abs=1e-15)
    assert signals.n_events == len(events.target)


def test_the_chunking_does_not_change_the_signals(tiny_world: World) -> None:
    whole = sequence_signals(tiny_world, held_out_days=60.0, chunk_size=100_000)
    pieces = sequence_signals(tiny_world, held_out_days=60.0, chunk_size=7)
    assert whole.hit_rate == pieces.hit_rate and whole.n_events == pieces.n_events
    assert pieces.history_variance_share == pytest.approx(whole.history_variance_share, rel=1e-9)
    assert pieces.top10_not_in_static == pytest.approx(whole.top10_not_in_static, rel=1e-12)


def test_without_sequential_effects_history_carries_nothing(tiny_world_params: WorldParams) -> None:
    world = World.generate(tiny_world_params.model_copy(update={"sequential_strength": 0.0}))
    signals = sequence_signals(world, held_out_days=world.params.log_days)
    # kappa = 0: the history term is 0 everywhere, so its variance share and the top-10 turnover vanish
    assert signals.history_variance_share == 0.0 and signals.top10_not_in_static == 0.0
    assert signals.hit_rate["last_click"] == signals.hit_rate["static"] and signals.last_click_over_static == 1.0


def test_a_held_out_window_outside_the_log_is_refused(tiny_world: World) -> None:
    with pytest.raises(ValueError, match="held_out_days"):
        sequence_signals(tiny_world, held_out_days=tiny_world.params.log_days + 1)
