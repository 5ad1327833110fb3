r"""RankNet: the pairwise logistic loss (Burges et al., "Learning to Rank using Gradient Descent", ICML 2005).

For every pair of real items :math:`(i, j)` of list :math:`q` with :math:`y_i > y_j`, the model's
probability that :math:`i` ranks above :math:`j` is :math:`\sigma(\sigma_s (s_i - s_j))`, and the
loss is its cross-entropy against the target probability 1 (Burges et al. 2005, §3, eq. 1 with
:math:`\bar P_{ij} = 1`):

.. math::

    \mathcal{L}_q = \frac{1}{|P_q|} \sum_{(i, j) \in P_q}
        \log\bigl(1 + e^{-\sigma_s (s_i - s_j)}\bigr),
    \qquad P_q = \{(i, j) : i, j \in M_q,\ y_i > y_j\}.

Pairs of equal labels carry no target and are left out. Each list's loss is the mean over its
pairs (so long lists do not dominate the batch); a list without any such pair (in particular one
without a relevant item) contributes 0. The batch loss is the mean of :math:`\mathcal{L}_q` over the
lists with at least one real item.
"""

from __future__ import annotations

import torch
from torch import nn

from hermes_core.losses._lists import check_lists, mean_over_lists, real_pairs


def ranknet_loss(
    scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, *, sigma: float = 1.0
) -> torch.Tensor:
    """Mean over lists of the mean pairwise logistic loss over pairs with ``labels[i] > labels[j]``.

    ``scores (B, L)`` float, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)`` bool,
    ``True`` at a real item; ``sigma > 0`` scales the score differences (module docstring).
    Raises ``ValueError`` on bad inputs.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    pairs = real_pairs(clean_labels, mask)  # (B, L, L)
    differences = sigma * (clean_scores[:, :, None] - clean_scores[:, None, :])  # (B, L, L): s_i - s_j
    pair_losses = torch.where(pairs, nn.functional.softplus(-differences), torch.zeros_like(differences))
    n_pairs = pairs.sum(dim=(1, 2)).to(clean_scores.dtype)
    per_list = pair_losses.sum(dim=(1, 2)) / n_pairs.clamp_min(1.0)
    return mean_over_lists(per_list, mask)
