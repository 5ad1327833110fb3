r"""The fine ranker's network: DCN-v2, a cross network beside a deep MLP (Wang et al. 2021).

Wang, Shivanna, Cheng, Jain, Lin, Hong & Chi, "DCN V2: Improved Deep & Cross Network and Practical
Lessons for Web-scale Learning to Rank Systems", WWW 2021, eq. (1). With :math:`x_0` the
feature vector of a (request, candidate) pair, each cross layer is

.. math::

    x_{l+1} = x_0 \odot (W_l x_l + b_l) + x_l,

so :math:`l` layers form every feature interaction up to degree :math:`l + 1` explicitly, with a
full-rank :math:`W_l`. A deep MLP runs beside it on :math:`x_0` (the paper's *parallel*
structure), and the score is :math:`w^\top [x_{L_c}; h_{L_d}] + b`.

Why DCN-v2 rather than xDeepFM's CIN: the features here are dense numbers, not field embeddings,
and the cross layer acts on them directly; the CIN's field-wise outer products would first need
every number embedded. The network scores each candidate independently (a scoring function
:math:`f(x)`), and the listwise objective sees the list: the design of allRank and TF-Ranking.
Inputs are standardised with the training rows' mean and standard deviation, stored in the module.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class CrossLayer(nn.Module):
    """:math:`x_{l+1} = x_0 \\odot (W x_l + b) + x_l`."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x0 * self.linear(x) + x


class DcnV2(nn.Module):
    """Standardise, then a cross network and a deep MLP in parallel, then one linear score (module docstring).

    ``forward`` takes ``(..., n_features)`` and returns ``(...)`` scores.
    """

    def __init__(self, n_features: int, cross_layers: int, hidden: tuple[int, ...], dropout: float,
                 mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.zeros(n_features) if mean is None else mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.ones(n_features) if std is None else std, dtype=torch.float32))
        self.cross = nn.ModuleList([CrossLayer(n_features) for _ in range(cross_layers)])
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.deep = nn.Sequential(*layers)
        self.head = nn.Linear(n_features + width, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x0 = (features - self.mean) / self.std
        x = x0
        for layer in self.cross:
            x = layer(x0, x)
        return self.head(torch.cat([x, self.deep(x0)], dim=-1)).squeeze(-1)


def standardisation(features: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` of each feature over the real candidates (std 1 where a feature is constant)."""
    rows = features[mask].astype(np.float64)
    std = rows.std(axis=0)
    return rows.mean(axis=0), np.where(std > 1e-9, std, 1.0)


__all__ = ["CrossLayer", "DcnV2", "standardisation"]
