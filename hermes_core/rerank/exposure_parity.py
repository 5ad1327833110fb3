r"""Exposure parity by one shared score multiplier: boost the under-exposed cohort until its exposure
per unit relevance matches the other cohort's, amortised over all users' slates.

Each user :math:`b` has candidates with scores :math:`s_{b,i}` (any sign), relevance
:math:`u_{b,i} \ge 0` and a cohort, :math:`A` (``in_cohort`` true) or :math:`B`; the slate is the
top :math:`K` by score. Over the whole batch, with :math:`v_k = 1/\log_2(k + 1)`
(:mod:`hermes_core.rerank.exposure`),

.. math::

    r = \mathrm{DER}(A, B) = \frac{\operatorname{Exp}(A) / \operatorname{Rel}(A)}
                                  {\operatorname{Exp}(B) / \operatorname{Rel}(B)},

exposure summed over all slates and relevance over all candidates (Singh & Joachims, KDD 2018,
§4.2). Parity is :math:`r = 1`.

**The boost.** The under-exposed cohort :math:`U` (:math:`A` when :math:`r < 1`, else :math:`B`)
gets a multiplier :math:`m \ge 1` applied as an additive log-boost,

.. math::

    s'_{b,i} = s_{b,i} + \log m \cdot \mathbf 1[i \in U],

i.e. :math:`m` multiplies :math:`e^{s}` (a softmax weight or odds), not :math:`s` itself. Scaling
raw scores would demote a negative score and depend on where zero lies; the additive boost is
order-preserving within each cohort for any sign. It is also the Lagrangian relaxation of the
constraint: sorting by :math:`s'` maximises :math:`\sum_b \sum_k v_k s'_{b, \pi_b(k)}`
(rearrangement inequality), and with the constraint written linearly,
:math:`\operatorname{Exp}(U) \operatorname{Rel}(O) - \operatorname{Exp}(O) \operatorname{Rel}(U) \ge 0`
(:math:`O` the other cohort), the Lagrangian :math:`\sum_b \sum_k v_k s_{b,\pi_b(k)} + \lambda
(\operatorname{Exp}(U) \operatorname{Rel}(O) - \operatorname{Exp}(O) \operatorname{Rel}(U))` is
maximised by exactly that sort with :math:`\log m = \lambda (\operatorname{Rel}(U) +
\operatorname{Rel}(O))` (the remaining :math:`-\lambda \operatorname{Rel}(U)` shifts every score alike).
:math:`\operatorname{Exp}(U)` is non-decreasing in :math:`m` (a uniform boost only moves
:math:`U`'s items up the merge of the two sorted cohorts), so :math:`r` is a monotone *step*
function of :math:`m`.

**The update.** Bisection on :math:`\beta = \log m \in [0, \beta_{\max}]`, the dual line search for
the multiplier: each step re-ranks every slate at the midpoint and keeps the half where
:math:`r` crosses 1. Monotonicity makes bisection converge (a fixed-step update
:math:`m \leftarrow m\, e^{\eta (1 - r)}` can oscillate across a jump of :math:`r`) and lets
unreachability be decided at :math:`\beta_{\max}`. By default :math:`\beta_{\max}` is the score
span plus one, which puts every :math:`U` item above every other candidate in every list, the
largest boost that can change anything.

It stops, ``converged = True``, at the first :math:`m` with :math:`|r - 1| \le` ``tolerance``.
Otherwise ``converged = False`` and ``reason`` says why: a cohort is absent from the candidates or
has zero total relevance (:math:`r` undefined), even :math:`\beta_{\max}` leaves :math:`U`
under-exposed, or :math:`r` jumps over the tolerance band at one value of :math:`m` (a shared
deterministic multiplier cannot do better; more users, a looser tolerance, or randomising between
the two bracketing multipliers would).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hermes_core.rerank.exposure import exposure_by_group, relevance_by_group


@dataclass(frozen=True)
class ParityResult:
    """The outcome of :func:`exposure_parity_rerank`.

    ``slates (B, K)``: candidate column indices, best first, ``-1`` in empty slots, at
    ``multiplier`` (when not converged: at the multiplier tried whose ratio was nearest 1).
    ``boosted_cohort``: ``"a"`` (``in_cohort`` true), ``"b"`` or ``None`` (no boost applied).
    ``ratio``: :math:`\\mathrm{DER}(A, B)` of ``slates`` (``nan`` when undefined).
    ``multiplier_path`` and ``ratio_path``: every :math:`m` tried, in order, starting at 1, and its ratio.
    """

    slates: np.ndarray
    multiplier: float
    boosted_cohort: str | None
    ratio: float
    multiplier_path: np.ndarray
    ratio_path: np.ndarray
    converged: bool
    reason: str


def top_k_slates(scores: np.ndarray, mask: np.ndarray, slate_size: int) -> np.ndarray:
    """``(B, slate_size)`` column indices of each row's highest real scores, ties by lower index, ``-1``
    where a row has fewer real candidates."""
    order = np.argsort(np.where(mask, -scores, np.inf), axis=1, kind="stable")[:, :slate_size]
    real = np.take_along_axis(mask, order, axis=1)
    return np.where(real, order, -1)


def cohort_exposure_ratio(
    slates: np.ndarray, relevance: np.ndarray, in_cohort: np.ndarray, mask: np.ndarray
) -> float:
    """:math:`\\mathrm{DER}(A, B)` of per-user ``slates (B, K)`` (column indices into the ``(B, N)``
    candidate arrays), ``inf`` when :math:`B` gets no exposure and ``nan`` when a cohort has zero
    relevance."""
    n_lists, n_candidates = relevance.shape
    group = np.where(in_cohort, 0, 1).ravel()  # (B * N,) cohort A = 0, B = 1
    flat_slates = np.where(slates >= 0, slates + n_candidates * np.arange(n_lists)[:, None], -1)
    exposure = exposure_by_group(flat_slates, group, 2)
    merit = relevance_by_group(relevance, group.reshape(relevance.shape), 2, mask)
    if not (merit > 0).all():
        return math.nan
    per_relevance = exposure / merit
    if per_relevance[1] == 0:
        return math.inf if per_relevance[0] > 0 else math.nan
    return float(per_relevance[0] / per_relevance[1])


def _check_inputs(
    scores: np.ndarray, relevance: np.ndarray, in_cohort: np.ndarray, mask: np.ndarray | None, slate_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, N), got shape {values.shape}")
    merit = np.asarray(relevance, dtype=np.float64)
    cohort = np.asarray(in_cohort)
    real = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask)
    for name, array in (("relevance", merit), ("in_cohort", cohort), ("mask", real)):
        if array.shape != values.shape:
            raise ValueError(f"{name} must have the shape of scores {values.shape}, got {array.shape}")
    if cohort.dtype != bool or real.dtype != bool:
        raise ValueError("in_cohort and mask must be bool arrays")
    if not np.isfinite(values[real]).all():
        raise ValueError("scores must be finite at every real candidate (mask True)")
    if not np.isfinite(merit[real]).all() or (merit[real] < 0).any():
        raise ValueError("relevance must be finite and >= 0 at every real candidate (mask True)")
    if slate_size < 1:
        raise ValueError(f"slate_size must be >= 1, got {slate_size}")
    return values, merit, cohort, real


def exposure_parity_rerank(
    scores: np.ndarray,
    relevance: np.ndarray,
    in_cohort: np.ndarray,
    slate_size: int,
    *,
    mask: np.ndarray | None = None,
    tolerance: float = 0.05,
    max_multiplier: float | None = None,
    max_iterations: int = 100,
) -> ParityResult:
    """Re-rank every user's top-``slate_size`` slate with one shared multiplier for the
    under-exposed cohort until :math:`|\\mathrm{DER}(A, B) - 1| \\le` ``tolerance`` (module docstring).

    ``scores``, ``relevance`` (``>= 0``), ``in_cohort`` (bool, cohort :math:`A`) and ``mask`` (bool,
    ``True`` at a real candidate) are ``(B, N)``. ``max_multiplier`` caps :math:`m` (default: the
    saturating boost, :math:`e^{\\text{score span} + 1}`). Never raises for an unreachable target:
    read ``converged`` and ``reason``.
    """
    values, merit, cohort, real = _check_inputs(scores, relevance, in_cohort, mask, slate_size)
    if max_multiplier is not None and not max_multiplier > 1:
        raise ValueError(f"max_multiplier must be > 1, got {max_multiplier!r}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    betas: list[float] = []
    ratios: list[float] = []

    def rerank(beta: float, boost_cohort_a: bool) -> tuple[np.ndarray, float]:
        boosted = cohort if boost_cohort_a else ~cohort
        slates = top_k_slates(values + beta * boosted, real, slate_size)
        ratio = cohort_exposure_ratio(slates, merit, cohort, real)
        betas.append(beta)
        ratios.append(ratio)
        return slates, ratio

    def result(slates: np.ndarray, beta: float, cohort_name: str | None, converged: bool, reason: str) -> ParityResult:
        return ParityResult(
            slates=slates,
            multiplier=math.exp(beta),
            boosted_cohort=cohort_name,
            ratio=ratios[betas.index(beta)] if betas else math.nan,
            multiplier_path=np.exp(np.array(betas)),
            ratio_path=np.array(ratios),
            converged=converged,
            reason=reason,
        )

    slates, ratio = rerank(0.0, True)
    for name, present in (("a", real & cohort), ("b", real & ~cohort)):
        if not present.any():
            return result(slates, 0.0, None, False, f"cohort {name} is absent from the candidates: parity is undefined")
        if not merit[present].sum() > 0:
            return result(slates, 0.0, None, False, f"cohort {name} has total relevance 0: parity is undefined")
    if abs(ratio - 1.0) <= tolerance:
        return result(slates, 0.0, None, True, f"ratio {ratio:.4g} is within {tolerance} of parity at m = 1")
    boost_a = ratio < 1.0
    cohort_name = "a" if boost_a else "b"

    def deficit(r: float) -> float:
        """Positive while the boosted cohort is still under-exposed; non-increasing in the boost."""
        return 1.0 - r if boost_a else r - 1.0

    span = float(values[real].max() - values[real].min())
    beta_max = span + 1.0 if max_multiplier is None else math.log(max_multiplier)
    high_slates, high_ratio = rerank(beta_max, boost_a)
    if abs(high_ratio - 1.0) <= tolerance:
        best = (high_slates, beta_max)
    elif deficit(high_ratio) > tolerance:
        return result(
            high_slates, beta_max, cohort_name, False,
            f"parity unreachable: even the largest boost m = {math.exp(beta_max):.4g} of cohort {cohort_name} "
            f"leaves the ratio at {high_ratio:.4g} (started at {ratio:.4g}, tolerance {tolerance})",
        )
    else:
        best = None
    low, high = 0.0, beta_max
    low_slates, low_ratio = slates, ratio
    for _ in range(max_iterations):
        if best is not None:
            break
        middle = (low + high) / 2
        if middle in (low, high):
            break
        middle_slates, middle_ratio = rerank(middle, boost_a)
        if abs(middle_ratio - 1.0) <= tolerance:
            best = (middle_slates, middle)
        elif deficit(middle_ratio) > 0:
            low, low_slates, low_ratio = middle, middle_slates, middle_ratio
        else:
            high, high_slates, high_ratio = middle, middle_slates, middle_ratio
    if best is not None:
        beta = best[1]
        return result(
            best[0], beta, cohort_name, True,
            f"ratio {ratios[betas.index(beta)]:.4g} within {tolerance} of parity at m = {math.exp(beta):.6g} "
            f"(boosting cohort {cohort_name}, {len(betas)} evaluations)",
        )
    nearer_low = abs(low_ratio - 1.0) <= abs(high_ratio - 1.0)
    if (low + high) / 2 in (low, high):
        why = (
            f"no shared multiplier reaches parity within {tolerance}: the ratio jumps from {low_ratio:.4g} "
            f"to {high_ratio:.4g} at m = {math.exp(high):.6g} (boosting cohort {cohort_name})"
        )
    else:
        why = (
            f"no multiplier within tolerance {tolerance} after {max_iterations} bisection steps: ratio "
            f"{low_ratio:.4g} at m = {math.exp(low):.6g}, {high_ratio:.4g} at m = {math.exp(high):.6g} "
            f"(boosting cohort {cohort_name})"
        )
    return result(
        low_slates if nearer_low else high_slates, low if nearer_low else high, cohort_name, False, why
    )
