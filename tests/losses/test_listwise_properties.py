"""Properties every rank-stage loss shares.

Padding is inert, gradients are right, the no-relevant-list rule holds, bad inputs raise.
"""

from __future__ import annotations

import functools

import pytest
import torch

from hermes_core.losses import (
    Loss,
    approx_ndcg_loss,
    ips_softmax_loss,
    lambdaloss,
    listmle_loss,
    pointwise_bce_loss,
    ranknet_loss,
    softmax_ce_loss,
)

LIST_LOSSES = {
    "listmle": listmle_loss,
    "softmax": softmax_ce_loss,
    "approxndcg": approx_ndcg_loss,
    "approxndcg_cold": functools.partial(approx_ndcg_loss, temperature=0.1),
    "lambdaloss": lambdaloss,
    "lambdaloss_lambdarank": functools.partial(lambdaloss, weighting="lambdarank"),
    "lambdaloss_ndcg_loss2": functools.partial(lambdaloss, weighting="ndcg_loss2"),
    "ranknet": ranknet_loss,
    "pointwise_bce": pointwise_bce_loss,
}
PROPENSITIES = torch.tensor([1.0, 0.6, 0.4, 0.3, 0.25], dtype=torch.float64).expand(3, 5)


def ips_with(propensities: torch.Tensor) -> Loss:
    """The IPS softmax with ``propensities`` (padding columns get 1), as a three-argument loss."""
    def loss(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        padded = torch.ones(scores.shape, dtype=torch.float64)
        padded[:, : propensities.shape[1]] = propensities[: scores.shape[0]]
        return ips_softmax_loss(scores, labels, mask, padded)

    return loss


ALL_LOSSES = {**LIST_LOSSES, "ips_softmax": ips_with(PROPENSITIES)}


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """3 lists of up to 5 items, graded labels with ties, the last list 3 items long; distinct scores."""
    scores = torch.tensor(
        [[0.3, -1.2, 0.8, 2.1, -0.4], [1.5, 0.2, -0.9, 0.6, -2.0], [-0.3, 0.7, 1.1, 0.0, 0.0]],
        dtype=torch.float64,
    )
    labels = torch.tensor([[2, 0, 1, 1, 0], [0, 3, 1, 0, 2], [1, 0, 2, 0, 0]], dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True] * 5, [True, True, True, False, False]])
    return scores, labels, mask


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_padding_changes_nothing(name: str) -> None:
    loss = ALL_LOSSES[name]
    scores, labels, mask = batch()
    scores.requires_grad_(True)
    reference = loss(scores, labels, mask)
    (reference_gradient,) = torch.autograd.grad(reference, scores)
    # three more columns of padding holding huge scores and large labels, plus junk in row 2's padding
    junk_scores = torch.tensor([[1e3, -1e3, 50.0]] * 3, dtype=torch.float64)
    padded_scores = torch.cat([scores.detach(), junk_scores], dim=1)
    padded_scores[2, 3:5] = torch.tensor([float("inf"), float("nan")])
    padded_scores.requires_grad_(True)
    padded_labels = torch.cat([labels, torch.tensor([[5.0, -3.0, 7.0]] * 3, dtype=torch.float64)], dim=1)
    padded_labels[2, 3:5] = torch.tensor([9.0, -1.0])
    padded_mask = torch.cat([mask, torch.zeros(3, 3, dtype=torch.bool)], dim=1)
    padded = loss(padded_scores, padded_labels, padded_mask)
    (padded_gradient,) = torch.autograd.grad(padded, padded_scores)
    assert float(padded.detach()) == pytest.approx(float(reference.detach()), abs=1e-12)
    assert torch.allclose(padded_gradient[:, :5][mask], reference_gradient[mask], atol=1e-12)
    assert bool((padded_gradient[~padded_mask] == 0).all())  # padding gets exactly zero gradient, never NaN


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_gradcheck_in_double_precision(name: str) -> None:
    scores, labels, mask = batch()
    scores.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: ALL_LOSSES[name](s, labels, mask), (scores,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["listmle", "softmax", "approxndcg", "lambdaloss", "ranknet", "ips_softmax"])
