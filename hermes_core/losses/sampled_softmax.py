r"""Sampled softmax with in-batch negatives (InfoNCE), as a pure function ``(scores, labels, mask) -> scalar``.

For a batch of :math:`n` queries, each scored against :math:`m` candidates (logits
:math:`s_{ij}`), with one positive :math:`p_i` per row and the set :math:`M_i` of candidates that
count for row :math:`i` (``mask[i]``):

.. math::

    \mathcal{L} = -\frac{1}{n} \sum_{i=1}^{n}
        \log \frac{\exp(s_{i p_i})}{\sum_{j \in M_i} \exp(s_{ij})}

the cross-entropy of the softmax over the counted candidates (Bengio & Senécal 2008 for the
sampled softmax; InfoNCE, Oord, Li & Vinyals 2018, eq. 4, when the negatives are the other
positives of the batch). The scores are logits: a caller divides by a temperature :math:`\tau`
and subtracts a sampling-bias correction :math:`\log Q_j` (Yi et al. 2019, "Sampling-Bias-Corrected
Neural Modeling for Large Corpus Item Recommendations", §3) before calling, so that the loss stays
one formula. :func:`in_batch_labels_and_mask` builds ``labels`` and ``mask`` of the in-batch
case: the :math:`n \times n` score matrix of every query against every positive of the batch,
the positives on the diagonal, and a column that repeats row :math:`i`'s positive item removed
from row :math:`i` (an item is never its own negative).

The signature follows allRank (Pobrotyn et al. 2020): ``scores`` and ``labels`` ``(n, m)``, ``mask``
``(n, m)`` bool, ``True`` where an entry counts (allRank passes padded entries as a label
sentinel instead; an explicit mask is the same information).
"""

from __future__ import annotations

import torch
from torch import nn


def sampled_softmax_loss(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over rows of :math:`-\\log \\operatorname{softmax}_{j \\in M_i}(s_i)_{p_i}` (module docstring).

    ``scores (n, m)`` float logits; ``labels (n, m)`` bool or 0/1 with exactly one positive per
    row; ``mask (n, m)`` bool, ``True`` where an entry counts, and ``True`` at every positive.
    Masked entries are set to :math:`-\\infty` before the softmax, so they add nothing to the
    denominator and receive no gradient. Raises ``ValueError`` on mismatched shapes, a row
    without exactly one positive, or a masked positive.
    """
    if scores.ndim != 2 or labels.shape != scores.shape or mask.shape != scores.shape:
        raise ValueError(f"scores, labels and mask must share one (n, m) shape, got {tuple(scores.shape)}, "
                         f"{tuple(labels.shape)} and {tuple(mask.shape)}")
    positive = labels.bool()
    if not bool((positive.sum(dim=1) == 1).all()):
        raise ValueError("labels must hold exactly one positive per row")
    if bool((positive & ~mask).any()):
        raise ValueError("mask must be True at every positive (a masked positive has no probability)")
    logits = scores.masked_fill(~mask, float("-inf"))
    targets = positive.to(torch.uint8).argmax(dim=1)  # (n,) column of each row's positive
    return nn.functional.cross_entropy(logits, targets)


def in_batch_labels_and_mask(item_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(labels, mask)`` of a square in-batch score matrix whose column ``j`` is the positive of row ``j``.

    ``item_ids (B,)`` names each pair's positive item. ``labels`` is the identity (row ``i``'s
    positive is column ``i``); ``mask`` is ``False`` where column ``j != i`` holds the same item as
    row ``i``'s positive (a duplicate in the batch), ``True`` elsewhere.
    """
    if item_ids.ndim != 1:
        raise ValueError(f"item_ids must be 1-D (B,), got shape {tuple(item_ids.shape)}")
    diagonal = torch.eye(len(item_ids), dtype=torch.bool, device=item_ids.device)
    duplicate = (item_ids[:, None] == item_ids[None, :]) & ~diagonal
    return diagonal, ~duplicate
