"""The static and contextual taste model of the world, checked against the docstring's formulas by hand.

Every expected value here is recomputed in the test from the raw arrays (users, catalogue, creators,
collaborations) with the constants typed in again from ``hermes_core/world/preferences.py``'s
docstring: the modality weight with the domain shift and the session's intent, the drifting text
taste, the carried creator taste, the hour's context term and the similarity fatigue.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.preferences import (
    SessionContext,
    affinity_matrix,
    carried_creator_taste,
    content_vectors,
    fatigue_factors,
    hour_bucket,
    modality_weight,
    pair_affinity,
)

# the docstring's tables, typed in again (domains: movie, music, product, news)
DOMAIN_SHIFT = (0.5, -0.5, 1.0, -1.0)
HOUR_TABLE = {  # bucket of hours -> shift of each domain; rows and columns sum to 0
    range(0, 6): (0.0, 1.0, -0.5, -0.5),
    range(6, 12): (-0.5, -0.5, 0.0, 1.0),
    range(12, 18): (-0.5, 0.0, 1.0, -0.5),
    range(18, 24): (1.0, -0.5, -0.5, 0.0),
}

CONTEXTS: tuple[tuple[float, int | None, float | None], ...] = (
    (0.0, None, None), (2.5, 8, 30.0), (-2.5, 23, 90.0), (0.7, 0, 0.0), (0.0, 14, 61.5))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def hand_creator_taste(world: World, creator: int) -> np.ndarray:
    """``z_c + rho * mean of z over c's collaborators``, by a loop over the edge list."""
    latent = world.creators.taste_latent
    partners = set()
    for a, b in world.collaborations.tolist():
        if a == creator and b != creator:
            partners.add(b)
        if b == creator and a != creator:
            partners.add(a)
    carried = latent[creator].copy()
    if partners:
        carried += world.params.collaborator_taste_carry * np.mean([latent[c] for c in sorted(partners)], axis=0)
    return carried


def hand_affinity(world: World, user: int, item: int, intent: float = 0.0, hour: int | None = None,
                  day: float | None = None, popularity: bool | None = None) -> float:
    """``s(u, i | x)`` of the docstring for one user, item and context, one scalar at a time."""
    p, users, cat, s = world.params, world.users, world.catalogue, world.scales
    d = int(cat.domain[item])
    m_u = float(users.modality_affinity[user])
    m = sigmoid(math.log(m_u / (1.0 - m_u)) + p.domain_modality_shift * DOMAIN_SHIFT[d] + intent)
    visual = float(np.dot(users.visual_preference[user], cat.visual_latent[item]))
    drift = 0.0 if day is None else day / p.log_days - 1.0
    text = float(np.dot(users.text_preference[user] + drift * users.text_drift[user], cat.text_latent[item]))
    hidden = float(np.dot(users.hidden_preference[user], cat.hidden_latent[item]))
    creator = float(np.dot(users.creator_preference[user], hand_creator_taste(world, int(cat.creator[item]))))
    a = float(users.domain_affinity[user, d])
    total = (1.4 * (m * visual / s.visual_std + (1.0 - m) * text / s.text_std)
             + 0.8 * hidden / s.hidden_std
             + 0.8 * math.log(4.0 * max(a, 0.02))
             + p.creator_taste_weight * creator / s.creator_std)
    if p.popularity_in_relevance if popularity is None else popularity:
        total += 0.5 * (cat.log_popularity[item] - s.popularity_mean) / s.popularity_std
    if hour is not None:
        total += p.context_strength * next(row for hours, row in HOUR_TABLE.items() if hour in hours)[d]
    return total


def context_of(intent: float, hour: int | None, day: float | None) -> SessionContext | None:
    if intent == 0.0 and hour is None and day is None:
        return None
    return SessionContext.single(modality_intent=intent, hour=hour, day=day)


# ---------------------------------------------------------------------- affinity
def test_affinity_is_the_docstring_formula_by_hand(tiny_world: World) -> None:
    rng = np.random.default_rng(3)
    model = tiny_world.model
    users = rng.choice(tiny_world.n_users, size=6, replace=False)
    items = rng.choice(tiny_world.n_items, size=12, replace=False)
    for intent, hour, day in CONTEXTS:
        context = context_of(intent, hour, day)
        for user in users:
            got = affinity_matrix(model, np.array([user]), items, context)[0]
            expected = [hand_affinity(tiny_world, int(user), int(i), intent, hour, day) for i in items]
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_popularity_enters_only_when_switched_on(tiny_world: World) -> None:
    params = tiny_world.params.model_copy(update={"popularity_in_relevance": True})
    with_pop = replace(tiny_world.model, params=params)
    items = np.arange(tiny_world.n_items)
    for user in (0, 77):
        got = affinity_matrix(with_pop, np.array([user]), items)[0]
        expected = [hand_affinity(tiny_world, user, int(i), popularity=True) for i in items]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
        # the difference to the default world is the popularity term alone, and it is not zero
        gap = got - affinity_matrix(tiny_world.model, np.array([user]), items)[0]
        s = tiny_world.scales
        np.testing.assert_allclose(gap, 0.5 * (tiny_world.catalogue.log_popularity - s.popularity_mean)
                                   / s.popularity_std, rtol=0, atol=1e-9)
        assert np.abs(gap).max() > 0.1


