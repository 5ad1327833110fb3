"""The parts of affinity sum exactly to it, and each part is the term it is named after.

Expected values are recomputed here from the raw arrays with the formulas of
``hermes_core/world/components.py`` and ``truth.py`` (a style part is one coordinate of the visual dot
product weighted by the modality weight with its domain shift and the session's intent; a theme part
one coordinate of the drifted text dot product; the history parts a loop over the history).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.components import component_names
from hermes_core.world.params import WorldParams
from hermes_core.world.preferences import SessionContext
from hermes_core.world.vocabulary import THEME_NAMES, VISUAL_STYLE_NAMES
from tests.world.hand_history import hand_history_parts

DOMAIN_SHIFT = (0.5, -0.5, 1.0, -1.0)  # movie, music, product, news: the docstring's table
MORNING = (-0.5, -0.5, 0.0, 1.0)  # hours 6-11
HISTORY_COLUMNS = ["history:intent", "history:creator", "history:series", "history:genre"]


@pytest.fixture(scope="module")
def popular_world(tiny_world_params: WorldParams) -> World:
    """The tiny world with popularity in relevance."""
    return World.generate(tiny_world_params.model_copy(update={"popularity_in_relevance": True}))


def hand_modality(world: World, user: int, item: int, intent: float) -> float:
    m_u = float(world.users.modality_affinity[user])
    shift = world.params.domain_modality_shift * DOMAIN_SHIFT[world.catalogue.domain[item]]
    logit = math.log(m_u / (1.0 - m_u)) + shift
    return 1.0 / (1.0 + math.exp(-(logit + intent)))


def test_the_column_names(tiny_world: World) -> None:
    names = component_names()
    assert names == ([f"style:{s}" for s in VISUAL_STYLE_NAMES] + [f"theme:{t}" for t in THEME_NAMES]
                     + ["hidden", "domain", "creator", "popularity", "context"] + HISTORY_COLUMNS)
    parts = tiny_world.affinity_components(0)
    assert list(parts.columns) == names and len(parts) == tiny_world.n_items
    assert parts.index.tolist() == list(range(tiny_world.n_items))


def test_the_parts_sum_to_the_static_affinity_without_history(tiny_world: World) -> None:
    for user in (0, 7, 123):
        parts = tiny_world.affinity_components(user)
        np.testing.assert_allclose(parts.sum(axis=1).to_numpy(), tiny_world.affinity([user])[0], rtol=0, atol=1e-9)
        assert (parts[HISTORY_COLUMNS] == 0.0).all().all()
        assert (parts["context"] == 0.0).all()  # no hour: no context term


def test_the_parts_sum_to_the_contextual_affinity(tiny_world: World) -> None:
    items = np.arange(tiny_world.n_items)
    successor = tiny_world.dynamics.successor
    series_start = int(np.flatnonzero(successor >= 0)[0])
    histories = ([5, 42], [series_start, 17, 99], [], [60])
    contexts = (None, SessionContext.single(modality_intent=2.5, hour=8, day=30.0),
                SessionContext.single(modality_intent=-2.5, hour=22))
    for user in (3, 150):
        for history in histories:
            for context in contexts:
                parts = tiny_world.affinity_components(user, items, history=history, context=context)
                expected = tiny_world.contextual_affinity(user, history, items, context)
                np.testing.assert_allclose(parts.sum(axis=1).to_numpy(), expected, rtol=0, atol=1e-9)
                # and the history columns are the hand formula's parts
                for name, values in hand_history_parts(tiny_world, list(history), items).items():
                    np.testing.assert_allclose(parts[f"history:{name}"].to_numpy(), values, rtol=0, atol=1e-9)
    # the series part is on for the successor of a clicked series part
    parts = tiny_world.affinity_components(3, [int(successor[series_start])], history=[series_start])
    assert parts["history:series"].iloc[0] == pytest.approx(tiny_world.params.series_strength, abs=1e-12)


def test_a_style_and_a_theme_part_are_one_coordinate_of_the_dot_products(tiny_world: World) -> None:
    users, cat, s, p = tiny_world.users, tiny_world.catalogue, tiny_world.scales, tiny_world.params
    day = 30.0
    context = SessionContext.single(modality_intent=2.5, hour=8, day=day)
    for user, item in ((11, 9), (40, 120), (199, 0)):
        for ctx, intent, drift in ((None, 0.0, 0.0), (context, 2.5, day / p.log_days - 1.0)):
            m = hand_modality(tiny_world, user, item, intent)
            parts = tiny_world.affinity_components(user, item, context=ctx)
            for k, style in enumerate(VISUAL_STYLE_NAMES):
                expected = 1.4 * m * users.visual_preference[user, k] * cat.visual_latent[item, k] / s.visual_std
                assert parts.loc[item, f"style:{style}"] == pytest.approx(expected, abs=1e-12)
            for k, theme in enumerate(THEME_NAMES):
                taste = users.text_preference[user, k] + drift * users.text_drift[user, k]
                expected = 1.4 * (1 - m) * taste * cat.text_latent[item, k] / s.text_std
                assert parts.loc[item, f"theme:{theme}"] == pytest.approx(expected, abs=1e-12)


def test_the_single_parts_by_hand(tiny_world: World) -> None:
    users, cat, s, p = tiny_world.users, tiny_world.catalogue, tiny_world.scales, tiny_world.params
    creator_taste = tiny_world.model.creator_taste
    context = SessionContext.single(modality_intent=0.0, hour=8)
    user = 77
    parts = tiny_world.affinity_components(user, context=context)
    for item in range(0, tiny_world.n_items, 7):
        d = int(cat.domain[item])
        row = parts.loc[item]
        assert row["hidden"] == pytest.approx(0.8 * users.hidden_preference[user] @ cat.hidden_latent[item]
                                              / s.hidden_std, abs=1e-12)
        assert row["domain"] == pytest.approx(0.8 * math.log(4 * max(users.domain_affinity[user, d], 0.02)), abs=1e-12)
        assert row["creator"] == pytest.approx(p.creator_taste_weight * users.creator_preference[user]
                                               @ creator_taste[cat.creator[item]] / s.creator_std, abs=1e-12)
        assert row["context"] == pytest.approx(p.context_strength * MORNING[d], abs=1e-15)
    assert parts["context"].abs().max() > 0


def test_the_popularity_part_is_zero_unless_switched_on(tiny_world: World, popular_world: World) -> None:
    assert not tiny_world.params.popularity_in_relevance
    for user in (0, 99):
        assert (tiny_world.affinity_components(user)["popularity"] == 0.0).all()
    s, cat = popular_world.scales, popular_world.catalogue
    for user in (0, 99):
        parts = popular_world.affinity_components(user)
        expected = 0.5 * (cat.log_popularity - s.popularity_mean) / s.popularity_std
        np.testing.assert_allclose(parts["popularity"].to_numpy(), expected, rtol=0, atol=1e-12)
        assert parts["popularity"].abs().max() > 0.1
        np.testing.assert_allclose(parts.sum(axis=1).to_numpy(), popular_world.affinity([user])[0], rtol=0, atol=1e-9)
    # the switch moves the grade thresholds: popularity is part of the graded truth
    assert popular_world.scales.thresholds != tiny_world.scales.thresholds


def test_a_content_minded_user_leans_on_themes(tiny_world: World) -> None:
    user = int(np.argmin(tiny_world.users.modality_affinity))
    news = np.flatnonzero(tiny_world.catalogue.domain == 3)  # news: the domain shift lowers the weight of looks
    parts = tiny_world.affinity_components(user, news, context=SessionContext.single(modality_intent=-2.5))
    styles = parts[[c for c in parts.columns if c.startswith("style:")]].abs().to_numpy().max()
    themes = parts[[c for c in parts.columns if c.startswith("theme:")]].abs().to_numpy().max()
    assert tiny_world.users.modality_affinity[user] < 0.5 and styles < themes


def test_bad_item_arrays_are_refused(tiny_world: World) -> None:
    from hermes_core.world.components import affinity_components

    with pytest.raises(ValueError, match="1-D"):
        affinity_components(tiny_world.model, 0, np.array([[1, 2]]))
