r"""Pointwise binary cross-entropy on :math:`\mathbb{1}[y > 0]`, the baseline of the rank stage.

Each real item is a separate binary example whose target is "relevant at all":

.. math::

    \mathcal{L}_q = \frac{1}{n_q} \sum_{i \in M_q}
        \Bigl[-t_i \log \sigma(s_i) - (1 - t_i) \log\bigl(1 - \sigma(s_i)\bigr)\Bigr],
    \qquad t_i = \mathbb{1}[y_i > 0],

with :math:`M_q` the :math:`n_q` real items of list :math:`q`; the loss is the mean of
:math:`\mathcal{L}_q` over the lists with at least one real item, so that every list weighs the
same whatever its length. A list without a relevant item is still informative here (all its
items are negatives) and contributes its usual value. (Logistic regression on clicks, e.g.
Richardson, Dominowska & Ragno, WWW 2007; the pointwise baseline of Liu, "Learning to Rank for
Information Retrieval", 2009, §2.)
"""

from __future__ import annotations

import torch
from torch import nn

from hermes_core.losses._lists import check_lists, mean_over_lists


def pointwise_bce_loss(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over lists of the mean binary cross-entropy of ``sigmoid(scores)`` against ``labels > 0``.

    ``scores (B, L)`` float logits, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)``
    bool, ``True`` at a real item (see the module docstring). Raises ``ValueError`` on bad inputs.
    """
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    targets = (clean_labels > 0).to(clean_scores.dtype)
    per_item = nn.functional.binary_cross_entropy_with_logits(clean_scores, targets, reduction="none")
    real = mask.to(clean_scores.dtype)
    per_list = (per_item * real).sum(dim=1) / real.sum(dim=1).clamp_min(1.0)
    return mean_over_lists(per_list, mask)
