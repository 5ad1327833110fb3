"""Sessions, logged slates, clicks and delayed conversions of the synthetic world.

For each request (one step of a session):

0. *session*: a user (by activity), a start time and a modality intent; each request's hour of
   day is its context and its day the point of the user's taste drift. With probability
   ``modality_intent_share`` the session is about looks or about content (equally likely),
   shifting the modality weight's logit by ``+-modality_intent_strength``;
1. *candidates*: an upstream retriever draws ``C`` warm items without replacement by the
   Gumbel-top-C trick on ``0.3 s(u, i | h, x) + log pop_i`` (``s(u, i | h, x)``: the contextual
   affinity given the session's clicks so far and its context, :mod:`hermes_core.world.truth`);
2. *logging policy*: a Plackett-Luce ranking of the candidates with scores
   ``0.8 s(u, i | h, x) + sigma * eps`` (``eps ~ N(0,1)`` per request and candidate, the logging
   model's error) at temperature ``T``; the exact marginal probability of each candidate at
   each position is logged (:func:`~hermes_core.world.plackett_luce.position_marginals`);
3. *clicks*: the world's click model (``world.click_model``: position-based, or cascade, where the
   user may stop reading after a click) with continuous attractiveness and similarity fatigue
   (:mod:`hermes_core.world.truth`); every click joins the session's history, in slate order,
   which is also the order of the click times (a click comes after the clicks above it, and the
   session's next request after its last click);
4. *conversions*: each click converts with its true probability after a delay drawn from
   the configured distribution with mean ``mu_domain * exp(-0.25 (rel - 2))`` days; the
   log sees a conversion only if it happens before the end of the logging window.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gamma

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.plackett_luce import position_marginals, sample_slates, softmax_weights
from hermes_core.world.preferences import (
    SessionContext,
    TasteModel,
    conversion_probability,
    grade,
)
from hermes_core.world.truth import (
    NO_ITEM,
    active_click_probabilities,
    contextual_affinity_matrix,
    draw_clicks,
    stop_probability,
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
    modality_intent: np.ndarray  # (n_req,) the session's modality intent (logit shift; 0: none)
    hour: np.ndarray  # (n_req,) hour of day of the request, 0..23
    candidates: np.ndarray  # (n_req, C) item indices
    logging_marginals: np.ndarray  # (n_req, C, K) P(candidate at position) under the logging policy
    slate: np.ndarray  # (n_req, K) candidate slots shown at each position
    candidate_relevance: np.ndarray  # (n_req, C) true contextual grade, int8
    candidate_affinity: np.ndarray  # (n_req, C) true contextual affinity s(u, i | h, x)
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


def session_intents(params: WorldParams, n_sessions: int, rng: np.random.Generator) -> np.ndarray:
    """Each session's modality intent: ``+-modality_intent_strength`` with probability
    ``modality_intent_share`` (the sign a fair coin), else 0."""
    has_intent = rng.random(n_sessions) < params.modality_intent_share
    sign = np.where(rng.random(n_sessions) < 0.5, 1.0, -1.0)
    return np.where(has_intent, sign * params.modality_intent_strength, 0.0)


def request_context(intent: np.ndarray, seconds: np.ndarray) -> SessionContext:
    """The context of requests made at ``seconds`` since the world's start (midnight UTC)."""
    seconds = np.asarray(seconds, dtype=float)
    hour = (np.floor(seconds / 3600.0) % 24).astype(np.int64)
    return SessionContext(modality_intent=np.asarray(intent, dtype=float), hour=hour, day=seconds / SECONDS_PER_DAY)


def padded(histories: list[list[int]]) -> np.ndarray:
    """Session histories as one right-aligned (n, L) array padded with ``NO_ITEM``."""
    length = max((len(h) for h in histories), default=0)
    out = np.full((len(histories), max(length, 1)), NO_ITEM, dtype=np.int64)
    for row, items in enumerate(histories):
        if items:
            out[row, -len(items):] = items
    return out


