"""Shared settings of the delayed-feedback tests: one torch thread (the machine's cores are shared)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="package", autouse=True)
def single_torch_thread() -> Iterator[None]:
    """Every tensor here is tiny: one thread is as fast as two and does not compete for cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
