"""Listwise training of the fine ranker: any loss of :mod:`hermes_core.losses` on padded lists.

Each epoch shuffles the training lists (seeded), scores every candidate of a batch of
``batch_lists`` lists with the network, and steps AdamW on the loss's mean over the batch's lists;
padded candidates are masked, so they change neither the loss nor a gradient. After every epoch
the validation lists are scored and their NDCG@10 recorded; the weights of the epoch with the best
validation NDCG@10 are kept (the chosen epoch is reported, so an always-last choice shows that
``epochs`` is too small). ListMLE's ties are broken afresh in every step from the seed and the step
number, so one fixed tie order is never learnt.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from hermes_core.evaluation.ranking import ndcg_at_k
from hermes_core.losses import Loss, get_loss
from hermes_core.rank.dcn import DcnV2, standardisation
from hermes_core.rank.lists import RankingLists, masked_scores
from hermes_core.rank.params import FineRankerParams


@dataclass
class TrainedRanker:
    """A fitted fine ranker with its learning curve (``epoch``, ``train_loss``, ``validation_ndcg_at_10``)."""

    loss: str
    seed: int
    model: DcnV2
    curve: pd.DataFrame
    best_epoch: int
    seconds: float
    lists_per_second: float

    def score(self, lists: RankingLists, batch_lists: int = 256) -> np.ndarray:
        """``(n, L)`` scores of every candidate, ``-inf`` at padding."""
        return score_lists(self.model, lists, batch_lists)


def score_lists(model: DcnV2, lists: RankingLists, batch_lists: int = 256) -> np.ndarray:
    """Scores of ``lists`` by ``model`` in eval mode, batch by batch, ``-inf`` at padding."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty(lists.mask.shape, dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(lists), batch_lists):
            chunk = torch.as_tensor(lists.features[start:start + batch_lists], device=device)
            out[start:start + batch_lists] = model(chunk).double().cpu().numpy()
    return masked_scores(out, lists.mask)


def loss_function(name: str, params: FineRankerParams, seed: int, step: int) -> Loss:
    """The loss ``name`` with this stage's keyword arguments bound (ListMLE's tie seed per step)."""
    loss = get_loss(name)
    if name == "listmle":
        return partial(loss, seed=seed * 1_000_003 + step)
    if name == "approxndcg":
        return partial(loss, temperature=params.approxndcg_temperature)
    if name == "lambdaloss":
        return partial(loss, weighting=params.lambdaloss_weighting)
    return loss


def validation_ndcg(model: DcnV2, lists: RankingLists, k: int = 10) -> float:
    """Mean NDCG@k of ``lists`` under ``model`` (lists without a relevant item skipped)."""
    return ndcg_at_k(score_lists(model, lists), lists.labels, k).mean


Objective = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
"""``(scores (B, L) of a batch, the batch's list indices (B,), step) -> scalar loss``."""


def fit_dcn(train: RankingLists, validation: RankingLists, objective: Objective, name: str,
            params: FineRankerParams, seed: int, device: torch.device) -> TrainedRanker:
    """Fit a :class:`~hermes_core.rank.dcn.DcnV2` on ``train`` minimising ``objective`` (module docstring)."""
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    mean, std = standardisation(train.features, train.mask)
    model = DcnV2(train.n_features, params.cross_layers, params.hidden, params.dropout, mean, std).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    features = torch.as_tensor(train.features, device=device)
    rows, best, best_state, best_epoch, step = [], -np.inf, None, 0, 0
    train_seconds = 0.0
    for epoch in range(1, params.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.as_tensor(generator.permutation(len(train)), device=device)
        total, batches = 0.0, 0
        for start in range(0, len(order), params.batch_lists):
            batch = order[start:start + params.batch_lists]
            loss = objective(model(features[batch]), batch, step)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, batches, step = total + loss.item(), batches + 1, step + 1
        train_seconds += time.perf_counter() - started
        score = validation_ndcg(model, validation)
        rows.append({"epoch": epoch, "train_loss": total / max(batches, 1), "validation_ndcg_at_10": score})
        if score > best:
            best, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    lists_per_second = len(train) * params.epochs / train_seconds if train_seconds > 0 else float("nan")
    return TrainedRanker(name, seed, model, pd.DataFrame(rows), best_epoch, train_seconds, lists_per_second)


def train_fine_ranker(train: RankingLists, validation: RankingLists, loss_name: str, params: FineRankerParams,
                      seed: int, device: torch.device) -> TrainedRanker:
    """The fine ranker trained on ``train``'s graded labels with the list loss ``loss_name``."""
    labels = torch.as_tensor(train.labels, device=device)
    mask = torch.as_tensor(train.mask, device=device)

    def objective(scores: torch.Tensor, batch: torch.Tensor, step: int) -> torch.Tensor:
        return loss_function(loss_name, params, seed, step)(scores, labels[batch], mask[batch])

    return fit_dcn(train, validation, objective, loss_name, params, seed, device)


__all__ = ["Objective", "TrainedRanker", "fit_dcn", "loss_function", "score_lists", "train_fine_ranker", "validation_ndcg"]
