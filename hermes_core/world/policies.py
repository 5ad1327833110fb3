"""Slate policies on the world's logged requests, their true values, and fresh logs.

Off-policy evaluation on the world works position-wise, as the Open Bandit Pipeline does:
one *round* per (request, position), the *action* being the candidate slot shown there.
A target policy is given by its marginals ``pi(a | r, k)``: an (n_requests, C, K) array
whose every position column sums to 1 over the candidates. Its true value is the expected
number of clicks per impression,

.. math:: V(\\pi) = \\frac{1}{nK} \\sum_r \\sum_k \\sum_a \\pi(a \\mid r, k)\\, q(r, a, k),

with ``q`` the world's true click probability (contextual relevance and examination).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hermes_core.world.params import DOMAINS
from hermes_core.world.plackett_luce import position_marginals, softmax_weights
from hermes_core.world.preferences import attractiveness, examination
from hermes_core.world.truth import continuous_grade
from hermes_core.world.simulate import Logs, simulate_logs
from hermes_core.world.vocabulary import REGIONS
from hermes_core.world.world import World, seed_streams


def resimulate(world: World, seed: int, n_requests: int | None = None) -> Logs:
    """A fresh log of the same world (same users, items and preferences), new draws."""
    params = world.params if n_requests is None else world.params.model_copy(update={"n_requests": n_requests})
    rng = np.random.default_rng(np.random.SeedSequence([world.params.seed, seed]))
    model = world.model if n_requests is None else replace(world.model, params=params)
    return simulate_logs(model, rng)


def click_probabilities(world: World, logs: Logs) -> np.ndarray:
    """``q(r, a, k)``: (n_requests, C, K) click probability of each candidate at each position under
    the position-based part of the click model (continuous grade; similarity fatigue, which
    depends on the items above, is left out: see :meth:`World.candidate_click_probabilities`)."""
    theta = examination(world.params, np.arange(logs.slate.shape[1]))
    attr = attractiveness(world.params, continuous_grade(world.model, logs.candidate_affinity))
    return attr[:, :, None] * theta[None, None, :]


def true_value(world: World, logs: Logs, action_dist: np.ndarray) -> float:
    """True expected clicks per impression of a policy with marginals ``action_dist``."""
    q = click_probabilities(world, logs)
    if action_dist.shape != q.shape:
        raise ValueError(f"action_dist has shape {action_dist.shape}, expected {q.shape} (requests, candidates, positions)")
    return float(np.mean(np.sum(action_dist * q, axis=1)))


def uniform_policy(logs: Logs) -> np.ndarray:
    """Uniformly random slates: every candidate at every position with probability 1/C."""
    n, c = logs.candidates.shape
    return np.full((n, c, logs.slate.shape[1]), 1.0 / c)


def greedy_policy(scores: np.ndarray, slate_size: int) -> np.ndarray:
    """Deterministic ranking by ``scores`` (ties to the lower slot): one-hot marginals."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :slate_size]
    dist = np.zeros(scores.shape + (slate_size,))
    rows = np.arange(scores.shape[0])[:, None]
    dist[rows, order, np.arange(slate_size)[None, :]] = 1.0
    return dist


def softmax_policy(scores: np.ndarray, slate_size: int, temperature: float) -> np.ndarray:
    """Plackett-Luce policy of ``exp(score / temperature)``: exact marginals."""
    return position_marginals(softmax_weights(scores, temperature), slate_size)


def true_relevance_scores(logs: Logs) -> np.ndarray:
    """The candidates' true contextual grades, plus a tiny slot tie-breaker (fixed, not random)."""
    c = logs.candidates.shape[1]
    return logs.candidate_relevance.astype(float) - 1e-3 * np.arange(c)[None, :]


@dataclass(frozen=True)
class SlateFeedback:
    """Position-wise logged bandit feedback of a world log (one row per impression)."""

    reward: np.ndarray  # (n_rounds,) click
    action: np.ndarray  # (n_rounds,) candidate slot shown
    position: np.ndarray  # (n_rounds,)
    pscore: np.ndarray  # (n_rounds,) logging marginal of the shown slot at its position
    request: np.ndarray  # (n_rounds,) request index of each round
    context: np.ndarray  # (n_rounds, d_x) observable user and request features
    action_context: np.ndarray  # (n_rounds, C, d_a) observable features of each candidate
    n_actions: int
    len_list: int

    def expand(self, action_dist: np.ndarray) -> np.ndarray:
        """Per-request marginals (n_requests, C, K) to per-round ones (n_rounds, C, K)."""
        return action_dist[self.request]


