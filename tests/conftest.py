"""Shared fixtures: a tiny synthetic world, generated once per test session.

The world and its raw folder are read-only for the tests that use them; a test that needs to
change either must generate its own copy. Imports of ``hermes_core.world`` stay inside the
fixtures so that test modules which do not use them never pay for (or break on) them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hermes_core.world.params import WorldParams
    from hermes_core.world import World
    from hermes_core.world.export import InjectedRecord

TINY_WORLD_SETTINGS: dict[str, Any] = {
    "n_users": 200,
    "n_items": 150,
    "n_creators": 20,
    "n_requests": 1500,
    "n_queries": 30,
    "image_size": 16,
    "malformed_share": 0.02,
    "conversions": {"n_clicks": 5000},
}
"""Sizes of the shared tiny world: about one second to generate, every table non-empty."""


@pytest.fixture(scope="session")
def tiny_world_params() -> WorldParams:
    from hermes_core.world.params import WorldParams

    return WorldParams(**TINY_WORLD_SETTINGS)


@pytest.fixture(scope="session")
def tiny_world(tiny_world_params: WorldParams) -> World:
    from hermes_core.world import World

    return World.generate(tiny_world_params)


@pytest.fixture(scope="session")
def tiny_raw_folder(tiny_world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[InjectedRecord]]:
    """The tiny world's raw files and the list of malformed records injected into them."""
    from hermes_core.world.export import write_raw

    folder = tmp_path_factory.mktemp("tiny_raw")
    injected = write_raw(tiny_world, folder)
    return folder, injected


def _refuse_network(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module")
def no_network() -> Iterator[None]:
    """Every socket connect or DNS lookup fails loudly for the whole module (offline loading)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket.socket, "connect_ex", _refuse_network)
        patch.setattr(socket, "create_connection", _refuse_network)
        patch.setattr(socket, "getaddrinfo", _refuse_network)
        yield
