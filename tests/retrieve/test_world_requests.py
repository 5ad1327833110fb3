"""The world protocol's requests, queries and truth (``hermes_core.retrieve.world_requests``)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.retrieve.params import RetrieveSplitParams
from hermes_core.retrieve.query_understanding import ConstraintExtractor
from hermes_core.retrieve.world_requests import ClickLog, split_bounds, world_request_sets
from hermes_core.world import World
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.simulate import request_context

SPLIT = RetrieveSplitParams(test_days=20, validation_days=20, max_requests=30)


@pytest.fixture(scope="module")
def requests(tiny_world: World):  # noqa: ANN201
    return world_request_sets(tiny_world, SPLIT, ConstraintExtractor.from_world(tiny_world), seed=1)


def test_click_log_is_time_ordered_and_complete(tiny_world: World) -> None:
    clicks = ClickLog.of(tiny_world.logs)
    assert len(clicks.item) == int(tiny_world.logs.clicks.sum())
    assert np.all(np.diff(clicks.time) >= 0)
    user = int(clicks.user[-1])
    assert clicks.before(user, clicks.time[-1] + 1).tolist() == clicks.item[clicks.user == user].tolist()


def test_splits_are_disjoint_windows_and_too_long_ones_are_refused(tiny_world: World) -> None:
    bounds = split_bounds(tiny_world, SPLIT)
    assert bounds["train"][1] == bounds["validation"][0] and bounds["validation"][1] == bounds["test"][0]
    with pytest.raises(ValueError, match="leaves no training days"):
        split_bounds(tiny_world, RetrieveSplitParams(test_days=60, validation_days=60))


def test_requests_carry_history_truth_and_class(tiny_world: World, requests) -> None:  # noqa: ANN001
    logs = tiny_world.logs
    clicks = ClickLog.of(logs)
    for split, request_set in requests.items():
        start, end = split_bounds(tiny_world, SPLIT)[split]
        frame = request_set.frame
        assert ((frame["time_days"] * SECONDS_PER_DAY >= start) & (frame["time_days"] * SECONDS_PER_DAY < end)).all()
        logged = frame.index[frame["kind"] == "request"]
        assert 0 < len(logged) <= SPLIT.max_requests
        for i in logged[:5]:
            r = int(frame.at[i, "request"])
            history = request_set.histories[i]
            assert len(history) and not np.isin(request_set.relevant[i], history).any()
            # the truth is the world's contextual grade given the session's earlier clicks
            session = request_set.session_histories[i]
            context = request_context(logs.modality_intent[r : r + 1], logs.timestamp[r : r + 1])
            grades = tiny_world.contextual_relevance(int(logs.user[r]), session, None, context)
            expected = np.setdiff1d(np.flatnonzero(grades >= SPLIT.relevance_grade), history)
            np.testing.assert_array_equal(request_set.relevant[i], expected)
            assert np.array_equal(history, clicks.before(int(logs.user[r]), float(logs.timestamp[r])))
        queries = frame.index[frame["kind"] == "query"]
        for i in queries:
            expected_class = "free_text" if request_set.constraints[i].is_empty else "explicit"
            assert frame.at[i, "query_class"] == expected_class
        assert set(frame.loc[logged, "query_class"]) == {"no_query"}


def test_request_sampling_is_seeded(tiny_world: World, requests) -> None:  # noqa: ANN001
    again = world_request_sets(tiny_world, SPLIT, ConstraintExtractor.from_world(tiny_world), seed=1)
    assert again["test"].frame["key"].tolist() == requests["test"].frame["key"].tolist()