def request_features(world: World, logs: Logs) -> tuple[np.ndarray, np.ndarray]:
    """Observable features: per request (region one-hot, age, session step, has context) and
    per candidate (dense features, domain one-hot, same creator as and content-free cosine of
    dense features with the session's last click)."""
    users = world.users
    n = len(logs.user)
    region = np.eye(len(REGIONS))[users.region[logs.user]]
    age = (users.age[logs.user] / 100.0)[:, None]
    step = np.log1p(logs.step)[:, None]
    has_ctx = (logs.context_item >= 0).astype(float)[:, None]
    user_x = np.hstack([region, age, step, has_ctx])
    cat = world.catalogue
    dense = cat.dense_features[logs.candidates]  # (n, C, d)
    domain = np.eye(len(DOMAINS))[cat.domain[logs.candidates]]
    ctx = np.where(logs.context_item >= 0, logs.context_item, 0)
    same = (cat.creator[logs.candidates] == cat.creator[ctx][:, None]) * has_ctx
    unit = cat.dense_features / np.linalg.norm(cat.dense_features, axis=1, keepdims=True)
    cos = np.einsum("ncd,nd->nc", unit[logs.candidates], unit[ctx]) * has_ctx
    action_x = np.concatenate([dense, domain, same[..., None], cos[..., None]], axis=2)
    assert action_x.shape[:2] == (n, logs.candidates.shape[1])
    return user_x, action_x


def slate_feedback(world: World, logs: Logs) -> SlateFeedback:
    n, k = logs.slate.shape
    request = np.repeat(np.arange(n), k)
    position = np.tile(np.arange(k), n)
    action = logs.slate.reshape(-1)
    pscore = logs.logging_marginals[request, action, position]
    user_x, action_x = request_features(world, logs)
    return SlateFeedback(
        reward=logs.clicks.reshape(-1).astype(float),
        action=action,
        position=position,
        pscore=pscore,
        request=request,
        context=user_x[request],
        action_context=action_x[request],
        n_actions=logs.candidates.shape[1],
        len_list=k,
    )


def standard_targets(world: World, logs: Logs, temperatures: tuple[float, ...] = ()) -> dict[str, np.ndarray]:
    """The target policies of the OPE stage, as per-request marginals (n_requests, C, K).

    ``uniform``; ``logging`` (the logging policy itself); ``greedy-true`` (ranks candidates by
    true relevance); ``softmax-true@T`` (Plackett-Luce on true grades at temperature T, which
    moves from uniform to greedy as T falls).
    """
    k = logs.slate.shape[1]
    scores = true_relevance_scores(logs)
    targets = {"uniform": uniform_policy(logs), "logging": logs.logging_marginals,
               "greedy-true": greedy_policy(scores, k)}
    for temperature in temperatures:
        targets[f"softmax-true@{temperature:g}"] = softmax_policy(scores, k, temperature)
    return targets


def policy_divergence(target: np.ndarray, logging: np.ndarray) -> dict[str, float]:
    """How far a target is from the logging policy, per position: mean KL(target || logging),
    the largest importance weight of any candidate the target can play, and the smallest
    logging propensity among the (candidate, position) pairs the target plays."""
    eps = 1e-300
    kl = np.sum(np.where(target > 0, target * (np.log(target + eps) - np.log(logging + eps)), 0.0), axis=1)
    played = target > 0
    weights = np.where(played, target / np.maximum(logging, eps), 0.0)
    return {"kl": float(kl.mean()), "max_weight": float(weights.max()),
            "min_pscore_played": float(np.min(np.where(played, logging, np.inf)))}


__all__ = [
    "SlateFeedback", "click_probabilities", "greedy_policy", "policy_divergence", "request_features", "resimulate",
    "slate_feedback", "softmax_policy", "standard_targets", "true_relevance_scores", "true_value", "uniform_policy",
    "seed_streams",
]
