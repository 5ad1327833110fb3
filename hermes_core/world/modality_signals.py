r"""The modality oracle: how much knowing a session's modality intent helps cold-start ranking.

Each logged session ``x`` (its first request: ``logs.user``, ``logs.modality_intent``) has a user
``u`` and a true modality intent ``iota_x`` (a shift of the logit of the weight of looks,
:mod:`hermes_core.world.preferences`). The *cold* items (created after the logging window, so no
interaction reveals them) are ranked by two content scorers built from the weighted parts of
affinity (:func:`~hermes_core.world.preferences.weighted_components`):

.. math::

    c(u, i \mid \iota) = \underbrace{1.4\, m_{u d \iota}\, \tilde v_{ui}}_{\text{visual}}
        + \underbrace{1.4\, (1 - m_{u d \iota})\, \tilde t_{ui}}_{\text{text}}
        + \underbrace{0.8 \log(4\, a_{u d})}_{\text{domain}}

* ``concatenation``: ``c(u, i | 0)``, the user's own weight of looks in each domain, fixed across
  sessions. A dot product of one user vector with concatenated visual and text content captures a
  fixed weight; this scorer also knows how the weight moves with the domain, so it is at least as
  strong as any fixed concatenation and the gain below is, if anything, an underestimate;
* ``oracle``: ``c(u, i | iota_x)``, the same with the session's true intent.

Both are scored against the true graded relevance of the cold items in the session's context,
``rel = grade(s(u, i | iota_x))`` with ``s`` the sum of *all* weighted components (hidden factor
and creator taste included, which neither scorer knows) under the session's intent; the context
holds the intent only (no hour, the training cut-off day), so the scorers differ from each other
only in what the modality weight knows.

Per session, NDCG@k with gain ``2^rel - 1`` and discount ``1 / log2(rank + 1)`` (Järvelin &
Kekäläinen 2002), ties in a score broken by the lower item index, IDCG over all cold items; a
session whose cold items all have grade 0 is left out (0/0), as in
:func:`hermes_core.evaluation.ranking.ndcg_at_k`, which this module may not import (the world
sits below ``evaluation`` in the layering, ``tests/test_layering.py``): :func:`ndcg_per_row` is
the same formula, and the tests check it against that function.

Reported: the mean NDCG of both scorers, the gain ``oracle - concatenation``, the gain over
the sessions with an intent only (on the others the two scores are identical, so the gain is
exactly 0), and a percentile bootstrap interval of the mean gain over sessions
(:func:`bootstrap_mean_interval`: the resamples of
:func:`hermes_core.evaluation.bootstrap.paired_bootstrap` for the same seed). Issue 9's goal:
a gain of at least :data:`MODALITY_GAIN_GOAL`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hermes_core.world.preferences import SessionContext, TasteModel, grade, raw_components, weighted_components
from hermes_core.world.simulate import Logs
from hermes_core.world.world import World

MODALITY_GAIN_GOAL = 0.02
"""Issue 9 ("Modality"): the oracle gains at least +0.02 cold-start NDCG@10."""
CONTENT_PARTS: tuple[str, ...] = ("visual", "text", "domain")
"""The weighted parts of affinity a content scorer sees."""
BOOTSTRAP_CHUNK_ELEMENTS = 1 << 23
"""Resample indices drawn at once (rows x sessions), as in ``hermes_core.evaluation.bootstrap``."""


@dataclass(frozen=True)
class ModalitySignals:
    """The modality oracle's cold-start NDCG@k (module docstring for each definition)."""

    k: int
    n_cold_items: int
    n_sessions: int  # sessions scored (at least one cold item with grade > 0)
    n_intent_sessions: int  # scored sessions with a modality intent
    ndcg_concatenation: float
    ndcg_oracle: float
    gain: float  # ndcg_oracle - ndcg_concatenation, over the scored sessions
    gain_intent_sessions: float  # the same over the intent sessions only (NaN if none)
    gain_ci_low: float
    gain_ci_high: float
    level: float
    n_bootstrap: int
    seed: int

    @property
    def meets_goal(self) -> bool:
        return bool(np.isfinite(self.gain)) and self.gain >= MODALITY_GAIN_GOAL

    def as_dict(self) -> dict[str, object]:
        """JSON-ready numbers (for ``metrics/ingest.json: world_signals``), the goal included."""
        return {**asdict(self), "goal": MODALITY_GAIN_GOAL, "meets_goal": self.meets_goal}


def session_starts(logs: Logs) -> tuple[np.ndarray, np.ndarray]:
    """``(user, modality_intent)`` of every logged session, from its first request (step 0), in
    the order of the log."""
    first = np.flatnonzero(logs.step == 0)
    return logs.user[first], logs.modality_intent[first]


def content_scores(model: TasteModel, user_idx: np.ndarray, item_idx: np.ndarray,
                   intent: np.ndarray | float) -> np.ndarray:
    """``c(u, i | iota)``: the sum of the :data:`CONTENT_PARTS` of affinity for each (row, item),
    (n, m); ``intent`` is one modality intent per row (or one for all)."""
    users = np.asarray(user_idx, dtype=np.int64)
    context = SessionContext(modality_intent=np.broadcast_to(np.asarray(intent, dtype=float), users.shape))
    parts = weighted_components(model, raw_components(model, users, item_idx, context))
    return sum(parts[name] for name in CONTENT_PARTS)  # type: ignore[return-value]


