"""Exposure, ties and fatigue: every number recomputed by a loop over users and pairs on the tiny
world, the expected clicks against the truth API, and the known answers of a world without
similarity fatigue (cost exactly 0) and of one where popularity is part of relevance."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.exposure_signals import exposure_signals, slate_expected_clicks, top_items
from hermes_core.world.params import WorldParams
from hermes_core.world.preferences import content_vectors
from hermes_core.world.truth import continuous_grade


def test_top_items_are_best_first_with_ties_to_the_lower_index() -> None:
    affinity = np.array([[0.1, 0.7, 0.7, 0.3], [5.0, 4.0, 3.0, 6.0]])
    assert top_items(affinity, 3).tolist() == [[1, 2, 3], [3, 0, 1]]


def test_expected_clicks_of_a_slate_are_the_truth_apis(tiny_world: World) -> None:
    users = np.array([0, 7, 42])
    affinity = tiny_world.affinity(users)
    slates = top_items(affinity, 10)
    top_affinity = np.take_along_axis(affinity, slates, axis=1)
    ours = slate_expected_clicks(tiny_world, top_affinity, slates)
    for row, user in enumerate(users):
        assert ours[row] == pytest.approx(tiny_world.expected_clicks(int(user), None, slates[row]), abs=1e-12)
    # without fatigue: sum_k theta_k attr(g~_k) with theta_k = 1 / (k + 1) (examination_decay 1)
    p = tiny_world.params
    soft = continuous_grade(tiny_world.model, top_affinity)
    attr = p.click_floor + (p.click_ceiling - p.click_floor) * (2.0**soft - 1) / 15
    free = (attr / np.arange(1, 11)[None, :]).sum(axis=1)
    np.testing.assert_allclose(slate_expected_clicks(tiny_world, top_affinity, slates, 0.0), free, rtol=1e-12)
    assert np.all(ours <= free + 1e-12)


def test_every_signal_matches_a_loop_over_users_and_pairs(tiny_world: World) -> None:
    signals = exposure_signals(tiny_world, chunk_size=64)
    whole = exposure_signals(tiny_world).as_dict()  # chunks of users change only the rounding of sums
    assert all(value == pytest.approx(whole[key], rel=1e-12) for key, value in signals.as_dict().items())
    world, k = tiny_world, 10
    mainstream = world.creators.mainstream[world.catalogue.creator]
    content = content_vectors(world.catalogue)
    tau = world.scales.near_duplicate_cos
    in_top = top_grade = tied = affinity_differs = click_differs = saturated = 0
    near_slates, near_pairs = np.zeros(2), np.zeros(2)  # counted with tau + 1e-9 and tau - 1e-9
    clicks = clicks_free = 0.0
    for user in range(world.n_users):
        affinity = world.affinity(np.array([user]))[0]
        grades = world.relevance(np.array([user]))[0]
        top = sorted(range(world.n_items), key=lambda i: (-affinity[i], i))[:k]
        in_top += sum(bool(mainstream[i]) for i in top)
        top_grade += int((grades == 4).sum())
        soft = continuous_grade(world.model, affinity[top])
        saturated += int((soft >= 4.0).sum())
        near = np.zeros(2)
        for a, b in combinations(range(k), 2):
            if grades[top[a]] == grades[top[b]]:
                tied += 1
                affinity_differs += affinity[top[a]] != affinity[top[b]]
                click_differs += soft[a] != soft[b]
            cos = float(content[top[a]] @ content[top[b]])
            near += [cos > tau + 1e-9, cos > tau - 1e-9]  # a pair may sit exactly at tau (a sampled cosine)
        near_pairs += near
        near_slates += near > 0
        clicks += world.expected_clicks(user, None, top)
        clicks_free += slate_expected_clicks(world, affinity[top][None, :], np.array([top]), 0.0)[0]
    n = world.n_users
    assert signals.mainstream_share_top10 == pytest.approx(in_top / (n * k))
    assert signals.top_grade_items == pytest.approx(top_grade / n)
    assert signals.top10_pairs_tied == pytest.approx(tied / (n * 45))
    assert signals.tied_pairs_affinity_differs == pytest.approx(affinity_differs / tied)
    assert signals.tied_pairs_click_differs == pytest.approx(click_differs / tied)
    assert signals.top10_grade_saturated == pytest.approx(saturated / (n * k))
    assert signals.expected_clicks_fatigue == pytest.approx(clicks / n)
    assert signals.expected_clicks_no_fatigue == pytest.approx(clicks_free / n)
    assert signals.fatigue_cost == pytest.approx(1.0 - clicks / clicks_free)
    assert near_slates[0] / n <= signals.near_duplicate_slates <= near_slates[1] / n
    assert near_pairs[0] / n <= signals.near_duplicate_pairs <= near_pairs[1] / n
    assert near_pairs[1] - near_pairs[0] < 10  # only pairs at the threshold itself are in doubt
    # shares of the catalogue and of every logged impression
    assert signals.mainstream_share_items == pytest.approx(mainstream.mean())
    logs = world.logs
    shown = [int(logs.candidates[r, logs.slate[r, pos]])
             for r in range(len(logs.user)) for pos in range(logs.slate.shape[1])]
    assert signals.mainstream_share_impressions == pytest.approx(np.mean(mainstream[shown]))
    # the continuous truth orders every tied pair; the default world's logging favours mainstream creators
    assert signals.tied_pairs_affinity_differs == 1.0
    assert signals.mainstream_share_impressions > signals.mainstream_share_top10


def test_without_similarity_fatigue_the_cost_is_exactly_zero(tiny_world_params: WorldParams) -> None:
    world = World.generate(tiny_world_params.model_copy(update={"similarity_fatigue": 0.0}))
    signals = exposure_signals(world)
    assert signals.fatigue_cost == 0.0
    assert signals.expected_clicks_fatigue == signals.expected_clicks_no_fatigue


def test_popularity_in_relevance_tilts_merit_towards_mainstream_creators(tiny_world: World,
                                                                        tiny_world_params: WorldParams) -> None:
    # mainstream creators are more popular by construction (mainstream_boost), so once popularity
    # is part of relevance their share of users' top-10 rises above their share of the items and
    # above the share without it (same catalogue and users: only the relevance changes)
    world = World.generate(tiny_world_params.model_copy(update={"popularity_in_relevance": True}))
    merit_only, with_popularity = exposure_signals(tiny_world), exposure_signals(world)
    assert with_popularity.popularity_in_relevance and not merit_only.popularity_in_relevance
    assert with_popularity.mainstream_share_items == merit_only.mainstream_share_items
    assert with_popularity.mainstream_share_top10 > merit_only.mainstream_share_top10 + 0.05
    assert with_popularity.mainstream_share_top10 > with_popularity.mainstream_share_items + 0.05
