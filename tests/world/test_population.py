"""Users' observable features with a known effect (``hermes_core/world/population.py``): region moves
the domain tastes' Dirichlet weights, age shifts the visual-style preferences by an exact amount, and
the ``newsletter`` flag is a placebo that nothing reads.

Populations are drawn with :func:`generate_users` alone (no catalogue, no logs), large enough for the
statistical checks, whose tolerances are a few standard errors computed from the sample sizes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import hermes_core.world as world_package
from hermes_core.world import World
from hermes_core.world.params import WorldParams
from hermes_core.world.population import (
    AGE_MEAN,
    AGE_STD,
    age_style_shift,
    generate_users,
    region_domain_alpha,
)
from hermes_core.world.preferences import affinity_matrix
from hermes_core.world.simulate import simulate_logs
from hermes_core.world.vocabulary import REGIONS, VISUAL_STYLE_NAMES

# the docstring's tables, typed in again
REGION_SHIFT = {"north": (1.0, 0.0, -1.0, 0.0), "south": (0.0, 1.0, 0.0, -1.0), "east": (-1.0, 0.0, 0.0, 1.0),
                "west": (0.0, -1.0, 1.0, 0.0), "central": (0.0, 0.0, 0.0, 0.0)}
AGE_DIRECTION = {"red": 0.0, "blue": 0.5, "green": 0.0, "dark": 1.0, "bright": -1.0, "round": -1.0,
                 "angular": 1.0, "striped": -0.5}
N_BIG = 20_000
FORMULA_MODULES = ("preferences.py", "truth.py", "simulate.py", "components.py", "dynamics.py", "catalogue.py",
                   "conversions.py", "policies.py", "queries.py", "world.py", "plackett_luce.py", "injections.py")


def population(params: WorldParams, seed: int = 1, **update: object):  # noqa: ANN201
    return generate_users(params.model_copy(update={"n_users": N_BIG, **update}), np.random.default_rng(seed))


# ---------------------------------------------------------------------- region
def test_the_region_weights_by_hand(tiny_world_params: WorldParams) -> None:
    shares = [0.25, 0.25, 0.25, 0.25]
    for effect in (0.0, 0.8, 2.0):
        params = tiny_world_params.model_copy(update={"region_domain_effect": effect})
        alpha = region_domain_alpha(params, np.arange(len(REGIONS)))
        for r, name in enumerate(REGIONS):
            expected = [2 * shares[d] * np.exp(effect * REGION_SHIFT[name][d]) for d in range(4)]
            np.testing.assert_allclose(alpha[r], expected, rtol=1e-12)
    # no effect: every region has the same weights
    flat = region_domain_alpha(tiny_world_params.model_copy(update={"region_domain_effect": 0.0}),
                               np.arange(len(REGIONS)))
    assert np.all(flat == flat[0])


def test_without_an_effect_the_region_does_not_move_domain_tastes(tiny_world_params: WorldParams) -> None:
    users = population(tiny_world_params, region_domain_effect=0.0)
    overall = users.domain_affinity.mean(axis=0)
    for r in range(len(REGIONS)):
        group = users.domain_affinity[users.region == r]
        standard_error = group.std(axis=0) / np.sqrt(len(group))
        assert np.all(np.abs(group.mean(axis=0) - overall) < 4 * standard_error)


def test_a_large_effect_sends_north_to_movies_and_south_to_music(tiny_world_params: WorldParams) -> None:
    effect = 2.0
    users = population(tiny_world_params, region_domain_effect=effect)
    north, south = users.region == REGIONS.index("north"), users.region == REGIONS.index("south")
    movie = users.domain_affinity[:, 0]
    assert movie[north].mean() > movie[south].mean() + 0.2
    assert users.domain_affinity[south, 1].mean() > users.domain_affinity[north, 1].mean() + 0.2
    # each region's mean is the Dirichlet mean alpha / sum(alpha), within 4 standard errors
    for r, name in enumerate(REGIONS):
        alpha = np.array([0.5 * np.exp(effect * REGION_SHIFT[name][d]) for d in range(4)])
        group = users.domain_affinity[users.region == r]
        standard_error = group.std(axis=0) / np.sqrt(len(group))
        assert np.all(np.abs(group.mean(axis=0) - alpha / alpha.sum()) < 4 * standard_error), name
    # and north's users have a higher mean true affinity for movies than south's (same world otherwise)
    world = World.generate(tiny_world_params.model_copy(update={"region_domain_effect": effect, "n_users": 1000}))
    movies = np.flatnonzero(world.catalogue.domain == 0)
    mean = world.affinity(np.arange(world.n_users), movies).mean(axis=1)
    north_w, south_w = world.users.region == 0, world.users.region == 1
    assert mean[north_w].mean() > mean[south_w].mean()


# ---------------------------------------------------------------------- age
def test_the_age_shift_by_hand(tiny_world_params: WorldParams) -> None:
    ages = np.arange(16, 80)
    assert AGE_MEAN == ages.mean() and AGE_STD == pytest.approx(ages.std(), rel=1e-15)
    effect = tiny_world_params.age_style_effect
    shift = age_style_shift(tiny_world_params, ages)
    for row, age in enumerate(ages):
        z = (age - 47.5) / np.sqrt(((80 - 16) ** 2 - 1) / 12)
        np.testing.assert_allclose(shift[row], [effect * z * AGE_DIRECTION[s] for s in VISUAL_STYLE_NAMES],
                                   rtol=0, atol=1e-12)


def test_the_age_effect_is_exact(tiny_world_params: WorldParams) -> None:
    # the same draws with and without the effect: the visual preferences differ by the shift exactly
    with_age = population(tiny_world_params, seed=5)
    without = population(tiny_world_params, seed=5, age_style_effect=0.0)
    assert np.array_equal(with_age.age, without.age)
    np.testing.assert_allclose(with_age.visual_preference - without.visual_preference,
                               age_style_shift(tiny_world_params, with_age.age), rtol=0, atol=1e-12)
    for name in ("text_preference", "hidden_preference", "domain_affinity", "creator_preference", "newsletter"):
        assert np.array_equal(getattr(with_age, name), getattr(without, name)), name


def test_without_the_shift_the_visual_taste_does_not_depend_on_age(tiny_world_params: WorldParams) -> None:
    users = population(tiny_world_params, seed=6)
    z = (users.age - users.age.mean()) / users.age.std()
    residual = users.visual_preference - age_style_shift(tiny_world_params, users.age)
    slopes = z @ (residual - residual.mean(axis=0)) / (z @ z)
    assert np.all(np.abs(slopes) < 4 / np.sqrt(N_BIG))  # eps ~ N(0, 1): the slope's error is 1/sqrt(n)
    # while the preferences themselves have the promised slope per standard deviation of age
    raw_slopes = z @ (users.visual_preference - users.visual_preference.mean(axis=0)) / (z @ z)
    promised = tiny_world_params.age_style_effect * np.array([AGE_DIRECTION[s] for s in VISUAL_STYLE_NAMES])
    assert np.all(np.abs(raw_slopes - promised) < 4 / np.sqrt(N_BIG))
    assert np.abs(promised).max() > 40 / np.sqrt(N_BIG)  # the effect is far above the noise


# ---------------------------------------------------------------------- placebo
def test_the_newsletter_is_independent_of_every_taste(tiny_world_params: WorldParams) -> None:
    users = population(tiny_world_params, seed=7)
    flag = users.newsletter.astype(float)
    assert abs(flag.mean() - 0.3) < 4 * np.sqrt(0.21 / N_BIG)
    tastes = np.hstack([users.visual_preference, users.text_preference, users.hidden_preference,
                        users.modality_affinity[:, None], users.domain_affinity, np.log(users.activity)[:, None],
                        users.age[:, None], users.region[:, None], users.creator_preference, users.text_drift])
    centred = (tastes - tastes.mean(axis=0)) / tastes.std(axis=0)
    correlation = centred.T @ (flag - flag.mean()) / (N_BIG * flag.std())
    assert np.all(np.abs(correlation) < 4.5 / np.sqrt(N_BIG))


def test_flipping_the_newsletter_changes_no_truth(tiny_world: World) -> None:
    model = tiny_world.model
    flipped = replace(model, users=replace(model.users, newsletter=~model.users.newsletter))
    users = np.arange(tiny_world.n_users)
    assert np.array_equal(affinity_matrix(model, users), affinity_matrix(flipped, users))
    small = model.params.model_copy(update={"n_requests": 200})
    first = simulate_logs(replace(model, params=small), np.random.default_rng(3))
    second = simulate_logs(replace(flipped, params=small), np.random.default_rng(3))
    assert np.array_equal(first.candidate_affinity, second.candidate_affinity)
    assert np.array_equal(first.clicks, second.clicks)


def test_no_formula_reads_the_newsletter() -> None:
    # the flag may be exported as a feature and measured (export, feature_effects), never read by
    # the modules that generate or compute the truth
    folder = Path(world_package.__file__).parent
    readers = [name for name in FORMULA_MODULES
               if re.search(r"newsletter", (folder / name).read_text(encoding="utf-8"))]
    assert readers == []
    # in population.py: the dataclass field and its own draw, read by nothing
    tree = ast.parse((folder / "population.py").read_text(encoding="utf-8"))
    assert [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "newsletter"] == []
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "newsletter"]
    assert len(names) == 1 and isinstance(names[0].ctx, ast.Store)  # the field declaration
    draws = [node for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg == "newsletter"]
    assert len(draws) == 1
    assert ast.unparse(draws[0].value) == "rng.random(n) < 0.3"


def test_text_drift_has_the_configured_scale(tiny_world_params: WorldParams) -> None:
    users = population(tiny_world_params, seed=8)
    drift = users.text_drift
    assert drift.std() == pytest.approx(tiny_world_params.taste_drift, rel=0.02)
    assert np.all(population(tiny_world_params, seed=8, taste_drift=0.0).text_drift == 0.0)
