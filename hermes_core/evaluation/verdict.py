"""Beats, ties or loses: one rule for every comparison a notebook states.

A notebook never says "A beats B" from two point estimates. It computes the difference
:math:`\\Delta = m_A - m_B` of a quality measure on paired units (the same users, the same logs,
the same requests) with a confidence interval :math:`[\\Delta_{lo}, \\Delta_{hi}]` at level
:math:`1 - \\alpha`, and

* A **beats** B when the interval lies entirely on the better side of 0,
* A **loses** to B when it lies entirely on the worse side,
* they **tie** when it contains 0: the difference is inside the noise.

"Better" is higher for a quality (NDCG, recall) and lower for an error (relative error, RMSE):
``higher_is_better``. The interval usually comes from :func:`hermes_core.evaluation.bootstrap.paired_bootstrap`, the
percentile bootstrap over paired units (Efron & Tibshirani 1993, ch. 13); callers that already hold an
interval (a model comparison over users, the gate's uplift) use :func:`compare_interval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["beats", "ties with", "loses to"]


@dataclass(frozen=True)
class Comparison:
    """The difference A − B of a measure, its interval and the verdict it supports."""

    difference: float
    ci_low: float
    ci_high: float
    level: float
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if not all(np.isfinite((self.difference, self.ci_low, self.ci_high))):
            raise ValueError(f"comparison needs finite numbers, got difference {self.difference} and interval "
                             f"[{self.ci_low}, {self.ci_high}] (too few paired units?)")
        if not self.ci_low <= self.ci_high:
            raise ValueError(f"interval [{self.ci_low}, {self.ci_high}] has its ends reversed")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {self.level}")

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0.0 or self.ci_high < 0.0

    @property
    def verdict(self) -> Verdict:
        """``beats`` / ``ties with`` / ``loses to``, read as "A <verdict> B"."""
        if not self.excludes_zero:
            return "ties with"
        a_higher = self.ci_low > 0.0
        return "beats" if a_higher == self.higher_is_better else "loses to"

    def interval_text(self, digits: int = 3, percent: bool = False) -> str:
        """``+0.012 [+0.003, +0.021]`` (or in percentage points with ``percent``)."""
        scale, unit = (100.0, " pp") if percent else (1.0, "")
        return (f"{scale * self.difference:+.{digits}f}{unit} [{scale * self.ci_low:+.{digits}f}, "
                f"{scale * self.ci_high:+.{digits}f}]")

    def sentence(self, name_a: str, name_b: str, measure: str, digits: int = 3, percent: bool = False) -> str:
        """One sentence that states the verdict and the evidence, e.g.
        ``fused ties with concat on NDCG@10: +0.004 [-0.003, +0.011] (95% interval, includes 0)``."""
        where = "includes 0" if not self.excludes_zero else "excludes 0"
        return (f"{name_a} {self.verdict} {name_b} on {measure}: difference {self.interval_text(digits, percent)} "
                f"({self.level:.0%} interval, {where})")


def compare_interval(difference: float, ci_low: float, ci_high: float, level: float,
                     higher_is_better: bool = True) -> Comparison:
    """A :class:`Comparison` from an interval computed elsewhere."""
    return Comparison(float(difference), float(ci_low), float(ci_high), float(level), higher_is_better)


def truth_in_interval(truth: float, ci_low: float, ci_high: float) -> bool:
    """Whether a known truth lies inside ``[ci_low, ci_high]`` (ends included)."""
    return bool(ci_low <= truth <= ci_high)


def coverage_sentence(truth: float, ci_low: float, ci_high: float, what: str, digits: int = 4) -> str:
    """Say whether an interval covers the truth, and by how much it misses when it does not."""
    if truth_in_interval(truth, ci_low, ci_high):
        return f"the interval [{ci_low:+.{digits}f}, {ci_high:+.{digits}f}] contains the true {what} {truth:+.{digits}f}"
    gap = ci_low - truth if truth < ci_low else truth - ci_high
    side = "below" if truth < ci_low else "above"
    return (f"the interval [{ci_low:+.{digits}f}, {ci_high:+.{digits}f}] MISSES the true {what} {truth:+.{digits}f} "
            f"(the truth lies {gap:.{digits}f} {side} it)")
