"""Training losses as pure functions ``(scores, labels, mask) -> scalar``, looked up by name.

Every loss takes ``scores`` (logits) and ``labels`` of shape ``(n, m)`` and a bool ``mask`` of the
same shape, ``True`` where an entry counts, and returns a scalar tensor (allRank's signature,
Pobrotyn et al. 2020). :func:`get_loss` returns a loss by name, so that a stage can let a parameter
choose it (the encode towers train with ``sampled_softmax``; no key chooses among losses yet).

* ``sampled_softmax``: :func:`~hermes_core.losses.sampled_softmax.sampled_softmax_loss`, the
  sampled softmax with in-batch negatives (InfoNCE); :func:`in_batch_labels_and_mask` builds its
  labels and mask for a batch of (query, positive item) pairs.

The rank stage's list losses take ``scores`` and graded ``labels`` ``(B, L)`` (relevance ``>= 0``) and
``mask`` ``(B, L)``, ``True`` at a real item; padded entries change nothing, and each returns the
mean over the lists with at least one real item (each module says what a list without a relevant
item contributes). Keyword arguments (``seed``, ``temperature``, ``weighting`` ...) keep their
defaults when a loss is called through the registry; bind others with :func:`functools.partial`.

* ``listmle``: :func:`~hermes_core.losses.listmle.listmle_loss` (Xia et al. 2008), ties by ``seed``;
* ``softmax``: :func:`~hermes_core.losses.softmax_ce.softmax_ce_loss`, ListNet top-one with labels
  normalised to a distribution (Cao et al. 2007);
* ``approxndcg``: :func:`~hermes_core.losses.approx_ndcg.approx_ndcg_loss` (Qin, Liu & Li 2010);
* ``lambdaloss``: :func:`~hermes_core.losses.lambdaloss.lambdaloss`, NDCG-Loss2++ (Wang et al. 2018);
* ``ranknet``: :func:`~hermes_core.losses.ranknet.ranknet_loss` (Burges et al. 2005);
* ``pointwise_bce``: :func:`~hermes_core.losses.pointwise.pointwise_bce_loss`, the baseline.

:func:`~hermes_core.losses.ips_weighted.ips_softmax_loss`, the inverse-propensity-weighted softmax
cross-entropy for position-biased clicks, needs a fourth argument (the propensities) and is not in
the registry.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from hermes_core.losses.approx_ndcg import approx_ndcg_loss
from hermes_core.losses.ips_weighted import ips_softmax_loss
from hermes_core.losses.lambdaloss import lambdaloss
from hermes_core.losses.listmle import listmle_loss
from hermes_core.losses.pointwise import pointwise_bce_loss
from hermes_core.losses.ranknet import ranknet_loss
from hermes_core.losses.sampled_softmax import in_batch_labels_and_mask, sampled_softmax_loss
from hermes_core.losses.softmax_ce import softmax_ce_loss

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``(scores (n, m), labels (n, m), mask (n, m) bool) -> scalar tensor``."""

LOSSES: dict[str, Loss] = {
    "sampled_softmax": sampled_softmax_loss,
    "listmle": listmle_loss,
    "softmax": softmax_ce_loss,
    "approxndcg": approx_ndcg_loss,
    "lambdaloss": lambdaloss,
    "ranknet": ranknet_loss,
    "pointwise_bce": pointwise_bce_loss,
}
"""Every loss by the name a parameter file uses."""


def get_loss(name: str) -> Loss:
    """The loss registered as ``name``; ``KeyError`` lists the known names."""
    try:
        return LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}") from None


__all__ = [
    "LOSSES",
    "Loss",
    "approx_ndcg_loss",
    "get_loss",
    "in_batch_labels_and_mask",
    "ips_softmax_loss",
    "lambdaloss",
    "listmle_loss",
    "pointwise_bce_loss",
    "ranknet_loss",
    "sampled_softmax_loss",
    "softmax_ce_loss",
]
