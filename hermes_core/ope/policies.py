"""The target policies the OPE stage evaluates, each as its marginal action distribution.

Off-policy evaluation needs a target policy's marginal probability :math:`\\pi_e(a \\mid x, k)` of
every action at every slot (:mod:`hermes_core.ope.inputs`). Two kinds here:

- **context-free** distributions (n_actions, len_list) of the Open Bandit experiments
  (:mod:`hermes_core.ope.open_bandit`): a logging policy's :func:`logged_action_share` and
  Bernoulli Thompson sampling simulated from its Beta posteriors (:func:`bernoulli_ts_action_dist`,
  and :func:`obp_bernoulli_ts_action_dist`, draw for draw OBP's simulation);
- **scoring policies** on the synthetic world (:class:`ScoringPolicy`): a scorer gives every
  candidate of a request a score and Plackett-Luce ranks them at a temperature, with exact
  marginals; the shadow-mode challengers (:mod:`hermes_core.ope.shadow`) are of this kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hermes_core.data.readers.open_bandit import LEN_LIST
from hermes_core.ope.reward_model import RewardFeatures, make_reward_model
from hermes_core.world.plackett_luce import position_marginals, sample_slates, softmax_weights
from hermes_core.world.policies import request_features, slate_feedback
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World


# ----------------------------------------------------------------------------- context-free (Open Bandit)
def logged_action_share(
    action: np.ndarray, position: np.ndarray, n_actions: int, len_list: int = LEN_LIST
) -> np.ndarray:
    """Context-free action distribution (n_actions, len_list) of a logging policy, estimated
    from its own logs: the share of the rounds logged at slot :math:`k` that showed :math:`a`,

    .. math:: \\hat\\pi(a \\mid k) = \\frac{\\#\\{i : a_i = a, k_i = k\\}}{\\#\\{i : k_i = k\\}},

    an unbiased estimate of the time-averaged marginal :math:`\\bar\\pi(a \\mid k) =
    \\mathbb{E}_t[\\pi_t(a \\mid k)]`. (Averaging the logged ``propensity_score`` of the rounds
    that showed :math:`a` would not be: those rounds over-represent the times when
    :math:`\\pi_t(a \\mid k)` was high, so that average estimates
    :math:`\\mathbb{E}[\\pi_t^2]/\\mathbb{E}[\\pi_t]`; on ``bts/all`` such averages sum to 3.7,
    2.3 and 2.0 over items at the three slots instead of 1.)
    """
    counts = np.zeros((n_actions, len_list))
    np.add.at(counts, (np.asarray(action), np.asarray(position)), 1.0)
    per_slot = counts.sum(axis=0)
    if (per_slot == 0).any():
        raise ValueError(f"no logged round at slot(s) {np.flatnonzero(per_slot == 0).tolist()}")
    return counts / per_slot


def bernoulli_ts_action_dist(
    alpha: np.ndarray,
    beta: np.ndarray,
    len_list: int = LEN_LIST,
    n_sim: int = 100_000,
    seed: int = 0,
    chunk: int = 10_000,
) -> np.ndarray:
    """Action distribution (n_actions, len_list) of context-free Bernoulli Thompson sampling
    with Beta(alpha, beta) posteriors that ranks items by a posterior draw:
    :math:`\\pi(a \\mid k) = P(\\text{item } a \\text{ has the } k\\text{-th largest }
    \\theta_a)`, :math:`\\theta_a \\sim \\mathrm{Beta}(\\alpha_a, \\beta_a)`, by ``n_sim``
    Monte Carlo draws (the construction of OBP's ``BernoulliTS.compute_batch_action_dist``;
    pass OBP's production prior to reproduce its BTS policy)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.shape != beta.shape or alpha.ndim != 1 or (alpha <= 0).any() or (beta <= 0).any():
        raise ValueError("alpha and beta must be positive 1-D arrays of equal length")
    n_actions = alpha.shape[0]
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_actions, len_list))
    slots = np.broadcast_to(np.arange(len_list), (min(chunk, n_sim), len_list))
    for start in range(0, n_sim, chunk):
        rows = min(chunk, n_sim - start)
        theta = rng.beta(alpha, beta, size=(rows, n_actions))  # (rows, n_actions)
        top = np.argsort(-theta, axis=1, kind="stable")[:, :len_list]  # (rows, len_list)
        np.add.at(counts, (top, slots[:rows]), 1.0)
    return counts / n_sim


