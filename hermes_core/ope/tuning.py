"""Data-driven choice of an estimator's hyperparameter by SLOPE (Lepski's principle)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy import stats

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs

SLOPE_CONSTANT = math.sqrt(6.0) - 1.0
"""The constant :math:`C = \\sqrt{6} - 1` of SLOPE's interval test (Su et al., 2020b, Alg. 1)."""


def slope_select(terms: Sequence[RoundTerms], delta: float = 0.05) -> int:
    """Index of the candidate that SLOPE selects.

    Each candidate :math:`j` gets an estimate :math:`\\hat\\theta_j` and a confidence width
    :math:`c_j = t_{n-1, 1-\\delta}\\, s_j / \\sqrt{n}` (Student-t, from the round rewards).
    Candidates are visited from the widest to the narrowest width (least to most biased);
    candidate :math:`i` is accepted while
    :math:`|\\hat\\theta_j - \\hat\\theta_i| \\le c_i + C c_j` for every accepted :math:`j`, and the
    last accepted one is returned.

    References
    ----------
    Yi Su, Pavithra Srinath and Akshay Krishnamurthy. "Adaptive Estimator Selection for
    Off-Policy Evaluation." ICML 2020, Alg. 1; the Student-t widths and the sort by width follow
    George Tucker and Jonathan Lee, "Improved Estimator Selection for Off-Policy Evaluation",
    2021, as in OBP's ``BaseOffPolicyEstimatorTuning._tune_hyperparam_with_slope``.
    """
    if not terms:
        raise ValueError("slope_select needs at least one candidate")
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    n = terms[0].n_rounds
    t_quantile = float(stats.t(max(n - 1, 1)).ppf(1.0 - delta))
    estimates, widths = [], []
    for candidate in terms:
        rewards = candidate.round_rewards()
        estimates.append(float(rewards.mean()))
        widths.append(t_quantile * float(np.sqrt(np.var(rewards) / max(n - 1, 1))))
    order = np.argsort(widths, kind="stable")[::-1]
    accepted: list[int] = []
    for index in order:
        consistent = all(
            abs(estimates[j] - estimates[index]) <= widths[index] + SLOPE_CONSTANT * widths[j]
            for j in accepted
        )
        if not consistent:
            break
        accepted.append(int(index))
    return accepted[-1]


@dataclass(frozen=True)
class SlopeTuned(OffPolicyEstimator):
    """An estimator family whose hyperparameter SLOPE picks on each input (see
    :func:`slope_select`); e.g. Switch-DR over several :math:`\\tau`.

    The choice is made once on the full sample; intervals built from :meth:`round_terms` keep
    that choice fixed across bootstrap resamples.
    """

    candidates: tuple[OffPolicyEstimator, ...] = field(default_factory=tuple)
    delta: float = 0.05
    label: str = "slope"
    name: ClassVar[str] = "slope"

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError("SlopeTuned needs at least one candidate estimator")

    @property
    def uses_reward_model(self) -> bool:  # type: ignore[override]
        return any(candidate.uses_reward_model for candidate in self.candidates)

    def select(self, inputs: OpeInputs) -> OffPolicyEstimator:
        """The candidate SLOPE selects on these inputs."""
        terms = [candidate.round_terms(inputs) for candidate in self.candidates]
        return self.candidates[slope_select(terms, self.delta)]

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        terms = [candidate.round_terms(inputs) for candidate in self.candidates]
        return terms[slope_select(terms, self.delta)]
