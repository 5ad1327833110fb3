"""Slate policies on the world's logged requests, their true values, and fresh logs.

Off-policy evaluation on the world works position-wise, as the Open Bandit Pipeline does:
one *round* per (request, position), the *action* being the candidate slot shown there.
A target policy is given by its marginals ``pi(a | r, k)``: an (n_requests, C, K) array
whose every position column sums to 1 over the candidates. Its true value is the expected
number of clicks per impression,

.. math:: V(\\pi) = \\frac{1}{nK} \\sum_r \\sum_k \\sum_a \\pi(a \\mid r, k)\\, q(r, a, k),

with ``q`` the world's true click probability (contextual relevance and examination). That holds
only under the position-based click model without similarity fatigue (which :func:`true_value`
leaves out); under the cascade, where a click depends on the items above,
:func:`true_value` refuses and :func:`slate_policy_value` gives the value of a Plackett-Luce
policy, described by its logits (:func:`standard_target_logits`), under the full click model:

.. math:: V(\\pi) = \\frac{1}{nK} \\sum_r \\mathbb{E}_{s \\sim \\pi(\\cdot \\mid r)}
          \\Big[\\sum_k P(C_k = 1 \\mid r, s)\\Big].
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hermes_core.world.params import DOMAINS
from hermes_core.world.params import WorldParams
from hermes_core.world.plackett_luce import (
    check_logits,
    logit_position_marginals,
    position_marginals,
    prefix_probabilities,
    sample_logit_slates,
    softmax_weights,
)
from hermes_core.world.preferences import (
    attractiveness,
    content_redundancy,
    content_vectors,
    examination,
    fatigue_from_redundancy,
)
from hermes_core.world.truth import click_marginals, continuous_grade
from hermes_core.world.simulate import Logs, simulate_logs
from hermes_core.world.vocabulary import REGIONS
from hermes_core.world.world import World, require_position_based, seed_streams

GREEDY_TEMPERATURE = 1e-9
"""Temperature of the greedy target's logits ``scores / T``: the slot tie-breaker of
:func:`true_relevance_scores` (1e-3) becomes a gap of 1e6, so the policy is deterministic in
double precision."""

SAMPLE_BLOCK = 1 << 22
"""Most floats one block of sampled slates holds in :func:`request_slate_values` (``samples x n x C x K``)."""


def resimulate(world: World, seed: int, n_requests: int | None = None) -> Logs:
    """A fresh log of the same world (same users, items and preferences), new draws, clicks under
    the world's click model (:meth:`World.with_click_model`, :meth:`World.with_similarity_fatigue`)."""
    params = world.params if n_requests is None else world.params.model_copy(update={"n_requests": n_requests})
    rng = np.random.default_rng(np.random.SeedSequence([world.params.seed, seed]))
    model = world.model if n_requests is None else replace(world.model, params=params)
    return simulate_logs(model, rng)


def click_probabilities(world: World, logs: Logs) -> np.ndarray:
    """``q(r, a, k)``: (n_requests, C, K) click probability of each candidate at each position under
    the position-based part of the click model (continuous grade; similarity fatigue, which
    depends on the items above, is left out: see :meth:`World.candidate_click_probabilities`).
    Under the cascade it is the click probability of a user still reading at ``k``, not the marginal."""
    theta = examination(world.params, np.arange(logs.slate.shape[1]))
    attr = attractiveness(world.params, continuous_grade(world.model, logs.candidate_affinity))
    return attr[:, :, None] * theta[None, None, :]


def true_value(world: World, logs: Logs, action_dist: np.ndarray) -> float:
    """True expected clicks per impression of a policy with marginals ``action_dist`` under the
    position-based click model, similarity fatigue left out (module docstring); a cascade world
    raises: its values come from :func:`slate_policy_value`."""
    require_position_based(world.params, "true_value")
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