def simulate_logs(model: TasteModel, rng: np.random.Generator) -> Logs:
    """``model.params.n_requests`` logged requests drawn from ``rng`` (module docstring), clicks under
    ``model.params.click_model``; the position-based model draws one uniform per shown slot, the
    cascade also one stop uniform per slot (:func:`~hermes_core.world.truth.draw_clicks`)."""
    params, catalogue = model.params, model.catalogue
    users = model.users
    k_slate, c_cand = params.slate_size, params.candidates_per_request
    stop = stop_probability(params)
    lengths = _session_lengths(params, rng)
    n_sessions = len(lengths)
    activity = users.activity / users.activity.sum()
    session_user = rng.choice(len(activity), size=n_sessions, p=activity)
    log_seconds = params.log_days * SECONDS_PER_DAY
    clock = rng.uniform(0.0, 0.97 * log_seconds, size=n_sessions)
    intent = session_intents(params, n_sessions, rng)
    history: list[list[int]] = [[] for _ in range(n_sessions)]
    warm = np.flatnonzero(~catalogue.is_cold)
    log_pop_warm = catalogue.log_popularity[warm]

    columns: dict[str, list[np.ndarray]] = {key: [] for key in (
        "session", "step", "timestamp", "context", "intent", "hour", "candidates", "marginals", "slate",
        "relevance", "affinity", "clicks", "click_time")}
    for step in range(int(lengths.max())):
        active = np.flatnonzero(lengths > step)
        if step > 0:
            clock[active] += rng.exponential(180.0, size=len(active))
        for start in range(0, len(active), CANDIDATE_CHUNK):
            sessions = active[start:start + CANDIDATE_CHUNK]
            u = session_user[sessions]
            histories = padded([history[s] for s in sessions])
            ctx = histories[:, -1]
            t0 = clock[sessions]
            context = request_context(intent[sessions], t0)
            contextual = contextual_affinity_matrix(model, u, histories, warm, context)  # (n, n_warm)
            keys = CANDIDATE_AFFINITY_WEIGHT * contextual + log_pop_warm[None, :] + rng.gumbel(size=contextual.shape)
            top = np.argpartition(-keys, c_cand - 1, axis=1)[:, :c_cand]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)
            cand_items = warm[top]  # (n, C)
            cand_contextual = np.take_along_axis(contextual, top, 1)
            logging_scores = LOGGING_AFFINITY_WEIGHT * cand_contextual + params.logging_noise * rng.standard_normal(top.shape)
            weights = softmax_weights(logging_scores, params.logging_temperature)
            marginals = position_marginals(weights, k_slate)
            slate = sample_slates(weights, k_slate, rng)
            relevance = grade(model.scales, cand_contextual)
            shown_items = np.take_along_axis(cand_items, slate, 1)
            shown_affinity = np.take_along_axis(cand_contextual, slate, 1)
            p_click = active_click_probabilities(model, shown_affinity, shown_items)  # (n, K) given still reading
            clicks = draw_clicks(p_click, rng, stop)
            # the user reads the slate top down: a click at position k comes after every click above it,
            # and the session's next request after its last click, so the click times order the history
            offsets = np.cumsum(5.0 + rng.exponential(15.0, size=p_click.shape), axis=1)
            click_time = np.where(clicks, t0[:, None] + offsets, np.nan)
            clock[sessions] = np.where(clicks.any(axis=1), t0 + np.where(clicks, offsets, 0.0).max(axis=1), t0)
            for row, session in enumerate(sessions):
                history[session].extend(int(item) for item in shown_items[row, clicks[row]])
            for key, value in (("session", sessions), ("step", np.full(len(sessions), step)),
                               ("timestamp", t0.copy()), ("context", ctx), ("intent", intent[sessions]),
                               ("hour", context.hour), ("candidates", cand_items),
                               ("marginals", marginals), ("slate", slate), ("relevance", relevance),
                               ("affinity", cand_contextual), ("clicks", clicks), ("click_time", click_time)):
                columns[key].append(value)

    data = {key: np.concatenate(value) for key, value in columns.items()}
    order = np.lexsort((data["step"], data["session"], data["timestamp"]))
    data = {key: value[order] for key, value in data.items()}
    user = session_user[data["session"]]

    req_idx, pos_idx = np.nonzero(data["clicks"])
    clicked_items = data["candidates"][req_idx, data["slate"][req_idx, pos_idx]]
    clicked_rel = data["relevance"][req_idx, data["slate"][req_idx, pos_idx]]
    p_conv = conversion_probability(params, model.scales, catalogue, clicked_items, clicked_rel)
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
        modality_intent=data["intent"],
        hour=data["hour"],
        candidates=data["candidates"],
        logging_marginals=data["marginals"],
        slate=data["slate"],
        candidate_relevance=data["relevance"],
        candidate_affinity=data["affinity"],
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