def true_grades(model: TasteModel, user_idx: np.ndarray, item_idx: np.ndarray,
                intent: np.ndarray | float) -> np.ndarray:
    """``grade(s(u, i | iota))``: the graded relevance of every (row, item) under each row's
    modality intent (all weighted parts summed, no hour, no history), (n, m) int8."""
    users = np.asarray(user_idx, dtype=np.int64)
    context = SessionContext(modality_intent=np.broadcast_to(np.asarray(intent, dtype=float), users.shape))
    parts = weighted_components(model, raw_components(model, users, item_idx, context))
    return grade(model.scales, sum(parts.values()))  # type: ignore[arg-type]


def ndcg_per_row(scores: np.ndarray, grades: np.ndarray, k: int) -> np.ndarray:
    r"""NDCG@k of each row of ``scores`` (n, m) against ``grades`` (n, m), NaN where IDCG = 0.

    .. math:: \mathrm{NDCG@}k = \frac{\sum_{r=1}^{k} (2^{rel_{\pi(r)}} - 1) / \log_2(r + 1)}
              {\sum_{r=1}^{k} (2^{rel^*_{r}} - 1) / \log_2(r + 1)}

    ``pi``: the columns by decreasing score, ties to the lower column (a stable sort); ``rel*``:
    the grades sorted in decreasing order; ``k`` above ``m`` is clipped.
    """
    scores, grades = np.asarray(scores, dtype=float), np.asarray(grades, dtype=float)
    if scores.shape != grades.shape or scores.ndim != 2:
        raise ValueError(f"scores and grades must be (n, m) of one shape, got {scores.shape} and {grades.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    k = min(k, scores.shape[1])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    dcg = (np.exp2(np.take_along_axis(grades, top, axis=1)) - 1.0) @ discounts
    idcg = (np.exp2(-np.sort(-grades, axis=1)[:, :k]) - 1.0) @ discounts
    return np.divide(dcg, idcg, out=np.full(len(dcg), np.nan), where=idcg > 0)


def bootstrap_mean_interval(values: np.ndarray, n_bootstrap: int = 1000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (n,): ``n_bootstrap`` resamples of
    the units with replacement, the ``(alpha/2, 1 - alpha/2)`` quantiles of their means
    (``alpha = 1 - level``; Efron & Tibshirani 1993, ch. 13).

    The resample indices are those of :func:`hermes_core.evaluation.bootstrap.resampled_means`
    for the same seed (``default_rng(seed).integers(0, n, (rows, n), int32)``, drawn in blocks of
    rows), so applied to paired differences the interval is ``paired_bootstrap``'s.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"need at least 2 finite values in a 1-d array, got shape {values.shape}")
    if n_bootstrap < 100:
        raise ValueError(f"n_bootstrap must be at least 100 for a percentile interval, got {n_bootstrap}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    n = len(values)
    rng = np.random.default_rng(seed)
    rows_per_block = max(1, min(BOOTSTRAP_CHUNK_ELEMENTS // n, n_bootstrap))
    means = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, rows_per_block):
        rows = min(rows_per_block, n_bootstrap - start)
        index = rng.integers(0, n, size=(rows, n), dtype=np.int32 if n < 2**31 else np.int64)
        means[start:start + rows] = values[index].mean(axis=1)
    alpha = 1.0 - level
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def modality_ndcg(world: World, k: int = 10, chunk_size: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per logged session, in log order: NDCG@k of ``concatenation`` and of ``oracle`` on the cold
    items (NaN where no cold item is relevant) and the session's modality intent."""
    cold = np.flatnonzero(world.catalogue.is_cold)
    if len(cold) == 0:
        raise ValueError("the world has no cold item (world.cold_item_share is 0): nothing to rank")
    users, intents = session_starts(world.logs)
    base, oracle = np.empty(len(users)), np.empty(len(users))
    for start in range(0, len(users), chunk_size):
        rows = slice(start, start + chunk_size)
        u, intent = users[rows], intents[rows]
        grades = true_grades(world.model, u, cold, intent)
        base[rows] = ndcg_per_row(content_scores(world.model, u, cold, 0.0), grades, k)
        oracle[rows] = ndcg_per_row(content_scores(world.model, u, cold, intent), grades, k)
    return base, oracle, intents


def modality_signals(world: World, k: int = 10, n_bootstrap: int = 1000, seed: int = 0,
                     level: float = 0.95) -> ModalitySignals:
    """The modality oracle's signals on ``world`` (module docstring). Deterministic for a seed."""
    base, oracle, intents = modality_ndcg(world, k)
    scored = ~np.isnan(base)
    if scored.sum() < 2:
        raise ValueError(f"only {int(scored.sum())} session(s) have a relevant cold item; need at least 2")
    gain = oracle[scored] - base[scored]
    with_intent = intents[scored] != 0.0
    low, high = bootstrap_mean_interval(gain, n_bootstrap, seed, level)
    return ModalitySignals(
        k=k,
        n_cold_items=int(world.catalogue.is_cold.sum()),
        n_sessions=int(scored.sum()),
        n_intent_sessions=int(with_intent.sum()),
        ndcg_concatenation=float(base[scored].mean()),
        ndcg_oracle=float(oracle[scored].mean()),
        gain=float(gain.mean()),
        gain_intent_sessions=float(gain[with_intent].mean()) if with_intent.any() else float("nan"),
        gain_ci_low=low,
        gain_ci_high=high,
        level=level,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
