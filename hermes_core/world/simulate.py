"""Sessions, logged slates, clicks and delayed conversions of the synthetic world.

For each request (one step of a session):

1. *candidates*: an upstream retriever draws ``C`` warm items without replacement by the
   Gumbel-top-C trick on ``0.5 (s(u,i) + b(c,i)) + log pop_i`` (``b``: the sequential bonus
   of the session's last click ``c``);
2. *logging policy*: a Plackett-Luce ranking of the candidates with scores
   ``0.8 (s + b) + sigma * eps`` (``eps ~ N(0,1)`` per request and candidate, the logging
   model's error) at temperature ``T``; the exact marginal probability of each candidate at
   each position is logged (:func:`~hermes_core.world.plackett_luce.position_marginals`);
3. *clicks*: position-based model on the contextual grade;
4. *conversions*: each click converts with its true probability after a delay drawn from
   the configured distribution with mean ``mu_domain * exp(-0.25 (rel - 2))`` days; the
   log sees a conversion only if it happens before the end of the logging window.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gamma

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.catalogue import SECONDS_PER_DAY, Catalogue
from hermes_core.world.plackett_luce import position_marginals, sample_slates, softmax_weights
from hermes_core.world.population import Users
from hermes_core.world.preferences import (
    PreferenceScales,
    affinity_matrix,
    attractiveness,
    context_bonus_matrix,
    conversion_probability,
    examination,
    grade,
)

CANDIDATE_CHUNK = 2048
CANDIDATE_AFFINITY_WEIGHT = 0.3
LOGGING_AFFINITY_WEIGHT = 0.8


@dataclass(frozen=True)
class Logs:
    """Logged requests (sorted by time) and their ground truth."""

    user: np.ndarray  # (n_req,)
    session: np.ndarray  # (n_req,)
    step: np.ndarray  # (n_req,) position of the request within its session
    timestamp: np.ndarray  # (n_req,) seconds since the world's start
    context_item: np.ndarray  # (n_req,) last clicked item in the session, -1 if none
    candidates: np.ndarray  # (n_req, C) item indices
    logging_marginals: np.ndarray  # (n_req, C, K) P(candidate at position) under the logging policy
    slate: np.ndarray  # (n_req, K) candidate slots shown at each position
    candidate_relevance: np.ndarray  # (n_req, C) true contextual grade, int8
    clicks: np.ndarray  # (n_req, K) bool
    click_time: np.ndarray  # (n_req, K) seconds, NaN where no click
    conv_request: np.ndarray  # (n_clicks,) request of each click
    conv_position: np.ndarray  # (n_clicks,)
    conv_probability: np.ndarray  # (n_clicks,) true P(convert | click)
    converted: np.ndarray  # (n_clicks,) true label
    delay_days: np.ndarray  # (n_clicks,) true delay (NaN if not converted)
    conversion_time: np.ndarray  # (n_clicks,) seconds (NaN if not converted)
    conversion_observed: np.ndarray  # (n_clicks,) converted and before the log's end


def draw_delays(params: WorldParams, mean_days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Delays in days with the given means, from the configured distribution.

    exponential: ``Exp(mean)``; weibull (shape k): scale ``mean / Gamma(1 + 1/k)``;
    lognormal (sigma = shape): ``mu = log(mean) - sigma^2 / 2``.
    """
    if params.delay_distribution == "exponential":
        return rng.exponential(mean_days)
    if params.delay_distribution == "weibull":
        k = params.delay_shape
        return mean_days / gamma(1.0 + 1.0 / k) * rng.weibull(k, size=mean_days.shape)
    sigma = params.delay_shape
    return np.exp(np.log(mean_days) - 0.5 * sigma**2 + sigma * rng.standard_normal(mean_days.shape))


def _session_lengths(params: WorldParams, rng: np.random.Generator) -> np.ndarray:
    n_req = params.n_requests
    draws = rng.geometric(1.0 / params.mean_session_length, size=int(2 * n_req / params.mean_session_length) + 16)
    total = np.cumsum(draws)
    last = int(np.searchsorted(total, n_req))
    lengths = draws[: last + 1].copy()
    lengths[-1] -= total[last] - n_req
    return lengths