def test_a_list_without_a_relevant_item_contributes_zero_and_counts_in_the_mean(name: str) -> None:
    loss = ALL_LOSSES[name]
    scores, labels, mask = batch()
    alone = loss(scores[:1], labels[:1], mask[:1])
    with_empty_label_list = loss(scores[:2], torch.stack([labels[0], torch.zeros(5, dtype=torch.float64)]), mask[:2])
    assert float(alone) != 0.0
    assert float(with_empty_label_list) == pytest.approx(float(alone) / 2, abs=1e-12)


def test_pointwise_bce_learns_from_a_list_without_a_relevant_item() -> None:
    scores, labels, mask = batch()
    no_relevant = pointwise_bce_loss(scores[:1], torch.zeros(1, 5, dtype=torch.float64), mask[:1])
    assert float(no_relevant) > 0  # every item is a negative example: mean of log(1 + e^{s_i})
    assert float(no_relevant) == pytest.approx(float(torch.nn.functional.softplus(scores[0]).mean()), abs=1e-12)


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_a_list_with_no_real_item_is_left_out_of_the_mean(name: str) -> None:
    loss = ALL_LOSSES[name]
    scores, labels, mask = batch()
    empty_last = mask.clone()
    empty_last[2] = False
    first_two = float(loss(scores[:2], labels[:2], mask[:2]))
    assert float(loss(scores, labels, empty_last)) == pytest.approx(first_two, abs=1e-12)


@pytest.mark.parametrize("name", sorted(LIST_LOSSES))
def test_bad_inputs_raise_errors_naming_the_argument(name: str) -> None:
    loss = LIST_LOSSES[name]
    scores, labels, mask = batch()
    with pytest.raises(ValueError, match="scores must be 2-D"):
        loss(scores[0], labels[0], mask[0])
    with pytest.raises(ValueError, match="labels must have the shape"):
        loss(scores, labels[:, :4], mask)
    with pytest.raises(ValueError, match="mask must be a bool"):
        loss(scores, labels, mask.long())
    with pytest.raises(ValueError, match="mask has no True entry"):
        loss(scores, labels, torch.zeros_like(mask))
    negative = labels.clone()
    negative[0, 0] = -1
    with pytest.raises(ValueError, match="labels must be finite and >= 0"):
        loss(scores, negative, mask)


def test_bad_keyword_arguments_raise_errors_naming_them() -> None:
    scores, labels, mask = batch()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        approx_ndcg_loss(scores, labels, mask, temperature=0.0)
    with pytest.raises(ValueError, match="weighting must be one of"):
        lambdaloss(scores, labels, mask, weighting="ndcg_loss1")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ranknet_loss(scores, labels, mask, sigma=-1.0)
    with pytest.raises(ValueError, match=r"propensities must lie in \(0, 1\]"):
        ips_softmax_loss(scores, labels, mask, torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="propensities must have the shape"):
        ips_softmax_loss(scores, labels, mask, torch.ones(3, 4, dtype=torch.float64))


def test_ips_weights_a_click_more_the_lower_it_was_shown() -> None:
    # the same click at a position examined half as often counts double (unnormalised form)
    scores, _, mask = batch()
    clicks = torch.zeros(3, 5, dtype=torch.float64)
    clicks[:, 2] = 1
    ones = torch.ones(3, 5, dtype=torch.float64)
    halves = ones.clone()
    halves[:, 2] = 0.5
    full = ips_softmax_loss(scores, clicks, mask, ones, normalise_by_clicks=False)
    weighted = ips_softmax_loss(scores, clicks, mask, halves, normalise_by_clicks=False)
    assert float(weighted) == pytest.approx(2 * float(full), abs=1e-12)
