"""The parts of affinity sum exactly to it, and each part is the term it is named after."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.components import component_names
from hermes_core.world.preferences import content_vectors, context_bonus_matrix


def test_the_parts_sum_to_the_static_affinity_without_history(tiny_world: World) -> None:
    for user in (0, 7, 123):
        parts = tiny_world.affinity_components(user)
        assert list(parts.columns) == component_names() and len(parts) == tiny_world.n_items
        np.testing.assert_allclose(parts.sum(axis=1).to_numpy(), tiny_world.affinity([user])[0], rtol=0, atol=1e-9)
        assert (parts["history"] == 0.0).all()


def test_the_history_part_is_the_contextual_bonus_of_the_last_click(tiny_world: World) -> None:
    items = np.arange(20)
    history = [5, 42]
    parts = tiny_world.affinity_components(3, items, history=history)
    expected_bonus = context_bonus_matrix(tiny_world.params, tiny_world.scales, tiny_world.catalogue,
                                          content_vectors(tiny_world.catalogue), np.array([42]), items)[0]
    np.testing.assert_allclose(parts["history"].to_numpy(), expected_bonus, atol=1e-12)
    np.testing.assert_allclose(parts.sum(axis=1).to_numpy(),
                               tiny_world.affinity([3], items)[0] + expected_bonus, rtol=0, atol=1e-9)


def test_a_style_part_is_one_coordinate_of_the_visual_dot_product(tiny_world: World) -> None:
    # independent computation of the "red" style part of user 11 for item 9, from the formula
    user, item = 11, 9
    users, cat, scales = tiny_world.users, tiny_world.catalogue, tiny_world.scales
    expected = 1.4 * users.modality_affinity[user] * users.visual_preference[user, 0] * cat.visual_latent[item, 0]
    expected /= scales.visual_std
    assert tiny_world.affinity_components(user, item).loc[item, "style:red"] == pytest.approx(expected, abs=1e-12)


def test_a_user_without_visual_taste_has_no_style_parts(tiny_world: World) -> None:
    user = int(np.argmin(tiny_world.users.modality_affinity))
    parts = tiny_world.affinity_components(user)
    styles = parts[[c for c in parts.columns if c.startswith("style:")]].abs().to_numpy().max()
    themes = parts[[c for c in parts.columns if c.startswith("theme:")]].abs().to_numpy().max()
    # the style weight is m_u, the theme weight 1 - m_u: the least visual user leans on themes
    assert tiny_world.users.modality_affinity[user] < 0.5 and styles < themes
