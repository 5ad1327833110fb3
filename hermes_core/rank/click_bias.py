r"""Learning to rank from logged clicks: the naive listwise loss and its inverse-propensity correction.

A logged slate shows :math:`K` items; under the world's position-based click model the user
examines position :math:`k` (0-based) with probability :math:`\theta_k = (k + 1)^{-\eta}` and clicks
an examined item with its attractiveness. A click therefore says "examined and attractive", and a
model fit to clicks learns the logging policy's placement as much as relevance (Joachims, Swaminathan
& Schnabel 2017, "Unbiased Learning-to-Rank with Biased Feedback", WSDM).

* **Naive**: the softmax cross-entropy (ListNet top-one) with the clicks as labels.
* **IPS**: each click weighted by :math:`1/\theta_k` of the position it was shown at
  (:func:`~hermes_core.losses.ips_weighted.ips_softmax_loss`); in expectation over the clicks,
  :math:`E[c_i / \theta_{k_i}] = \mathrm{attr}_i`, the position-free click propensity, so the
  weighted objective is that of a model trained on examination-free clicks (Joachims et al. 2017,
  Prop. 1; Ai et al. 2018 for the listwise form).

The propensities are the world's :math:`\theta_k` (known here; in production they are estimated,
e.g. by result randomisation). Both models are the fine ranker's network with the same features,
and both are scored against the true grades of the test candidates.

**Oracle.** :func:`examination_free_clicks` redraws the same slates' clicks as if every position
were examined, :math:`c_i \sim \mathrm{Bernoulli}(\mathrm{attr}(\tilde g_i))` from the true
contextual affinity (similarity fatigue left out): the clicks whose expectation the IPS objective
targets. Training on them separates IPS's bias correction from its variance: IPS tying with the
oracle means the correction works and costs little; both trailing the naive model means the
position bias was carrying something useful (the logging policy's order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hermes_core.losses.ips_weighted import ips_softmax_loss
from hermes_core.losses.softmax_ce import softmax_ce_loss
from hermes_core.rank.features import FeatureBuilder
from hermes_core.rank.lists import RankingLists, pad_lists
from hermes_core.rank.params import FineRankerParams
from hermes_core.rank.training import TrainedRanker, fit_dcn
from hermes_core.rank.two_tower import TrainedTwoTower, user_inputs
from hermes_core.rank.world_lists import context_of
from hermes_core.world.click_log import ClickLog
from hermes_core.world.preferences import attractiveness, examination
from hermes_core.world.truth import continuous_grade
from hermes_core.world.world import World


@dataclass(frozen=True, eq=False)
class ClickLists:
    """Logged slates as lists: ``lists.labels`` are clicks (0/1) and ``propensities (n, K)`` the
    examination probability of each shown position."""

    requests: np.ndarray
    lists: RankingLists
    propensities: np.ndarray


def logged_click_lists(world: World, clicks: ClickLog, builder: FeatureBuilder, tower: TrainedTwoTower,
                       requests: np.ndarray) -> ClickLists:
    """The shown slates of ``requests`` (world indices) with their clicks and the world's :math:`\\theta_k`."""
    logs = world.logs
    shown = np.take_along_axis(logs.candidates[requests], logs.slate[requests], axis=1)  # (n, K)
    contexts = [context_of(world, clicks, int(r)) for r in requests]
    pre = tower.score(user_inputs(builder, contexts), shown)
    features = [np.column_stack([builder.features(c, shown[row]), pre[row].astype(np.float32)])
                for row, c in enumerate(contexts)]  # fmt: skip
    labels = [logs.clicks[r].astype(np.float32) for r in requests]
    lists = pad_lists(features, labels, list(shown))
    theta = examination(world.params, np.arange(shown.shape[1]))
    return ClickLists(np.asarray(requests), lists, np.broadcast_to(theta, shown.shape).copy())


def examination_free_clicks(world: World, data: ClickLists, rng: np.random.Generator) -> ClickLists:
    r"""The same slates with every click redrawn as :math:`\mathrm{Bernoulli}(\mathrm{attr}(\tilde g))`,
    position ignored (propensities 1): the oracle the IPS objective targets in expectation."""
    logs = world.logs
    affinity = np.take_along_axis(logs.candidate_affinity[data.requests], logs.slate[data.requests], axis=1)  # (n, K)
    attraction = attractiveness(world.params, continuous_grade(world.model, affinity))
    clicks = (rng.random(attraction.shape) < attraction).astype(np.float32)
    lists = RankingLists(data.lists.features, np.where(data.lists.mask, clicks, 0.0).astype(np.float32), data.lists.mask,
                         data.lists.items)  # fmt: skip
    return ClickLists(data.requests, lists, np.ones_like(data.propensities))


def train_from_clicks(data: ClickLists, validation: RankingLists, weighted: bool, params: FineRankerParams,
                      seed: int, device: torch.device, name: str | None = None) -> TrainedRanker:
    """The fine ranker trained on clicks with the softmax loss, IPS-weighted when ``weighted``;
    the epoch is chosen on ``validation`` (true grades), as for every fine ranker."""
    clicks = torch.as_tensor(data.lists.labels, device=device)
    mask = torch.as_tensor(data.lists.mask, device=device)
    propensities = torch.as_tensor(data.propensities, dtype=torch.float32, device=device)

    def objective(scores: torch.Tensor, batch: torch.Tensor, step: int) -> torch.Tensor:
        if weighted:
            return ips_softmax_loss(scores, clicks[batch], mask[batch], propensities[batch])
        return softmax_ce_loss(scores, clicks[batch], mask[batch])

    label = name if name is not None else ("clicks_ips" if weighted else "clicks_naive")
    return fit_dcn(data.lists, validation, objective, label, params, seed, device)


__all__ = ["ClickLists", "examination_free_clicks", "logged_click_lists", "train_from_clicks"]