def test_the_cut_off_day_is_the_neutral_drift(tiny_world: World) -> None:
    # day = log_days gives drift factor 0: exactly the static affinity
    users = np.arange(10)
    day = SessionContext(day=np.full(10, float(tiny_world.params.log_days)))
    assert np.array_equal(affinity_matrix(tiny_world.model, users, None, day), tiny_world.affinity(users))
    # any other day moves the text part (drift is on: taste_drift > 0)
    early = SessionContext(day=np.zeros(10))
    assert not np.allclose(affinity_matrix(tiny_world.model, users, None, early), tiny_world.affinity(users))


def test_pair_affinity_is_the_diagonal_of_the_matrix(tiny_world: World) -> None:
    rng = np.random.default_rng(8)
    n = 40
    users = rng.integers(tiny_world.n_users, size=n)
    items = rng.integers(tiny_world.n_items, size=n)
    model = tiny_world.model
    np.testing.assert_allclose(pair_affinity(model, users, items),
                               np.diag(affinity_matrix(model, users, items)), rtol=0, atol=1e-12)
    context = SessionContext(modality_intent=rng.choice([-2.5, 0.0, 2.5], size=n), hour=rng.integers(24, size=n),
                             day=rng.uniform(0, 90, size=n))
    diagonal = np.diag(affinity_matrix(model, users, items, context))
    np.testing.assert_allclose(pair_affinity(model, users, items, context), diagonal, rtol=0, atol=1e-12)
    # and the context matters (intent, hour and day all move it)
    assert np.abs(diagonal - np.diag(affinity_matrix(model, users, items))).max() > 0.1
    # each pair by hand too
    for k in range(n):
        expected = hand_affinity(tiny_world, int(users[k]), int(items[k]), float(context.modality_intent[k]),
                                 int(context.hour[k]), float(context.day[k]))
        assert diagonal[k] == pytest.approx(expected, abs=1e-9)
    # 2-D aligned arrays keep their shape
    grid = pair_affinity(model, users.reshape(4, 10), items.reshape(4, 10))
    assert grid.shape == (4, 10)
    with pytest.raises(ValueError, match="same shape"):
        pair_affinity(model, users, items[:-1])


def test_the_modality_weight_by_hand(tiny_world: World) -> None:
    users, cat, p = tiny_world.users, tiny_world.catalogue, tiny_world.params
    u = np.array([0, 5, 9])
    items = np.arange(20)
    for intent in (-2.5, 0.0, 2.5):
        got = modality_weight(p, users, cat, u, items, np.full(3, intent))
        for r, user in enumerate(u):
            m_u = users.modality_affinity[user]
            for c, item in enumerate(items):
                expected = sigmoid(math.log(m_u / (1 - m_u)) + DOMAIN_SHIFT[cat.domain[item]] * p.domain_modality_shift
                                   + intent)
                assert got[r, c] == pytest.approx(expected, abs=1e-12)
    # looks intent raises the weight of looks for every pair; content intent lowers it
    up = modality_weight(p, users, cat, u, items, np.full(3, 2.5))
    down = modality_weight(p, users, cat, u, items, np.full(3, -2.5))
    assert np.all(up > down)


def test_the_carried_creator_taste_by_hand(tiny_world: World) -> None:
    carried = tiny_world.model.creator_taste
    assert len(tiny_world.collaborations) > 0
    for creator in range(len(tiny_world.creators.domain)):
        np.testing.assert_allclose(carried[creator], hand_creator_taste(tiny_world, creator), rtol=0, atol=1e-12)
    # no carry: each creator's own factor
    own = carried_creator_taste(tiny_world.creators, tiny_world.collaborations, 0.0)
    assert np.array_equal(own, tiny_world.creators.taste_latent)
    # no edges: the own factor whatever the carry
    alone = carried_creator_taste(tiny_world.creators, np.zeros((0, 2), dtype=np.int64), 0.8)
    assert np.array_equal(alone, tiny_world.creators.taste_latent)


