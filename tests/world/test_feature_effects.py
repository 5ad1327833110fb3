"""The planted feature effects: each R^2 against an independent identity (between-group share of
the sum of squares for a categorical feature, squared correlation for one numeric feature), the
hour's spread against the context table by hand, and the known answers of worlds whose effects
are switched off (R^2 near 0, no hour term) or left on (the age effect's population value)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.feature_effects import (
    age_style_projection,
    context_spread,
    expected_age_style_r2,
    feature_effects,
    region_one_hot,
    standardised_age,
)
from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.preferences import HOUR_BUCKETS, HOUR_DOMAIN

# enough users for a sharp R^2 (its noise about 4 / n_users), the tiny world's other sizes
LARGE_USERS = 4000


def between_group_share(groups: np.ndarray, target: np.ndarray) -> float:
    """R^2 of an OLS fit on a categorical feature (one-hot with an intercept) = SS_between / SS_total."""
    total = ((target - target.mean()) ** 2).sum()
    between = sum((groups == g).sum() * (target[groups == g].mean() - target.mean()) ** 2 for g in np.unique(groups))
    return float(between / total)


def test_helpers_by_hand() -> None:
    assert region_one_hot(np.array([0, 2, 4])).tolist() == [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
    # AGE_STYLE over (red, blue, green, dark, bright, round, angular, striped), |A|^2 = 4.5
    preference = np.array([[0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]])
    assert age_style_projection(preference)[0] == pytest.approx((0.5 + 2.0) / np.sqrt(4.5))
    assert standardised_age(np.array([16, 79])).mean() == pytest.approx(0.0)
    ages = np.arange(16, 80)
    assert standardised_age(ages).std() == pytest.approx(1.0)  # exact for the uniform ages 16..79
    assert expected_age_style_r2(0.0) == 0.0
    assert expected_age_style_r2(0.6) == pytest.approx(0.36 * 4.5 / (0.36 * 4.5 + 1.0))


def test_each_r2_matches_an_independent_identity(tiny_world: World) -> None:
    users = tiny_world.users
    effects = feature_effects(tiny_world)
    for d, name in enumerate(DOMAINS):
        assert effects.region_domain_r2_by_domain[name] == pytest.approx(
            between_group_share(users.region, users.domain_affinity[:, d]), abs=1e-10)
    assert effects.region_domain_r2 == pytest.approx(np.mean(list(effects.region_domain_r2_by_domain.values())))
    style = age_style_projection(users.visual_preference)
    assert effects.age_style_r2 == pytest.approx(np.corrcoef(users.age, style)[0, 1] ** 2, abs=1e-10)
    placebo = np.mean([between_group_share(users.newsletter, users.domain_affinity[:, d]) for d in range(4)])
    assert effects.placebo_domain_r2 == pytest.approx(placebo, abs=1e-10)
    assert effects.placebo_style_r2 == pytest.approx(np.corrcoef(users.newsletter, style)[0, 1] ** 2, abs=1e-10)


def test_context_spread_matches_the_hour_table_by_hand(tiny_world: World) -> None:
    logs, p = tiny_world.logs, tiny_world.params
    first = np.flatnonzero(logs.step == 0)
    table = p.context_strength * np.array([HOUR_DOMAIN[b] for b in HOUR_BUCKETS])  # (bucket, domain)
    context = np.array([[table[logs.hour[r] // 6, d] for d in tiny_world.catalogue.domain] for r in first])
    static = tiny_world.affinity(logs.user[first])
    n_sessions, context_std, static_std = context_spread(tiny_world, chunk_size=50)
    assert n_sessions == len(first)
    assert context_std == pytest.approx(context.std(), rel=1e-9)
    assert static_std == pytest.approx(static.std(), rel=1e-9)
    effects = feature_effects(tiny_world)
    assert effects.context_over_static == pytest.approx(context.std() / static.std(), rel=1e-9)


@pytest.fixture(scope="module")
def no_effect_world(tiny_world_params: WorldParams) -> World:
    """Many users, no region, age or hour effect."""
    return World.generate(tiny_world_params.model_copy(update={
        "n_users": LARGE_USERS, "region_domain_effect": 0.0, "age_style_effect": 0.0, "context_strength": 0.0}))


def test_switched_off_effects_measure_near_zero(no_effect_world: World) -> None:
    effects = feature_effects(no_effect_world)
    # an R^2 of pure noise on q regressors has mean q / (n - 1): 4 / 3999 for region, 1 / 3999 for age
    assert effects.region_domain_r2 < 0.005
    assert effects.age_style_r2 < 0.003
    assert effects.placebo_domain_r2 < 0.003 and effects.placebo_style_r2 < 0.003
    assert effects.context_std == 0.0 and effects.context_over_static == 0.0


def test_planted_effects_measure_their_size(tiny_world_params: WorldParams) -> None:
    world = World.generate(tiny_world_params.model_copy(update={"n_users": LARGE_USERS}))
    effects = feature_effects(world)
    assert effects.age_style_r2 == pytest.approx(expected_age_style_r2(world.params.age_style_effect), abs=0.03)
    assert effects.region_domain_r2 > 0.1 and min(effects.region_domain_r2_by_domain.values()) > 0.05
    assert effects.placebo_domain_r2 < 0.003 and effects.placebo_style_r2 < 0.003
    assert effects.context_over_static > 0.05