def simulate_logs(params: WorldParams, users: Users, catalogue: Catalogue, scales: PreferenceScales,
                  content: np.ndarray, rng: np.random.Generator) -> Logs:
    k_slate, c_cand = params.slate_size, params.candidates_per_request
    lengths = _session_lengths(params, rng)
    n_sessions = len(lengths)
    activity = users.activity / users.activity.sum()
    session_user = rng.choice(len(activity), size=n_sessions, p=activity)
    log_seconds = params.log_days * SECONDS_PER_DAY
    clock = rng.uniform(0.0, 0.97 * log_seconds, size=n_sessions)
    last_click = np.full(n_sessions, -1, dtype=np.int64)
    warm = np.flatnonzero(~catalogue.is_cold)
    log_pop_warm = catalogue.log_popularity[warm]
    theta = examination(params, np.arange(k_slate))

    columns: dict[str, list[np.ndarray]] = {key: [] for key in (
        "session", "step", "timestamp", "context", "candidates", "marginals", "slate", "relevance",
        "clicks", "click_time")}
    for step in range(int(lengths.max())):
        active = np.flatnonzero(lengths > step)
        if step > 0:
            clock[active] += rng.exponential(180.0, size=len(active))
        for start in range(0, len(active), CANDIDATE_CHUNK):
            sessions = active[start:start + CANDIDATE_CHUNK]
            u = session_user[sessions]
            ctx = last_click[sessions]
            true_affinity = affinity_matrix(scales, users, catalogue, u, warm)  # (n, n_warm)
            contextual = true_affinity + context_bonus_matrix(params, scales, catalogue, content, ctx, warm)
            keys = CANDIDATE_AFFINITY_WEIGHT * contextual + log_pop_warm[None, :] + rng.gumbel(size=contextual.shape)
            top = np.argpartition(-keys, c_cand - 1, axis=1)[:, :c_cand]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)
            cand_items = warm[top]  # (n, C)
            cand_contextual = np.take_along_axis(contextual, top, 1)
            logging_scores = LOGGING_AFFINITY_WEIGHT * cand_contextual + params.logging_noise * rng.standard_normal(top.shape)
            weights = softmax_weights(logging_scores, params.logging_temperature)
            marginals = position_marginals(weights, k_slate)
            slate = sample_slates(weights, k_slate, rng)
            relevance = grade(scales, cand_contextual)
            shown_rel = np.take_along_axis(relevance, slate, 1)
            p_click = theta[None, :] * attractiveness(params, shown_rel)
            clicks = rng.random(p_click.shape) < p_click
            t0 = clock[sessions]
            offsets = 5.0 * np.arange(k_slate)[None, :] + rng.exponential(20.0, size=p_click.shape)
            click_time = np.where(clicks, t0[:, None] + offsets, np.nan)
            clicked_any = clicks.any(axis=1)
            last_pos = k_slate - 1 - np.argmax(clicks[:, ::-1], axis=1)
            shown_items = np.take_along_axis(cand_items, slate, 1)
            last_click[sessions] = np.where(clicked_any, shown_items[np.arange(len(sessions)), last_pos], ctx)
            for key, value in (("session", sessions), ("step", np.full(len(sessions), step)),
                               ("timestamp", t0.copy()), ("context", ctx), ("candidates", cand_items),
                               ("marginals", marginals), ("slate", slate), ("relevance", relevance),
                               ("clicks", clicks), ("click_time", click_time)):
                columns[key].append(value)

    data = {key: np.concatenate(value) for key, value in columns.items()}
    order = np.lexsort((data["step"], data["session"], data["timestamp"]))
    data = {key: value[order] for key, value in data.items()}
    user = session_user[data["session"]]

    req_idx, pos_idx = np.nonzero(data["clicks"])
    clicked_items = data["candidates"][req_idx, data["slate"][req_idx, pos_idx]]
    clicked_rel = data["relevance"][req_idx, data["slate"][req_idx, pos_idx]]
    p_conv = conversion_probability(params, scales, catalogue, clicked_items, clicked_rel)
    converted = rng.random(len(p_conv)) < p_conv
    domain_means = np.array([getattr(params.delay_mean_days, d) for d in DOMAINS])
    mean_days = domain_means[catalogue.domain[clicked_items]] * np.exp(-0.25 * (clicked_rel - 2.0))
    delays = draw_delays(params, mean_days, rng)
    delays = np.where(converted, delays, np.nan)
    conv_time = data["click_time"][req_idx, pos_idx] + delays * SECONDS_PER_DAY
    observed = converted & (conv_time <= log_seconds)
    return Logs(
        user=user,
        session=data["session"],
        step=data["step"],
        timestamp=data["timestamp"],
        context_item=data["context"],
        candidates=data["candidates"],
        logging_marginals=data["marginals"],
        slate=data["slate"],
        candidate_relevance=data["relevance"],
        clicks=data["clicks"],
        click_time=data["click_time"],
        conv_request=req_idx,
        conv_position=pos_idx,
        conv_probability=p_conv,
        converted=converted,
        delay_days=delays,
        conversion_time=conv_time,
        conversion_observed=observed,
    )
