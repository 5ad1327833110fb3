r"""LambdaLoss, NDCG-Loss2++.

Wang, Li, Golbandi, Bendersky & Najork, "The LambdaLoss Framework for Ranking Metric Optimization",
CIKM 2018.

Rank the real items of list :math:`q` by the current scores (rank :math:`r_i = 1, 2, \dots`,
highest score first, ties by position; the ranks carry no gradient), write
:math:`G_i = (2^{y_i} - 1) / \mathrm{IDCG}_q` and :math:`D_r = \log_2(1 + r)`. Over the pairs of
real items with :math:`y_i > y_j`,

.. math::

    \mathcal{L}_q = -\sum_{y_i > y_j} w_{ij} \log_2 \sigma\bigl(\sigma_s (s_i - s_j)\bigr),

with the weight chosen by ``weighting`` (Wang et al. 2018, §4.3 and eq. 11–13):

* ``"ndcg_loss2pp"`` (default), NDCG-Loss2++: :math:`w_{ij} = (\rho_{ij} + \mu\,\delta_{ij})\,|G_i - G_j|`;
* ``"ndcg_loss2"``, NDCG-Loss2: :math:`w_{ij} = \delta_{ij}\,|G_i - G_j|`;
* ``"lambdarank"``, the LambdaRank weight :math:`|\Delta\mathrm{NDCG}_{ij}|`:
  :math:`w_{ij} = \rho_{ij}\,|G_i - G_j|`;

where :math:`\rho_{ij} = \bigl|1/D_{r_i} - 1/D_{r_j}\bigr|` and
:math:`\delta_{ij} = 1/D_{|r_i - r_j|} - 1/D_{|r_i - r_j| + 1}`. The defaults
:math:`\mu = 10`, :math:`\sigma_s = 1` are allRank's. Each list's loss is the sum over its pairs
(the weights, normalised by IDCG, keep it bounded); a list without a relevant item has no pair
and contributes 0. No top-:math:`k` truncation. The batch loss is the mean of
:math:`\mathcal{L}_q` over the lists with at least one real item.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hermes_core.losses._lists import check_lists, ideal_dcg, mean_over_lists, real_pairs

WEIGHTINGS = ("ndcg_loss2pp", "ndcg_loss2", "lambdarank")
"""The pair weightings :func:`lambdaloss` knows (module docstring)."""


def current_ranks(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` rank 1, 2, ... of each real item by ``scores`` descending (ties by column); padding ranks last."""
    order = scores.detach().masked_fill(~mask, float("-inf")).argsort(dim=1, descending=True, stable=True)
    positions = torch.arange(1, scores.shape[1] + 1, dtype=scores.dtype, device=scores.device).expand_as(scores)
    return torch.empty_like(scores).scatter_(1, order, positions)


def lambdaloss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor,
    *,
    weighting: str = "ndcg_loss2pp",
    mu: float = 10.0,
    sigma: float = 1.0,
) -> torch.Tensor:
    """Mean over lists of the LambdaLoss with the pair weighting ``weighting`` (module docstring).

    ``scores (B, L)`` float, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)`` bool,
    ``True`` at a real item; ``weighting`` one of :data:`WEIGHTINGS`, ``mu >= 0`` the weight of
    :math:`\\delta_{ij}` in NDCG-Loss2++, ``sigma > 0`` the score scale. Raises ``ValueError`` on
    bad inputs.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    if not mu >= 0:
        raise ValueError(f"mu must be >= 0, got {mu}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    pairs = real_pairs(clean_labels, mask)  # (B, L, L): y_i > y_j, both real
    ideal = ideal_dcg(clean_labels, mask)
    gains = torch.where(mask, torch.exp2(clean_labels) - 1.0, torch.zeros_like(clean_labels))
    gains = gains / torch.where(ideal > 0, ideal, torch.ones_like(ideal))[:, None]
    gain_gaps = (gains[:, :, None] - gains[:, None, :]).abs()  # (B, L, L)
    ranks = current_ranks(clean_scores, mask)
    inverse_discounts = 1.0 / torch.log2(1.0 + ranks)  # (B, L)
    rho = (inverse_discounts[:, :, None] - inverse_discounts[:, None, :]).abs()
    # i == j has rank gap 0 and no pair; clamping keeps 1 / log2(1) out of the arithmetic
    rank_gaps = (ranks[:, :, None] - ranks[:, None, :]).abs().clamp_min(1.0)
    delta = 1.0 / torch.log2(1.0 + rank_gaps) - 1.0 / torch.log2(2.0 + rank_gaps)
    if weighting == "lambdarank":
        weights = rho * gain_gaps
    elif weighting == "ndcg_loss2":
        weights = delta * gain_gaps
    else:
        weights = (rho + mu * delta) * gain_gaps
    differences = sigma * (clean_scores[:, :, None] - clean_scores[:, None, :])  # (B, L, L): s_i - s_j
    minus_log2_sigmoid = nn.functional.softplus(-differences) / math.log(2.0)
    pair_losses = torch.where(pairs, weights * minus_log2_sigmoid, torch.zeros_like(differences))
    return mean_over_lists(pair_losses.sum(dim=(1, 2)), mask)