def obp_bernoulli_ts_action_dist(
    alpha: np.ndarray,
    beta: np.ndarray,
    len_list: int = LEN_LIST,
    n_sim: int = 1_000_000,
    random_state: int = 12345,
    chunk: int = 20_000,
) -> np.ndarray:
    """Bernoulli TS's action distribution (n_actions, len_list) exactly as OBP 0.5's
    ``BernoulliTS(n_actions, len_list, random_state=random_state, is_zozotown_prior=True,
    campaign=...).compute_batch_action_dist(n_sim=n_sim)[0]`` computes it from the prior
    (``alpha``, ``beta``):

    .. math:: \\hat\\pi(a \\mid k) = \\frac{1}{S} \\sum_{s=1}^{S}
        \\mathbb{1}\\{\\mathrm{rank}_k(\\theta^{(s)}) = a\\},
        \\qquad \\theta^{(s)}_a \\sim \\mathrm{Beta}(\\alpha_a, \\beta_a),

    where :math:`\\mathrm{rank}_k` is the action at place :math:`k` of ``theta.argsort()[::-1]``
    (largest first). Draw :math:`s` uses the same numbers as OBP's :math:`s`-th
    ``select_action()``: one ``numpy.random.RandomState(random_state)`` (scikit-learn's
    ``check_random_state``) whose ``beta(alpha, beta)`` draws one item after the other; drawing
    ``chunk`` rounds of all items at once continues that one stream, so the frequencies are
    OBP's number for number (OBP's reward and action counts are 0 before any update, so the
    Beta parameters are the prior's).

    References
    ----------
    st-tech/zr-obp: ``obp/policy/contextfree.py`` (``BernoulliTS.select_action``,
    ``compute_batch_action_dist``), ``obp/policy/base.py`` (``random_ = check_random_state``),
    ``examples/obd/evaluate_off_policy_estimators.py`` (``random_state=12345``,
    ``n_sim_to_compute_action_dist=1000000``).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.shape != beta.shape or alpha.ndim != 1 or (alpha <= 0).any() or (beta <= 0).any():
        raise ValueError("alpha and beta must be positive 1-D arrays of equal length")
    if not 1 <= len_list <= alpha.shape[0]:
        raise ValueError(f"len_list must lie in [1, {alpha.shape[0]}], got {len_list}")
    if n_sim < 1 or chunk < 1:
        raise ValueError(f"n_sim and chunk must be >= 1, got {n_sim} and {chunk}")
    n_actions = alpha.shape[0]
    stream = np.random.RandomState(random_state)
    counts = np.zeros((n_actions, len_list))
    for start in range(0, n_sim, chunk):
        rows = min(chunk, n_sim - start)
        theta = stream.beta(alpha, beta, size=(rows, n_actions))  # (rows, n_actions)
        ranked = np.argsort(theta, axis=1)[:, ::-1][:, :len_list]  # (rows, len_list), as argsort()[::-1]
        np.add.at(counts, (ranked, np.broadcast_to(np.arange(len_list), ranked.shape)), 1.0)
    return counts / n_sim


# ----------------------------------------------------------------------------- scoring policies (world)
Scorer = Callable[[World, Logs], np.ndarray]
"""Scores (n_requests, C) of every candidate of every request of a (batch of a) log."""


@dataclass(frozen=True)
class ScoringPolicy:
    """A slate policy that scores each request's candidates and ranks them by Plackett-Luce at
    ``temperature``: :math:`P(a \\text{ first}) \\propto \\exp(s_a / T)`, the next slot from the
    candidates left, and so on (exact marginals by
    :func:`~hermes_core.world.plackett_luce.position_marginals`)."""

    name: str
    scorer: Scorer
    temperature: float = 1.0

    def decide(self, world: World, logs: Logs, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Marginals (n, C, K) and one sampled slate (n, K) for every request of ``logs``."""
        weights = softmax_weights(self.scorer(world, logs), self.temperature)  # (n, C)
        slate_size = logs.slate.shape[1]
        return position_marginals(weights, slate_size), sample_slates(weights, slate_size, rng)


def true_relevance_scorer(world: World, logs: Logs) -> np.ndarray:
    """The candidates' true contextual grades with the fixed slot tie-breaker of
    :func:`hermes_core.world.policies.true_relevance_scores` (an oracle: no recommender has it)."""
    return logs.candidate_relevance.astype(float) - 1e-3 * np.arange(logs.candidates.shape[1])[None, :]


def uniform_scorer(world: World, logs: Logs) -> np.ndarray:
    """The same score for every candidate: uniformly random slates."""
    return np.zeros(logs.candidates.shape, dtype=np.float64)


def softmax_true_policy(temperature: float) -> ScoringPolicy:
    """``softmax-true@T``: Plackett-Luce on true relevance (the world target of that name)."""
    return ScoringPolicy(f"softmax-true@{temperature:g}", true_relevance_scorer, temperature)


def uniform_policy() -> ScoringPolicy:
    return ScoringPolicy("uniform", uniform_scorer, 1.0)


def learned_policy(world: World, train_logs: Logs, temperature: float, seed: int) -> ScoringPolicy:
    """``reward-model@T``: a logistic click model fitted on ``train_logs`` (observable features
    only, :func:`~hermes_core.world.policies.request_features`, with the slot one-hot), whose
    logit at the top slot scores each candidate; Plackett-Luce at ``temperature``. A realistic
    challenger: it knows no more than the logs show."""
    feedback = slate_feedback(world, train_logs)
    features = RewardFeatures.from_arrays(
        feedback.context, feedback.n_actions, feedback.len_list, feedback.action_context
    )
    rounds = np.arange(feedback.reward.shape[0])
    model = make_reward_model("logistic", seed)
    model.fit(features.rows(rounds, feedback.action, feedback.position), feedback.reward)

    def scorer(world: World, logs: Logs) -> np.ndarray:
        user_x, action_x = request_features(world, logs)  # (n, d_x), (n, C, d_a)
        batch = RewardFeatures.from_arrays(user_x, action_x.shape[1], feedback.len_list, action_x)
        n = user_x.shape[0]
        grid = batch.grid_rows(np.arange(n), np.zeros(1, dtype=np.int64))  # (n * C, d)
        return model.decision_function(grid).reshape(n, action_x.shape[1])

    return ScoringPolicy(f"reward-model@{temperature:g}", scorer, temperature)