def standard_target_logits(logs: Logs, temperatures: tuple[float, ...] = ()) -> dict[str, np.ndarray]:
    """The Plackett-Luce logits (n_requests, C) of :func:`standard_targets`' policies, by name.

    ``uniform``: 0; ``logging``: the log of the logging policy's position-0 marginals, which are its
    normalised weights; ``greedy-true``: :func:`true_relevance_scores` over :data:`GREEDY_TEMPERATURE`,
    deterministic in double precision and placing the candidates in the order of
    :func:`greedy_policy`; ``softmax-true@T``: the scores over ``T``, whose weights are those of
    :func:`softmax_policy`.
    """
    scores = true_relevance_scores(logs)
    with np.errstate(divide="ignore"):
        logging = np.log(logs.logging_marginals[:, :, 0])
    logits = {"uniform": np.zeros(scores.shape), "logging": logging, "greedy-true": scores / GREEDY_TEMPERATURE}
    for temperature in temperatures:
        if temperature <= 0:
            raise ValueError(f"temperatures must be positive, got {temperature}")
        logits[f"softmax-true@{temperature:g}"] = scores / temperature
    return logits


@dataclass(frozen=True)
class CandidateClickModel:
    """The world's click model on the logged requests' candidate sets, for slates of candidate slots.

    Holds what a slate's clicks need and does not depend on the slate: each candidate's
    attractiveness and each pair's redundancy (:func:`~hermes_core.world.preferences.content_redundancy`),
    so that the click probabilities of many sampled slates are gathers, not new computations.
    """

    params: WorldParams
    attraction: np.ndarray  # (n, C) attr(g~) of each candidate
    redundancy: np.ndarray | None  # (n, C, C) r(x_a, x_b); None without similarity fatigue

    @classmethod
    def of(cls, world: World, logs: Logs) -> CandidateClickModel:
        attraction = attractiveness(world.params, continuous_grade(world.model, logs.candidate_affinity))
        redundancy = None
        if world.params.similarity_fatigue > 0:
            redundancy = content_redundancy(world.scales, content_vectors(world.catalogue)[logs.candidates])
        return cls(world.params, attraction, redundancy)

    def rows(self, requests: np.ndarray) -> CandidateClickModel:
        """The same model on the requests ``requests`` only."""
        return CandidateClickModel(self.params, self.attraction[requests],
                                   None if self.redundancy is None else self.redundancy[requests])

    def active_click_probabilities(self, slates: np.ndarray) -> np.ndarray:
        """``p_k = theta_k attr(g~_{a_k}) f_k`` of slates (..., n, K) of candidate slots: (..., n, K)."""
        slates = np.asarray(slates, dtype=np.int64)
        rows = np.arange(self.attraction.shape[0])
        theta = examination(self.params, np.arange(slates.shape[-1]))
        p = theta * self.attraction[rows[:, None], slates]
        if self.redundancy is not None:
            # (..., n, K, K): r between the candidates at positions k and j of each slate
            shown = self.redundancy[rows[:, None, None], slates[..., :, :, None], slates[..., :, None, :]]
            p = p * fatigue_from_redundancy(self.params.similarity_fatigue, shown)
        return p

    def click_probabilities(self, slates: np.ndarray) -> np.ndarray:
        """``P(C_k = 1 | slate)`` under the world's click model: (..., n, K)."""
        return click_marginals(self.params, self.active_click_probabilities(slates))

    def expected_clicks(self, slates: np.ndarray) -> np.ndarray:
        """``sum_k P(C_k = 1 | slate)`` of slates (..., n, K): (..., n)."""
        return self.click_probabilities(slates).sum(axis=-1)


