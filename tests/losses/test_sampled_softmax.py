"""The sampled softmax with in-batch negatives against a hand-worked case and PyTorch's cross-entropy."""

from __future__ import annotations

import math

import pytest
import torch

from hermes_core.losses.sampled_softmax import in_batch_labels_and_mask, sampled_softmax_loss


def test_two_by_two_by_hand() -> None:
    # row 0: positive logit 2 against 0 -> -log(e^2 / (e^2 + 1)) = log(1 + e^-2) = 0.126928
    # row 1: positive logit 0 against 1 -> -log(1 / (e + 1)) = log(1 + e) = 1.313262; mean 0.720095
    scores = torch.tensor([[2.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([[1, 0], [0, 1]])
    mask = torch.ones(2, 2, dtype=torch.bool)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.e)) / 2
    assert expected == pytest.approx(0.720095, abs=1e-6)
    assert float(sampled_softmax_loss(scores, labels, mask)) == pytest.approx(expected, abs=1e-6)


def test_a_masked_entry_leaves_the_denominator() -> None:
    # masking row 1's negative leaves its positive alone in the softmax: -log 1 = 0; row 0 as above
    scores = torch.tensor([[2.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([[True, False], [False, True]])
    mask = torch.tensor([[True, True], [False, True]])
    assert float(sampled_softmax_loss(scores, labels, mask)) == pytest.approx(math.log(1 + math.exp(-2)) / 2, abs=1e-6)


def test_equals_torch_cross_entropy_with_masked_columns_removed() -> None:
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(5, 7, generator=generator, dtype=torch.float64)
    positives = torch.tensor([0, 3, 6, 2, 2])
    labels = torch.nn.functional.one_hot(positives, 7).bool()
    mask = torch.rand(5, 7, generator=generator) > 0.3
    mask[torch.arange(5), positives] = True
    # independent computation: per row, cross-entropy over the counted columns only
    per_row = [
        torch.nn.functional.cross_entropy(scores[i, mask[i]][None, :],
                                          torch.tensor([int(mask[i, : positives[i]].sum())]))
        for i in range(5)
    ]
    expected = torch.stack(per_row).mean()
    assert float(sampled_softmax_loss(scores, labels, mask)) == pytest.approx(float(expected), abs=1e-12)


def test_masked_entries_get_no_gradient_and_padding_changes_nothing() -> None:
    scores = torch.tensor([[0.5, -1.0, 3.0], [0.2, 0.1, -7.0]], requires_grad=True)
    labels = torch.tensor([[1, 0, 0], [0, 1, 0]])
    mask = torch.tensor([[True, True, False], [True, True, False]])  # the third column is padding
    loss = sampled_softmax_loss(scores, labels, mask)
    loss.backward()
    assert scores.grad is not None and scores.grad[:, 2].tolist() == [0.0, 0.0]
    unpadded = sampled_softmax_loss(scores.detach()[:, :2], labels[:, :2], mask[:, :2])
    assert float(loss.detach()) == pytest.approx(float(unpadded), abs=1e-7)


def test_in_batch_labels_and_mask_remove_duplicates_of_the_positive() -> None:
    labels, mask = in_batch_labels_and_mask(torch.tensor([4, 9, 4]))
    assert labels.tolist() == [[True, False, False], [False, True, False], [False, False, True]]
    # rows 0 and 2 share item 4: each loses the other's column, keeps its own diagonal
    assert mask.tolist() == [[True, True, False], [True, True, True], [False, True, True]]


def test_in_batch_case_equals_the_diagonal_cross_entropy() -> None:
    # without duplicates the in-batch loss is cross-entropy with target i for row i
    scores = torch.randn(4, 4, generator=torch.Generator().manual_seed(1))
    loss = sampled_softmax_loss(scores, *in_batch_labels_and_mask(torch.tensor([1, 2, 3, 4])))
    assert float(loss) == float(torch.nn.functional.cross_entropy(scores, torch.arange(4)))


@pytest.mark.parametrize(
    ("labels", "mask", "message"),
    [
        ([[1, 1], [0, 1]], [[True, True], [True, True]], "exactly one positive"),
        ([[0, 0], [0, 1]], [[True, True], [True, True]], "exactly one positive"),
        ([[1, 0], [0, 1]], [[False, True], [True, True]], "masked positive"),
    ],
)
def test_malformed_labels_or_mask_are_rejected(labels: list[list[int]], mask: list[list[bool]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sampled_softmax_loss(torch.zeros(2, 2), torch.tensor(labels), torch.tensor(mask))
    with pytest.raises(ValueError, match="shape"):
        sampled_softmax_loss(torch.zeros(2, 2), torch.zeros(2, 3), torch.ones(2, 2, dtype=torch.bool))
