"""Training losses as pure functions ``(scores, labels, mask) -> scalar``, looked up by name.

Every loss takes ``scores`` (logits) and ``labels`` of shape ``(n, m)`` and a bool ``mask`` of the
same shape, ``True`` where an entry counts, and returns a scalar tensor (allRank's signature,
Pobrotyn et al. 2020). :func:`get_loss` returns a loss by name, so that a stage can let a parameter
choose it (the encode towers train with ``sampled_softmax``; no key chooses among losses yet).

* ``sampled_softmax``: :func:`~hermes_core.losses.sampled_softmax.sampled_softmax_loss`, the
  sampled softmax with in-batch negatives (InfoNCE); :func:`in_batch_labels_and_mask` builds its
  labels and mask for a batch of (query, positive item) pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from hermes_core.losses.sampled_softmax import in_batch_labels_and_mask, sampled_softmax_loss

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``(scores (n, m), labels (n, m), mask (n, m) bool) -> scalar tensor``."""

LOSSES: dict[str, Loss] = {
    "sampled_softmax": sampled_softmax_loss,
}
"""Every loss by the name a parameter file uses."""


def get_loss(name: str) -> Loss:
    """The loss registered as ``name``; ``KeyError`` lists the known names."""
    try:
        return LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}") from None


__all__ = ["LOSSES", "Loss", "get_loss", "in_batch_labels_and_mask", "sampled_softmax_loss"]
