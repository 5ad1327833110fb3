"""The truth API answers for any items and rankings with the simulator's own formulas.

Checks: an empty history gives the static truth exactly; the history term is the hand formula of
the last click; the graded relevance reproduces every grade the simulator logged; expected clicks
are the position-based sum, the mean of simulated clicks, and are largest for the ranking sorted by
true relevance (rearrangement inequality).
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.preferences import content_vectors


def test_an_empty_history_gives_the_static_truth_exactly(tiny_world: World) -> None:
    items = np.array([0, 5, 149, 77])
    for user in (0, 13, 199):
        static = tiny_world.affinity([user])[0]
        for history in (None, [], np.array([], dtype=np.int64)):
            assert np.array_equal(tiny_world.contextual_affinity(user, history), static)
            assert np.array_equal(tiny_world.contextual_relevance(user, history), tiny_world.relevance([user])[0])
        # same items, same computation: exact (a subset's matrix product may differ in the last bit
        # from the whole catalogue's, as it does in World.affinity itself)
        assert np.array_equal(tiny_world.contextual_affinity(user, [], items), tiny_world.affinity([user], items)[0])


def test_the_history_term_is_the_hand_formula_of_the_last_click(tiny_world: World) -> None:
    # kappa ((cos(x_c, x_i) - mu) / sigma + 1[same creator]) with c = the history's last item
    user, history = 21, [3, 40, 88]
    cat, scales = tiny_world.catalogue, tiny_world.scales
    x = content_vectors(cat)
    expected_bonus = tiny_world.params.sequential_strength * (
        (x @ x[88] - scales.context_cos_mean) / scales.context_cos_std + (cat.creator == cat.creator[88]))
    got = tiny_world.contextual_affinity(user, history)
    np.testing.assert_allclose(got, tiny_world.affinity([user])[0] + expected_bonus, rtol=0, atol=1e-12)
    # today only the last item acts: dropping the earlier ones changes nothing
    assert np.array_equal(got, tiny_world.contextual_affinity(user, [88]))


def test_contextual_relevance_reproduces_every_logged_grade(tiny_world: World) -> None:
    # the simulator graded each request's candidates given its last click: the API must agree
    logs = tiny_world.logs
    for r in range(len(logs.user)):
        context = int(logs.context_item[r])
        grades = tiny_world.contextual_relevance(int(logs.user[r]), [context] if context >= 0 else [],
                                                 logs.candidates[r])
        assert np.array_equal(grades, logs.candidate_relevance[r]), f"request {r}"


def test_expected_clicks_is_the_position_based_sum(tiny_world: World) -> None:
    p = tiny_world.params
    user, ranking, history = 8, [12, 99, 3, 45, 70, 1], [30]
    grades = tiny_world.contextual_relevance(user, history, ranking)
    by_hand = sum((k + 1.0) ** -p.examination_decay
                  * (p.click_floor + (p.click_ceiling - p.click_floor) * (2.0 ** int(g) - 1.0) / 15.0)
                  for k, g in enumerate(grades))
    assert tiny_world.expected_clicks(user, ranking, history) == pytest.approx(by_hand, abs=1e-12)
    rows = np.array([ranking, ranking[::-1]])
    both = tiny_world.expected_clicks(user, rows, history)
    assert both.shape == (2,) and both[0] == pytest.approx(by_hand, abs=1e-12)
    assert both[1] == pytest.approx(tiny_world.expected_clicks(user, ranking[::-1], history), abs=1e-12)


def test_the_mean_of_simulated_clicks_is_the_expected_clicks(tiny_world: World) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    for user in (2, 50, 180):
        history = list(rng.choice(tiny_world.n_items, size=2, replace=False))
        ranking = rng.choice(tiny_world.n_items, size=5, replace=False)
        probabilities = tiny_world.ranking_click_probabilities(user, ranking, history)
        clicks = tiny_world.simulate_clicks(user, ranking, history, rng=rng, n=n)
        assert clicks.shape == (n, 5) and clicks.dtype == bool
        # positions are independent Bernoulli draws: Var(count) = sum p (1 - p)
        standard_error = np.sqrt(np.sum(probabilities * (1 - probabilities)) / n)
        expected = tiny_world.expected_clicks(user, ranking, history)
        assert abs(clicks.sum(axis=1).mean() - expected) < 4 * standard_error


def test_ranking_by_true_relevance_maximises_expected_clicks(tiny_world: World) -> None:
    # theta_k decreases and attr(g) increases: by the rearrangement inequality the sorted order
    # has at least the expected clicks of any permutation of the same items
    rng = np.random.default_rng(11)
    for user in (4, 60, 133):
        history = [int(rng.integers(tiny_world.n_items))]
        items = rng.choice(tiny_world.n_items, size=8, replace=False)
        grades = tiny_world.contextual_relevance(user, history, items)
        best = tiny_world.expected_clicks(user, items[np.argsort(-grades, kind="stable")], history)
        permutations = np.array([rng.permutation(items) for _ in range(200)])
        assert np.all(tiny_world.expected_clicks(user, permutations, history) <= best + 1e-12)
        assert len(set(grades.tolist())) == 1 or tiny_world.expected_clicks(user, items[np.argsort(grades)],
                                                                             history) < best


def test_simulated_clicks_come_from_the_callers_seed_only(tiny_world: World) -> None:
    first = tiny_world.simulate_clicks(1, [5, 6, 7], rng=123, n=50)
    again = tiny_world.simulate_clicks(1, [5, 6, 7], rng=np.random.default_rng(123), n=50)
    assert np.array_equal(first, again)
    with pytest.raises(TypeError, match="rng"):
        tiny_world.simulate_clicks(1, [5, 6, 7], rng=None)  # type: ignore[arg-type]


def test_bad_rankings_and_histories_are_refused_by_name(tiny_world: World) -> None:
    with pytest.raises(ValueError, match="repeats an item"):
        tiny_world.expected_clicks(0, [1, 2, 1])
    with pytest.raises(ValueError, match="ranking holds item index 150"):
        tiny_world.expected_clicks(0, [1, 150])
    with pytest.raises(ValueError, match="history holds item index -3"):
        tiny_world.contextual_affinity(0, [4, -3])
    with pytest.raises(TypeError, match="integer item indices"):
        tiny_world.contextual_relevance(0, [1.5])
