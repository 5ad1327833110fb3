r"""ApproxNDCG: NDCG with smooth ranks.

Qin, Liu & Li, "A General Approximation Framework for Direct Optimization of Information Retrieval
Measures", Information Retrieval 13, 2010.

The rank of real item :math:`i` in list :math:`q` is replaced by a smooth count of the items
scored above it (Qin et al. 2010, §3.1, eq. 7 with the logistic function):

.. math::

    \hat\pi_i = 1 + \sum_{j \in M_q,\ j \ne i} \sigma\Bigl(\frac{s_j - s_i}{T}\Bigr),
    \qquad
    \widehat{\mathrm{NDCG}}_q = \frac{1}{\mathrm{IDCG}_q}
        \sum_{i \in M_q} \frac{2^{y_i} - 1}{\log_2(1 + \hat\pi_i)},

with the ideal DCG :math:`\mathrm{IDCG}_q` of the real items' labels (the project's NDCG: gains
:math:`2^{rel} - 1`, discount :math:`1/\log_2(1 + \text{rank})`). As :math:`T \to 0`,
:math:`\hat\pi_i` tends to the true rank (for distinct scores) and the estimate to the true NDCG.
The loss is :math:`\mathcal{L}_q = -\widehat{\mathrm{NDCG}}_q \in [-1, 0)`; a list without a
relevant item has IDCG 0, no NDCG, and contributes the constant 0 (no gradient). The batch loss is
the mean of :math:`\mathcal{L}_q` over the lists with at least one real item.
"""

from __future__ import annotations

import torch

from hermes_core.losses._lists import check_lists, ideal_dcg, mean_over_lists


def approx_ndcg_loss(
    scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, *, temperature: float = 1.0
) -> torch.Tensor:
    """Mean over lists of minus the smooth-rank NDCG with temperature ``temperature`` (module docstring).

    ``scores (B, L)`` float, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)`` bool,
    ``True`` at a real item; ``temperature > 0``. Raises ``ValueError`` on bad inputs.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    length = scores.shape[1]
    others = mask[:, None, :] & ~torch.eye(length, dtype=torch.bool, device=mask.device)  # (B, L, L): j real, j != i
    above = torch.sigmoid((clean_scores[:, None, :] - clean_scores[:, :, None]) / temperature)  # (B, L, L) [b, i, j]
    smooth_ranks = 1.0 + torch.where(others, above, torch.zeros_like(above)).sum(dim=2)  # (B, L)
    gains = torch.where(mask, torch.exp2(clean_labels) - 1.0, torch.zeros_like(clean_labels))
    approx_dcg = (gains / torch.log2(1.0 + smooth_ranks)).sum(dim=1)
    ideal = ideal_dcg(clean_labels, mask)
    per_list = -approx_dcg / torch.where(ideal > 0, ideal, torch.ones_like(ideal))
    return mean_over_lists(per_list, mask)