def request_slate_values(world: World, logs: Logs, logits: np.ndarray, *, n_samples: int,
                         seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Each logged request's true expected clicks per impression under the Plackett-Luce policy
    with ``logits`` (n, C) and the world's click model, similarity fatigue included, with the
    Monte Carlo standard error of each: two (n,) arrays.

    .. math:: v_r = \frac{1}{K} \Big( H_r + \frac{1}{S} \sum_{t=1}^{S} \big[g_r(s_t) - h_r(s_t)\big] \Big),
              \qquad s_t \sim \pi(\cdot \mid r)

    with ``g_r(s) = sum_k P(C_k = 1 | r, s)`` the exact expected clicks of slate ``s`` (module
    docstring of :mod:`hermes_core.world.truth`), ``h_r(s) = sum_k theta_k attr(g~_{s_k})`` its
    position-based value without fatigue and ``H_r = E_pi[h_r] = sum_{a,k} pi(a at k) theta_k attr(g~_a)``
    exact from the marginals (:func:`~hermes_core.world.plackett_luce.logit_position_marginals`):
    ``h`` is a control variate with coefficient 1 (Owen 2013, *Monte Carlo theory, methods and
    examples*, section 8.9), so only the effect of fatigue and stopping is left to sampling. The
    result is exact, standard error 0, where nothing is left to sample: under the position-based
    model without fatigue (``g = h``), and on every request where the policy is deterministic in
    double precision (its most likely slate has probability 1.0), which is evaluated once.
    ``n_samples`` slates per request (at least 2) are drawn by Gumbel-top-K on the logits from
    ``numpy.random.default_rng(seed)``.
    """
    k = logs.slate.shape[1]
    logits = check_logits(logits, k)
    if logits.shape != logs.candidates.shape:
        raise ValueError(f"logits has shape {logits.shape}, expected {logs.candidates.shape} (requests, candidates)")
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer of at least 2 (a standard error needs two), got {n_samples}")
    n_samples = int(n_samples)
    clicks = CandidateClickModel.of(world, logs)
    theta = examination(world.params, np.arange(k))
    marginals = logit_position_marginals(logits, k)  # (n, C, K)
    baseline = np.einsum("nck,nc,k->n", marginals, clicks.attraction, theta)
    standard_error = np.zeros(len(logits))
    if world.params.click_model == "position-based" and clicks.redundancy is None:
        return baseline / k, standard_error
    greedy = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    deterministic = prefix_probabilities(logits, greedy)[:, -1] == 1.0
    values = np.empty(len(logits))
    values[deterministic] = clicks.expected_clicks(greedy)[deterministic] / k
    sampled = np.flatnonzero(~deterministic)
    if sampled.size:
        model, sampled_logits = clicks.rows(sampled), logits[sampled]
        rng = np.random.default_rng(seed)
        block = max(1, SAMPLE_BLOCK // (sampled.size * logits.shape[1] * k))
        gaps = []
        for start in range(0, n_samples, block):
            size = min(block, n_samples - start)
            slates = sample_logit_slates(np.broadcast_to(sampled_logits, (size, *sampled_logits.shape)), k, rng)
            no_fatigue = (theta * model.attraction[np.arange(sampled.size)[:, None], slates]).sum(axis=-1)
            gaps.append(model.expected_clicks(slates) - no_fatigue)  # (size, n_sampled)
        gap = np.concatenate(gaps)  # (n_samples, n_sampled)
        values[sampled] = (baseline[sampled] + gap.mean(axis=0)) / k
        standard_error[sampled] = gap.std(axis=0, ddof=1) / np.sqrt(n_samples) / k
    return values, standard_error


def slate_policy_value(world: World, logs: Logs, logits: np.ndarray, *, n_samples: int,
                       seed: int) -> tuple[float, float]:
    r"""True expected clicks per impression of the Plackett-Luce policy with ``logits`` (n, C) on the
    requests of ``logs`` under the world's click model (module docstring), and its Monte Carlo
    standard error: the mean of :func:`request_slate_values` and ``sqrt(sum_r se_r^2) / n`` (the
    requests' slates are drawn independently). Equals :func:`true_value` of the policy's marginals
    under the position-based model without similarity fatigue, with standard error 0.
    """
    values, standard_errors = request_slate_values(world, logs, logits, n_samples=n_samples, seed=seed)
    return float(values.mean()), float(np.sqrt(np.sum(standard_errors**2)) / len(values))


__all__ = [
    "CandidateClickModel", "GREEDY_TEMPERATURE", "SlateFeedback", "click_probabilities", "greedy_policy",
    "policy_divergence", "request_features", "request_slate_values", "resimulate", "seed_streams",
    "slate_feedback", "slate_policy_value", "softmax_policy", "standard_target_logits", "standard_targets",
    "true_relevance_scores", "true_value", "uniform_policy",
]