def test_hour_buckets_and_bad_hours() -> None:
    assert hour_bucket(np.arange(24)).tolist() == [0] * 6 + [1] * 6 + [2] * 6 + [3] * 6
    with pytest.raises(ValueError, match="hour"):
        SessionContext(hour=np.array([24])).rows(1)
    intent, hour, day = SessionContext().rows(3)
    assert intent.tolist() == [0.0] * 3 and hour.tolist() == [-1] * 3 and np.isnan(day).all()


# ---------------------------------------------------------------------- fatigue
def hand_fatigue(world: World, slate: list[int]) -> list[float]:
    """``f_k = 1 - phi max_{j<k} clip((cos - tau) / (1 - tau), 0, 1)`` by loops."""
    cat = world.catalogue
    tau, phi = world.scales.near_duplicate_cos, world.params.similarity_fatigue
    vectors = [np.r_[cat.visual_latent[i], cat.text_latent[i]] for i in slate]
    vectors = [v / np.linalg.norm(v) for v in vectors]
    factors = []
    for k in range(len(slate)):
        worst = 0.0
        for j in range(k):
            r = min(max((float(vectors[k] @ vectors[j]) - tau) / (1.0 - tau), 0.0), 1.0)
            worst = max(worst, r)
        factors.append(1.0 - phi * worst)
    return factors


def test_a_near_copy_loses_phi_and_a_dissimilar_item_nothing(tiny_world: World) -> None:
    p, s = tiny_world.params, tiny_world.scales
    content = content_vectors(tiny_world.catalogue)
    assert p.similarity_fatigue > 0
    # the same item twice: cosine 1, the second position loses exactly phi
    same = fatigue_factors(p, s, content, np.array([[17, 17], [3, 3]]))
    np.testing.assert_allclose(same, [[1.0, 1.0 - p.similarity_fatigue]] * 2, rtol=0, atol=1e-12)
    # two items with cosine below the floor tau: nothing lost
    cos = content @ content.T
    i, j = np.argwhere(cos < s.near_duplicate_cos - 0.05)[0]
    assert fatigue_factors(p, s, content, np.array([[i, j], [j, i]])).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    # a copy further down still tires: the worst earlier neighbour counts
    np.testing.assert_allclose(fatigue_factors(p, s, content, np.array([[17, j, 17]]))[0, 2],
                               1.0 - p.similarity_fatigue, atol=1e-12)


def test_fatigue_of_random_slates_by_hand(tiny_world: World) -> None:
    rng = np.random.default_rng(12)
    content = content_vectors(tiny_world.catalogue)
    # slates holding the closest pairs of distinct items at random places, so that some positions tire
    cos = content @ content.T - 2.0 * np.eye(tiny_world.n_items)
    pairs = np.argwhere(np.triu(cos > tiny_world.scales.near_duplicate_cos, k=1))
    assert len(pairs) >= 5
    slates = []
    for i, j in pairs[:20]:
        others = rng.choice(np.setdiff1d(np.arange(tiny_world.n_items), [i, j]), size=3, replace=False)
        slates.append(rng.permutation(np.r_[i, j, others]))
    slates = np.array(slates + [rng.choice(tiny_world.n_items, size=5, replace=False) for _ in range(20)])
    got = fatigue_factors(tiny_world.params, tiny_world.scales, content, slates)
    expected = np.array([hand_fatigue(tiny_world, s.tolist()) for s in slates])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.all(got[:, 0] == 1.0)  # the top position is never tired
    assert got.min() < 1.0 and np.all(got >= 1.0 - tiny_world.params.similarity_fatigue - 1e-12)
    # no fatigue at phi = 0
    calm = tiny_world.params.model_copy(update={"similarity_fatigue": 0.0})
    assert np.all(fatigue_factors(calm, tiny_world.scales, content, slates) == 1.0)


def test_the_fatigue_floor_is_the_99th_percentile_of_pair_cosines(tiny_world: World) -> None:
    cat = tiny_world.catalogue
    x = np.hstack([cat.visual_latent, cat.text_latent])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = x @ x.T
    # random pairs of different items: an item with itself (cosine 1) never counts
    different = ~np.eye(len(cos), dtype=bool)
    share_above = (cos[different] > tiny_world.scales.near_duplicate_cos).mean()
    assert share_above == pytest.approx(0.01, abs=0.003)


def test_the_hour_table_is_centred_over_the_day_and_over_the_domains() -> None:
    # over a uniform day no domain gains on average (so the static truth, without an hour, is the
    # day's average) and at any hour the shifts cancel across the domains
    table = np.array(list(HOUR_TABLE.values()))
    np.testing.assert_allclose(table.sum(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(table.sum(axis=1), 0.0, atol=1e-15)
