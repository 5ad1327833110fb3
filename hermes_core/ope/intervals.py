"""Confidence intervals for off-policy estimates: percentile bootstrap and normal approximation.

The bootstrap resamples *rounds* with replacement. A resample is represented by its count
vector :math:`c \\in \\mathbb{N}^n` (how often each round was drawn), so the resampled mean of
every per-round column is one row of the matrix product :math:`C\\,T / n`
(``(B, n) @ (n, m)``): all estimators share the same resamples and one pass over the data.
Self-normalised estimators are re-normalised inside every resample,
:math:`\\hat V^{*} = \\bar d^{*} + \\bar c^{*} / \\bar m^{*}` (Efron and Tibshirani, 1993,
"An Introduction to the Bootstrap", Ch. 13: the percentile interval of the statistic itself),
rather than resampling the already-normalised round rewards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from hermes_core.evaluation.bootstrap import resampled_means
from hermes_core.ope.base import OffPolicyEstimator, RoundTerms

@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval at ``level`` (= 1 - alpha)."""

    estimate: float
    low: float
    high: float
    method: Literal["bootstrap", "normal"]
    level: float


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")


def _as_terms(source: object, inputs: Mapping[str, object]) -> RoundTerms:
    """Round terms from round rewards (1-D array), a :class:`RoundTerms`, or an estimator
    together with its keyword inputs."""
    if isinstance(source, RoundTerms):
        return source
    if isinstance(source, OffPolicyEstimator):
        if not inputs:
            raise TypeError("an estimator needs its inputs (reward=..., action=..., ...)")
        return source.round_terms_from_arrays(**inputs)
    if inputs:
        raise TypeError("keyword inputs are only accepted together with an estimator")
    values = np.asarray(source, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] == 0:
        raise ValueError(f"round rewards must be a non-empty 1-D array, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"round rewards, row {int(np.argmax(~np.isfinite(values)))}: not finite")
    return RoundTerms(correction=values)


def cluster_terms(terms: RoundTerms, groups: np.ndarray) -> RoundTerms:
    """Round terms averaged within groups of rounds (one row per group, in sorted group order).

    When every group holds the same number of rounds (e.g. the ``K`` slots of one slate
    request), each column's mean over groups equals its mean over rounds, so the estimate is
    unchanged, while a bootstrap or a normal interval built on the result treats a *group* as
    the independent unit (a cluster bootstrap: Cameron, Gelbach and Miller, 2008, "Bootstrap-
    based improvements for inference with clustered errors", Sec. 3). Rounds of one request
    share a context and a jointly drawn slate, so they are not independent.

    Raises
    ------
    ValueError
        if ``groups`` is not (n_rounds,) or the groups differ in size.
    """
    groups = np.asarray(groups)
    if groups.shape != (terms.n_rounds,):
        raise ValueError(f"groups must have shape ({terms.n_rounds},), got {groups.shape}")
    _, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if sizes.min() != sizes.max():
        raise ValueError(
            f"groups must all hold the same number of rounds, got sizes {sizes.min()} to {sizes.max()}"
        )

    def mean_by_group(column: np.ndarray | None) -> np.ndarray | None:
        if column is None:
            return None
        return np.bincount(inverse, weights=column, minlength=sizes.size) / sizes

    grouped = getattr(terms, "grouped", None)
    if grouped is not None:  # terms that carry more per-round arrays (a SLOPE selection)
        return grouped(mean_by_group)
    return RoundTerms(
        correction=mean_by_group(terms.correction),
        direct=mean_by_group(terms.direct),
        normaliser=mean_by_group(terms.normaliser),
    )


def bootstrap_replicates(
    terms: Mapping[str, RoundTerms],
    *,
    n_bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    chunk_size: int | None = None,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates (B,) of several estimates, on the *same* resamples of rounds."""
    if not terms:
        return {}
    n_rounds = {t.n_rounds for t in terms.values()}
    if len(n_rounds) != 1:
        raise ValueError(f"all round terms must have the same number of rounds, got {n_rounds}")
    column_of: dict[int, int] = {}
    arrays: list[np.ndarray] = []
    for term in terms.values():
        for array in term.columns():
            if id(array) not in column_of:
                column_of[id(array)] = len(arrays)
                arrays.append(array)
    means = resampled_means(np.stack(arrays, axis=1), n_bootstrap, seed, chunk_size)
    return {
        name: term.estimate_from_means([means[:, column_of[id(a)]] for a in term.columns()])
        for name, term in terms.items()
    }


def bootstrap_intervals(
    terms: Mapping[str, RoundTerms],
    *,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = 0,
    chunk_size: int | None = None,
) -> dict[str, Interval]:
    """Percentile bootstrap intervals of several estimates on shared resamples.

    ``low``/``high`` are the :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles of the
    replicates; ``estimate`` is the full-sample estimate (not the replicates' mean).
    """
    _check_alpha(alpha)
    replicates = bootstrap_replicates(
        terms, n_bootstrap=n_bootstrap, seed=seed, chunk_size=chunk_size
    )
    intervals = {}
    for name, values in replicates.items():
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        intervals[name] = Interval(terms[name].estimate(), float(low), float(high), "bootstrap", 1 - alpha)
    return intervals


def bootstrap_interval(
    source: np.ndarray | RoundTerms | OffPolicyEstimator,
    *,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = 0,
    chunk_size: int | None = None,
    **inputs: object,
) -> Interval:
    """Percentile bootstrap interval of one estimate.

    ``source`` is round rewards (n,), a :class:`RoundTerms`, or an estimator followed by its
    keyword inputs (``reward=..., action=..., pscore=..., action_dist=..., position=...,
    estimated_rewards_by_reg_model=...``); for a self-normalised estimator every resample is
    re-normalised.
    """
    terms = _as_terms(source, inputs)
    return bootstrap_intervals(
        {"estimate": terms}, n_bootstrap=n_bootstrap, alpha=alpha, seed=seed, chunk_size=chunk_size
    )["estimate"]


def normal_interval(
    source: np.ndarray | RoundTerms | OffPolicyEstimator,
    *,
    alpha: float = 0.05,
    **inputs: object,
) -> Interval:
    """Normal-approximation interval :math:`\\hat V \\pm z_{1-\\alpha/2}\\, s / \\sqrt{n}`.

    :math:`s` is the sample standard deviation (ddof 1) of the round rewards; for a
    self-normalised estimator, of its delta-method linearisation
    (:meth:`RoundTerms.influence`), which accounts for the random normaliser.
    """
    _check_alpha(alpha)
    terms = _as_terms(source, inputs)
    if terms.n_rounds < 2:
        raise ValueError("a normal interval needs at least 2 rounds")
    contributions = terms.influence()
    estimate = terms.estimate()
    z = NormalDist().inv_cdf(1 - alpha / 2)
    half_width = z * float(contributions.std(ddof=1)) / np.sqrt(terms.n_rounds)
    return Interval(
        estimate, float(estimate - half_width), float(estimate + half_width), "normal", 1 - alpha
    )
