"""Losses are looked up by name; an unknown name lists the known ones."""

from __future__ import annotations

import pytest

from hermes_core.losses import (
    LOSSES,
    approx_ndcg_loss,
    get_loss,
    lambdaloss,
    listmle_loss,
    pointwise_bce_loss,
    ranknet_loss,
    sampled_softmax_loss,
    softmax_ce_loss,
)


def test_get_loss_returns_the_registered_function() -> None:
    assert get_loss("sampled_softmax") is sampled_softmax_loss
    assert get_loss("listmle") is listmle_loss
    assert get_loss("softmax") is softmax_ce_loss
    assert get_loss("approxndcg") is approx_ndcg_loss
    assert get_loss("lambdaloss") is lambdaloss
    assert get_loss("ranknet") is ranknet_loss
    assert get_loss("pointwise_bce") is pointwise_bce_loss
    assert set(LOSSES) == {
        "sampled_softmax", "listmle", "softmax", "approxndcg", "lambdaloss", "ranknet", "pointwise_bce",
    }


def test_an_unknown_name_lists_the_known_losses() -> None:
    known = "approxndcg, lambdaloss, listmle, pointwise_bce, ranknet, sampled_softmax, softmax"
    with pytest.raises(KeyError, match=f"unknown loss 'listnet'; known losses: {known}"):
        get_loss("listnet")
