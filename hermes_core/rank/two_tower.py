r"""The pre-ranker: a two-tower model trained with in-batch sampled softmax on logged clicks.

**User tower** :math:`u = \mathrm{norm}(\mathrm{MLP}_u([\bar v_H; \bar v_S; v_{last}; x_u]))` from the
history profile, the session profile, the last click (the fused item vectors of
:mod:`hermes_core.rank.features`) and the user/context features :math:`x_u` (age, newsletter,
region, hour). **Item tower** :math:`e_i = \mathrm{norm}(\mathrm{MLP}_i([v_i; x_i]) + w_i)` from the
item's fused content vector, its domain and click count, plus a learned id embedding :math:`w_i`
initialised at 0: an item never clicked in training keeps :math:`w_i = 0` and is served from its
content alone (cold start).

**Objective** (Yi et al. 2019, "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
Recommendations", RecSys, §3–4): for a batch of clicks :math:`(r_b, i_b)`, the logits
:math:`s_{bj} = u_{r_b}^\top e_{i_j} / \tau - \log Q_{i_j}` against every clicked item of the batch,
with :math:`Q_i` the item's share of the training clicks (the in-batch sampling probability; the
correction is optional), and the sampled softmax loss
(:func:`~hermes_core.losses.sampled_softmax.sampled_softmax_loss`); a repeated item is never its own
negative. At serving time the score is :math:`u^\top e_i` (no correction).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hermes_core.losses.sampled_softmax import in_batch_labels_and_mask, sampled_softmax_loss
from hermes_core.rank.features import FeatureBuilder, RequestContext
from hermes_core.rank.params import TwoTowerParams


def user_inputs(builder: FeatureBuilder, requests: list[RequestContext]) -> np.ndarray:
    """``(n, 3 d + F_u)`` user-tower inputs: history, session and last-click vectors, then the
    user/context features (the first block of :meth:`FeatureBuilder.features`)."""
    rows = []
    n_user = builder.names.index("log_session") + 1
    for request in requests:
        history = np.asarray(request.history, dtype=np.int64)[-builder.profile_window:]
        last = builder.vectors[history[-1]] if history.size else np.zeros(builder.vectors.shape[1])
        user_block = builder.features(request, np.zeros(1, dtype=np.int64))[0, :n_user]
        rows.append(np.concatenate([builder.profile(history), builder.profile(np.asarray(request.session, dtype=np.int64)),
                                    last, user_block]))  # fmt: skip
    return np.asarray(rows, dtype=np.float32)


def item_inputs(builder: FeatureBuilder) -> np.ndarray:
    """``(n_items, d + 6)`` item-tower inputs: the fused vector, domain one-hot, log clicks, never clicked."""
    n_block = len([name for name in builder.names if name.startswith("domain_")]) + 2
    return np.concatenate([builder.vectors, builder.item_block[:, :n_block]], axis=1).astype(np.float32)


class Tower(nn.Module):
    """``x -> MLP(x)``: Linear, ReLU, Linear."""

    def __init__(self, n_inputs: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TwoTowerModel(nn.Module):
    """User and item towers with a zero-initialised item id embedding (module docstring)."""

    def __init__(self, n_user_inputs: int, n_item_inputs: int, n_items: int, params: TwoTowerParams) -> None:
        super().__init__()
        self.user_tower = Tower(n_user_inputs, params.hidden, params.dim)
        self.item_tower = Tower(n_item_inputs, params.hidden, params.dim)
        self.item_id = nn.Embedding(n_items, params.dim)
        nn.init.zeros_(self.item_id.weight)

    def users(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.user_tower(x), dim=-1)

    def items(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.item_tower(x) + self.item_id(ids), dim=-1)


@dataclass
class TrainedTwoTower:
    """The fitted pre-ranker, its item vectors and its loss per epoch."""

    model: TwoTowerModel
    item_vectors: np.ndarray  # (n_items, dim)
    epoch_loss: list[float]
    seconds: float

    def score(self, user_x: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``u^T e_i`` of each row of ``user_x (n, F_u)`` for its ``items (n, L)`` (-1: padding, scored -inf)."""
        with torch.no_grad():
            device = next(self.model.parameters()).device
            users = self.model.users(torch.as_tensor(user_x, device=device)).cpu().numpy().astype(np.float64)
        safe = np.where(items >= 0, items, 0)
        scores = np.einsum("nd,nld->nl", users, self.item_vectors[safe])
        return np.where(items >= 0, scores, -np.inf)


def train_two_tower(user_x: np.ndarray, positives: np.ndarray, item_x: np.ndarray, params: TwoTowerParams,
                    seed: int, device: torch.device) -> TrainedTwoTower:
    """Fit the towers on clicks: ``user_x (n_clicks, F_u)`` the clicking request's user-tower inputs,
    ``positives (n_clicks,)`` the clicked items, ``item_x (n_items, F_i)`` every item's inputs."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    n_items = item_x.shape[0]
    model = TwoTowerModel(user_x.shape[1], item_x.shape[1], n_items, params).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    counts = np.bincount(positives, minlength=n_items).astype(np.float64)
    log_q = torch.as_tensor(np.log(np.maximum(counts, 1.0) / counts.sum()), dtype=torch.float32, device=device)
    users_all = torch.as_tensor(user_x, device=device)
    items_all = torch.as_tensor(item_x, device=device)
    positives_all = torch.as_tensor(positives, dtype=torch.int64, device=device)
    epoch_loss = []
    for _ in range(params.epochs):
        order = torch.as_tensor(generator.permutation(len(positives)), device=device)
        total, batches = 0.0, 0
        for start in range(0, len(order), params.batch_size):
            batch = order[start:start + params.batch_size]
            if len(batch) < 2:
                continue
            ids = positives_all[batch]
            u = model.users(users_all[batch])
            e = model.items(items_all[ids], ids)
            logits = u @ e.T / params.temperature  # (B, B)
            if params.logq_correction:
                logits = logits - log_q[ids][None, :]
            labels, mask = in_batch_labels_and_mask(ids)
            loss = sampled_softmax_loss(logits, labels, mask)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, batches = total + loss.item(), batches + 1
        epoch_loss.append(total / max(batches, 1))
    model.eval()
    with torch.no_grad():
        vectors = model.items(items_all, torch.arange(n_items, device=device)).cpu().numpy().astype(np.float64)
    return TrainedTwoTower(model, vectors, epoch_loss, time.perf_counter() - started)


__all__ = ["TrainedTwoTower", "TwoTowerModel", "item_inputs", "train_two_tower", "user_inputs"]
