"""The world's order patterns: series cut from each creator's items in creation order, and a
row-standardised genre transition matrix (``hermes_core/world/dynamics.py``), checked by loops."""

from __future__ import annotations

import numpy as np

from hermes_core.world import World
from hermes_core.world.dynamics import (
    MAX_SERIES_LENGTH,
    NO_SUCCESSOR,
    generate_dynamics,
    global_genre,
)


def creation_order(world: World, creator: int) -> list[int]:
    """The creator's items, oldest first (index breaks ties), by a sort on (created_at, index)."""
    cat = world.catalogue
    own = [i for i in range(world.n_items) if cat.creator[i] == creator]
    return sorted(own, key=lambda i: (float(cat.created_at[i]), i))


def test_successors_are_the_next_item_of_the_same_creator_within_a_series(tiny_world: World) -> None:
    cat, dyn = tiny_world.catalogue, tiny_world.dynamics
    n_with_successor = 0
    for item in range(tiny_world.n_items):
        nxt = int(dyn.successor[item])
        if nxt == NO_SUCCESSOR:
            continue
        n_with_successor += 1
        order = creation_order(tiny_world, int(cat.creator[item]))
        assert cat.creator[nxt] == cat.creator[item]
        assert order[order.index(item) + 1] == nxt  # the very next item the creator made
        assert dyn.series[nxt] == dyn.series[item] >= 0
        assert dyn.series_position[nxt] == dyn.series_position[item] + 1
    assert n_with_successor > 20


def test_series_are_consecutive_runs_of_two_to_four_items(tiny_world: World) -> None:
    dyn = tiny_world.dynamics
    n_series = int(dyn.series.max()) + 1
    assert n_series > 10
    assert sorted(set(dyn.series.tolist()) - {-1}) == list(range(n_series))
    for s in range(n_series):
        members = np.flatnonzero(dyn.series == s)
        assert 2 <= len(members) <= MAX_SERIES_LENGTH
        creators = set(tiny_world.catalogue.creator[members].tolist())
        assert len(creators) == 1
        order = creation_order(tiny_world, creators.pop())
        by_part = sorted(members.tolist(), key=lambda i: int(dyn.series_position[i]))
        start = order.index(by_part[0])
        assert order[start:start + len(members)] == by_part  # a run of the creation order
        assert sorted(dyn.series_position[members].tolist()) == list(range(len(members)))
        # every part but the last points at the next part; the last at nothing
        assert [int(dyn.successor[i]) for i in by_part] == by_part[1:] + [NO_SUCCESSOR]
    # items outside any series have no position and no successor
    alone = dyn.series == -1
    assert np.all(dyn.series_position[alone] == -1) and np.all(dyn.successor[alone] == NO_SUCCESSOR)


def test_no_item_is_two_series_successor(tiny_world: World) -> None:
    successor = tiny_world.dynamics.successor
    targets = successor[successor != NO_SUCCESSOR]
    assert len(np.unique(targets)) == len(targets)
    assert not np.any(targets == np.flatnonzero(successor != NO_SUCCESSOR))  # never itself


def test_global_genres_by_hand(tiny_world: World) -> None:
    cat = tiny_world.catalogue
    expected = [8 * int(cat.domain[i]) + int(cat.genre[i]) for i in range(tiny_world.n_items)]
    assert global_genre(cat).tolist() == expected
    assert global_genre(cat).max() < 32


def test_genre_transition_rows_have_mean_zero_and_unit_deviation(tiny_world: World) -> None:
    transition = tiny_world.dynamics.genre_transition
    assert transition.shape == (32, 32)
    for row in transition:
        assert abs(sum(row) / 32) < 1e-12
        assert abs(np.sqrt(sum((v - sum(row) / 32) ** 2 for v in row) / 32) - 1.0) < 1e-12
    assert np.abs(transition - transition.T).max() > 0.1  # an order pattern: not symmetric


def test_the_same_generator_gives_the_same_dynamics(tiny_world: World) -> None:
    first = generate_dynamics(tiny_world.catalogue, 4, np.random.default_rng(9))
    second = generate_dynamics(tiny_world.catalogue, 4, np.random.default_rng(9))
    other = generate_dynamics(tiny_world.catalogue, 4, np.random.default_rng(10))
    for name in ("series", "series_position", "successor", "genre_transition"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert not np.array_equal(first.genre_transition, other.genre_transition)
