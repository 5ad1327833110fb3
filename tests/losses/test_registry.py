"""Losses are looked up by name; an unknown name lists the known ones."""

from __future__ import annotations

import pytest

from hermes_core.losses import LOSSES, get_loss, sampled_softmax_loss


def test_get_loss_returns_the_registered_function() -> None:
    assert get_loss("sampled_softmax") is sampled_softmax_loss
    assert set(LOSSES) == {"sampled_softmax"}


def test_an_unknown_name_lists_the_known_losses() -> None:
    with pytest.raises(KeyError, match="unknown loss 'softmax'; known losses: sampled_softmax"):
        get_loss("softmax")
