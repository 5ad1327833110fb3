"""The truth API answers for any items, histories, contexts and rankings with the simulator's formulas.

Checks, each against a computation written in the test: the history term is the decayed-intent,
creator-share, series and genre-transition formula of ``truth.py``'s docstring (a loop over the
history); earlier clicks act, and with a tiny decay only the last one does; an empty history in a
neutral context gives the static truth exactly; the continuous grade is the piecewise-linear map of
the thresholds; click probabilities are ``theta_k attr(g~_k) f_k``; simulated clicks average to the
expected clicks; similarity fatigue costs a stacked ranking clicks; and the simulator's logged
grades and affinities are the truth recomputed from each request's logged session history, intent,
hour and day.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.params import WorldParams
from hermes_core.world.preferences import PreferenceScales, SessionContext
from hermes_core.world.truth import (
    NO_ITEM,
    contextual_affinity,
    contextual_affinity_matrix,
    continuous_grade,
    decay_weights,
    history_parts,
    history_term,
    pad_histories,
)
from tests.world.hand_history import hand_history_parts, hand_history_term


@pytest.fixture(scope="module")
def calm_world(tiny_world_params: WorldParams) -> World:
    """The tiny world without similarity fatigue (every other draw the same)."""
    return World.generate(tiny_world_params.model_copy(update={"similarity_fatigue": 0.0}))


def unit_content(world: World) -> np.ndarray:
    x = np.hstack([world.catalogue.visual_latent, world.catalogue.text_latent])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def series_history(world: World, length: int = 3) -> tuple[list[int], int]:
    """A history whose first click is a series part with a successor (and the successor)."""
    successor = world.dynamics.successor
    first = int(np.flatnonzero(successor >= 0)[0])
    others = [i for i in range(world.n_items) if i not in (first, successor[first])][: length - 1]
    return [first, *others], int(successor[first])


def hand_continuous_grade(scales: PreferenceScales, a: float) -> float:
    """0 one band's width below the lowest threshold, ``k + 1/2`` at threshold ``k``, 4 at the top
    affinity (the 99.95th percentile of static affinity), linear in between, flat outside."""
    t = list(scales.thresholds)
    knots = [t[0] - (t[1] - t[0]), *t, max(scales.top_affinity, t[3] + 1e-6)]
    values = [0.0, 0.5, 1.5, 2.5, 3.5, 4.0]
    if a <= knots[0]:
        return 0.0
    if a >= knots[-1]:
        return 4.0
    k = max(j for j in range(5) if knots[j] <= a)
    return values[k] + (values[k + 1] - values[k]) * (a - knots[k]) / (knots[k + 1] - knots[k])


def hand_grade(thresholds: tuple[float, ...], a: np.ndarray) -> np.ndarray:
    return np.array([sum(v >= t for t in thresholds) for v in np.asarray(a)])


# ---------------------------------------------------------------------- the history term
def test_the_history_term_is_the_hand_formula(tiny_world: World) -> None:
    model = tiny_world.model
    items = np.arange(tiny_world.n_items)
    history, successor = series_history(tiny_world, 4)
    for h in (history, history[:1], [88], [3, 40, 88], [5, 5, 120, 7, 61, 2], [history[0], 9]):
        got = history_term(model, pad_histories([h], model.n_items), items)[0]
        np.testing.assert_allclose(got, hand_history_term(model, h, items), rtol=0, atol=1e-9)
        parts = history_parts(model, pad_histories([h], model.n_items), items)
        for name, expected in hand_history_parts(model, h, items).items():
            np.testing.assert_allclose(parts[name][0], expected, rtol=0, atol=1e-9, err_msg=name)
    # the series part is on: the successor of the oldest click gets series_strength * lambda^(n - 1)
    p = model.params
    parts = history_parts(model, pad_histories([history], model.n_items), np.array([successor]))
    assert parts["series"][0, 0] == pytest.approx(p.series_strength * p.history_decay ** 3, abs=1e-12)
    assert parts["series"][0, 0] > 0


def test_rows_of_different_lengths_are_each_their_own_history(tiny_world: World) -> None:
    model = tiny_world.model
    histories = [[4], [10, 11, 12, 13, 14], [], [99, 3]]
    items = np.array([0, 4, 11, 12, 14, 100, 149])
    users = np.array([1, 2, 3, 4])
    context = SessionContext(modality_intent=np.array([0.0, 2.5, -2.5, 0.0]), hour=np.array([-1, 8, 20, 3]),
                             day=np.array([np.nan, 30.0, 89.0, 1.0]))
    got = contextual_affinity_matrix(model, users, pad_histories(histories, model.n_items), items, context)
    for row, (user, h) in enumerate(zip(users, histories)):
        one = SessionContext.single(context.modality_intent[row],
                                    None if context.hour[row] < 0 else int(context.hour[row]),
                                    None if np.isnan(context.day[row]) else float(context.day[row]))
        static = tiny_world.contextual_affinity(int(user), [], items, one)
        np.testing.assert_allclose(got[row], static + hand_history_term(model, h, items), rtol=0, atol=1e-9)


def test_decay_weights_by_hand(tiny_world: World) -> None:
    lam = tiny_world.params.history_decay
    histories = pad_histories([[1, 2, 3], [7]], tiny_world.n_items)
    assert histories.tolist() == [[1, 2, 3], [NO_ITEM, NO_ITEM, 7]]
    np.testing.assert_allclose(decay_weights(tiny_world.model, histories),
                               [[lam**2, lam, 1.0], [0.0, 0.0, 1.0]], rtol=0, atol=1e-15)


def test_earlier_clicks_change_the_term(tiny_world: World) -> None:
    model = tiny_world.model
    assert 0 < model.params.history_decay < 1
    items = np.arange(tiny_world.n_items)
    a, b = 3, 88
    two = contextual_affinity(model, 21, [a, b], items)
    one = contextual_affinity(model, 21, [b], items)
    assert np.abs(two - one).max() > 0.05
    # the order matters too: the last click weighs most
    assert np.abs(two - contextual_affinity(model, 21, [b, a], items)).max() > 0.05


def test_with_a_tiny_decay_only_the_last_click_matters(tiny_world: World) -> None:
    params = tiny_world.params.model_copy(update={"history_decay": 1e-9})
    model = replace(tiny_world.model, params=params)
    items = np.arange(tiny_world.n_items)
    history, _ = series_history(tiny_world, 4)
    full = contextual_affinity(model, 21, history, items)
    last = contextual_affinity(model, 21, history[-1:], items)
    np.testing.assert_allclose(full, last, rtol=0, atol=1e-6)
    # while at the world's decay they differ
    assert np.abs(contextual_affinity(tiny_world.model, 21, history, items)
                  - contextual_affinity(tiny_world.model, 21, history[-1:], items)).max() > 0.05


def test_an_empty_history_gives_the_static_truth_exactly(tiny_world: World) -> None:
    items = np.array([0, 5, 149, 77])
    for user in (0, 13, 199):
        static = tiny_world.affinity([user])[0]
        for history in (None, [], np.array([], dtype=np.int64)):
            assert np.array_equal(tiny_world.contextual_affinity(user, history), static)
            assert np.array_equal(tiny_world.contextual_relevance(user, history), tiny_world.relevance([user])[0])
            assert np.array_equal(tiny_world.contextual_relevance(user, history),
                                  hand_grade(tiny_world.scales.thresholds, static))
        assert np.array_equal(tiny_world.contextual_affinity(user, [], items), tiny_world.affinity([user], items)[0])
    # a context without a history: the history term is 0, the context moves the static part
    context = SessionContext.single(modality_intent=2.5, hour=8, day=30.0)
    moved = tiny_world.contextual_affinity(3, [], None, context)
    assert np.abs(moved - tiny_world.affinity([3])[0]).max() > 0.1


# ---------------------------------------------------------------------- grades
def test_the_continuous_grade_is_the_piecewise_linear_map(tiny_world: World) -> None:
    t = tiny_world.scales.thresholds
    model = tiny_world.model
    top = tiny_world.scales.top_affinity
    assert top > t[3]
    grid = np.linspace(t[0] - 3 * (t[1] - t[0]), top + 3 * (top - t[3]), 4001)
    got = continuous_grade(model, grid)
    np.testing.assert_allclose(got, [hand_continuous_grade(tiny_world.scales, a) for a in grid], rtol=0, atol=1e-12)
    assert np.all(np.diff(got) >= 0) and got.min() == 0.0 and got.max() == 4.0
    np.testing.assert_allclose(continuous_grade(model, np.array(t)), [0.5, 1.5, 2.5, 3.5], atol=1e-12)
    np.testing.assert_allclose(continuous_grade(model, np.array([t[0] - (t[1] - t[0]), top])), [0.0, 4.0], atol=1e-12)
    # grade-4 items are still ordered by affinity: strictly increasing between t_4 and the top
    band = got[(grid > t[3]) & (grid < top)]
    assert len(band) > 10 and np.all(np.diff(band) > 0)
    # the top affinity is a high quantile of the static affinity: few pairs reach it
    static = tiny_world.affinity(np.arange(tiny_world.n_users))
    assert 0.0 < (static >= top).mean() < 0.003
    # it rounds to the integer grade inside the inner bands (grades 1..3)
    grades = hand_grade(t, grid)
    inner = (grades >= 1) & (grades <= 3) & ~np.isin(grid, t)
    assert inner.sum() > 300
    assert np.array_equal(np.round(got[inner]), grades[inner])
    # and on the whole catalogue of a few users
    affinity = tiny_world.affinity(np.arange(20)).ravel()
    grades = hand_grade(t, affinity)
    inner = (grades >= 1) & (grades <= 3)
    assert np.array_equal(np.round(continuous_grade(model, affinity[inner])), grades[inner])


# ---------------------------------------------------------------------- clicks
def hand_click_probabilities(world: World, user: int, ranking: list[int], history: list[int],
                             context: SessionContext | None = None) -> np.ndarray:
    p, s = world.params, world.scales
    affinity = world.contextual_affinity(user, history, ranking, context)
    x = unit_content(world)
    out = []
    for k, item in enumerate(ranking):
        g = hand_continuous_grade(s, float(affinity[k]))
        attr = p.click_floor + (p.click_ceiling - p.click_floor) * (2.0**g - 1.0) / 15.0
        worst = max([min(max((float(x[item] @ x[ranking[j]]) - s.near_duplicate_cos)
                             / (1.0 - s.near_duplicate_cos), 0.0), 1.0) for j in range(k)], default=0.0)
        out.append((k + 1.0) ** -p.examination_decay * attr * (1.0 - p.similarity_fatigue * worst))
    return np.array(out)


def test_click_probabilities_are_theta_attr_fatigue(tiny_world: World) -> None:
    user, ranking, history = 8, [12, 99, 3, 45, 70, 1], [30, 31]
    context = SessionContext.single(modality_intent=-2.5, hour=19, day=45.0)
    for ctx in (None, context):
        expected = hand_click_probabilities(tiny_world, user, ranking, history, ctx)
        got = tiny_world.ranking_click_probabilities(user, history, ranking, ctx)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert tiny_world.expected_clicks(user, history, ranking, ctx) == pytest.approx(expected.sum(), abs=1e-12)
    rows = np.array([ranking, ranking[::-1]])
    both = tiny_world.expected_clicks(user, history, rows)
    assert both.shape == (2,)
    assert both[1] == pytest.approx(hand_click_probabilities(tiny_world, user, ranking[::-1], history).sum(), abs=1e-12)


def test_the_mean_of_simulated_clicks_is_the_expected_clicks(tiny_world: World) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    for user in (2, 50, 180):
        history = [int(i) for i in rng.choice(tiny_world.n_items, size=3, replace=False)]
        ranking = rng.choice(tiny_world.n_items, size=5, replace=False)
        context = SessionContext.single(modality_intent=2.5, hour=int(rng.integers(24)), day=float(rng.uniform(0, 90)))
        probabilities = tiny_world.ranking_click_probabilities(user, history, ranking, context)
        clicks = tiny_world.simulate_clicks(user, history, ranking, rng=rng, n=n, context=context)
        assert clicks.shape == (n, 5) and clicks.dtype == bool
        # positions are independent Bernoulli draws: Var(count) = sum p (1 - p)
        standard_error = np.sqrt(np.sum(probabilities * (1 - probabilities)) / n)
        expected = tiny_world.expected_clicks(user, history, ranking, context)
        assert abs(clicks.sum(axis=1).mean() - expected) < 4 * standard_error
        # and each position's rate is its own probability
        position_se = np.sqrt(probabilities * (1 - probabilities) / n)
        assert np.all(np.abs(clicks.mean(axis=0) - probabilities) < 4 * position_se + 1e-12)


def test_stacking_near_copies_costs_clicks(tiny_world: World, calm_world: World) -> None:
    # the same world without fatigue has the same scales and affinities: only f_k differs
    assert calm_world.scales == tiny_world.scales
    cat, x = tiny_world.catalogue, unit_content(tiny_world)
    # a ranking of one creator's items most similar to one of them
    creator = int(np.bincount(cat.creator).argmax())
    own = np.flatnonzero(cat.creator == creator)
    cos = x[own] @ x[own].T - 2.0 * np.eye(len(own))
    seed = int(own[np.argmax(cos.max(axis=1))])  # the item with the nearest copy
    stacked = [int(i) for i in own[np.argsort(-(x[own] @ x[seed]))][:5]]
    assert max(float(x[stacked[k]] @ x[stacked[0]]) for k in range(1, 5)) > tiny_world.scales.near_duplicate_cos
    # and a series, part after part: the one whose parts are most alike
    series = tiny_world.dynamics.series

    def closest_pair(members: np.ndarray) -> float:
        return float((x[members] @ x[members].T - 2.0 * np.eye(len(members))).max())

    alike = max(range(int(series.max()) + 1), key=lambda s: closest_pair(np.flatnonzero(series == s)))
    parts = np.flatnonzero(series == alike)
    parts = [int(i) for i in parts[np.argsort(tiny_world.dynamics.series_position[parts])]]
    assert closest_pair(np.array(parts)) > tiny_world.scales.near_duplicate_cos
    for ranking in (stacked, parts):
        for user in (0, 42, 150):
            tired = tiny_world.expected_clicks(user, None, ranking)
            calm = calm_world.expected_clicks(user, None, ranking)
            np.testing.assert_allclose(calm_world.ranking_click_probabilities(user, None, ranking)[0],
                                       tiny_world.ranking_click_probabilities(user, None, ranking)[0], atol=1e-15)
            np.testing.assert_allclose(tired, hand_click_probabilities(tiny_world, user, ranking, []).sum(), atol=1e-12)
            assert tired < calm


def test_without_fatigue_ranking_by_affinity_maximises_expected_clicks(calm_world: World) -> None:
    # theta_k decreases and attr(g~) increases with affinity: by the rearrangement inequality the
    # order by contextual affinity has at least the expected clicks of any permutation
    rng = np.random.default_rng(11)
    for user in (4, 60, 133):
        history = [int(i) for i in rng.choice(calm_world.n_items, size=2, replace=False)]
        items = rng.choice(calm_world.n_items, size=8, replace=False)
        affinity = calm_world.contextual_affinity(user, history, items)
        best = calm_world.expected_clicks(user, history, items[np.argsort(-affinity)])
        permutations = np.array([rng.permutation(items) for _ in range(200)])
        assert np.all(calm_world.expected_clicks(user, history, permutations) <= best + 1e-12)
        assert calm_world.expected_clicks(user, history, items[np.argsort(affinity)]) < best


def test_simulated_clicks_come_from_the_callers_seed_only(tiny_world: World) -> None:
    first = tiny_world.simulate_clicks(1, None, [5, 6, 7], rng=123, n=50)
    again = tiny_world.simulate_clicks(1, None, [5, 6, 7], rng=np.random.default_rng(123), n=50)
    assert np.array_equal(first, again)
    with pytest.raises(TypeError, match="rng"):
        tiny_world.simulate_clicks(1, None, [5, 6, 7], rng=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        tiny_world.simulate_clicks(1, None, [5, 6, 7], rng=1, n=0)


def test_bad_rankings_and_histories_are_refused_by_name(tiny_world: World) -> None:
    with pytest.raises(ValueError, match="repeats an item"):
        tiny_world.expected_clicks(0, None, [1, 2, 1])
    with pytest.raises(ValueError, match="ranking holds item index 150"):
        tiny_world.expected_clicks(0, None, [1, 150])
    with pytest.raises(ValueError, match="history holds item index -3"):
        tiny_world.contextual_affinity(0, [4, -3])
    with pytest.raises(TypeError, match="integer item indices"):
        tiny_world.contextual_relevance(0, [1.5])


# ---------------------------------------------------------------------- the simulator's log
def session_histories(world: World) -> dict[int, list[int]]:
    """Each request's session history: the clicks of the session's earlier requests, in step order
    and, within a request, in slate order (a loop over the log)."""
    logs = world.logs
    out: dict[int, list[int]] = {}
    for session in np.unique(logs.session):
        requests = np.flatnonzero(logs.session == session)
        requests = requests[np.argsort(logs.step[requests])]
        clicked: list[int] = []
        for r in requests:
            out[int(r)] = list(clicked)
            clicked += [int(logs.candidates[r, logs.slate[r, k]]) for k in range(logs.slate.shape[1])
                        if logs.clicks[r, k]]
    return out


def test_the_logged_truth_is_the_truth_of_the_logged_session(tiny_world: World) -> None:
    logs = tiny_world.logs
    histories = session_histories(tiny_world)
    assert sum(len(h) >= 2 for h in histories.values()) > 50  # long histories occur
    rng = np.random.default_rng(0)
    sample = np.r_[rng.choice(len(logs.user), size=300, replace=False),
                   [r for r, h in histories.items() if len(h) >= 3][:100]]
    for r in sample:
        r = int(r)
        history = histories[r]
        # the logged context item is the history's last click, the hour the timestamp's hour of day
        assert logs.context_item[r] == (history[-1] if history else -1)
        assert logs.hour[r] == int(logs.timestamp[r] // 3600) % 24
        context = SessionContext.single(modality_intent=float(logs.modality_intent[r]), hour=int(logs.hour[r]),
                                        day=float(logs.timestamp[r]) / 86_400.0)
        affinity = tiny_world.contextual_affinity(int(logs.user[r]), history, logs.candidates[r], context)
        np.testing.assert_allclose(logs.candidate_affinity[r], affinity, rtol=0, atol=1e-9, err_msg=f"request {r}")
        assert np.array_equal(logs.candidate_relevance[r], hand_grade(tiny_world.scales.thresholds, affinity)), r
        assert np.array_equal(tiny_world.contextual_relevance(int(logs.user[r]), history, logs.candidates[r], context),
                              logs.candidate_relevance[r]), r


def test_sessions_carry_a_modality_intent(tiny_world: World) -> None:
    logs, p = tiny_world.logs, tiny_world.params
    per_session = {}
    for s, intent in zip(logs.session.tolist(), logs.modality_intent.tolist()):
        assert per_session.setdefault(s, intent) == intent  # one intent per session
    values = np.array(list(per_session.values()))
    assert set(np.unique(values)) <= {-p.modality_intent_strength, 0.0, p.modality_intent_strength}
    share = np.mean(values != 0.0)
    n = len(values)
    assert abs(share - p.modality_intent_share) < 4 * np.sqrt(0.25 / n)
