"""Doubly robust estimators: the reward model's value plus an importance-weighted correction of
its residual on the logged action, and four ways to tame that correction's variance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs


@dataclass(frozen=True)
class DoublyRobust(OffPolicyEstimator):
    """Doubly Robust (DR).

    .. math::

        \\hat V_{\\mathrm{DR}} = \\frac{1}{n} \\sum_{i=1}^{n} \\Big[ \\hat q(x_i, \\pi_e)
            + w_i \\big(r_i - \\hat q(x_i, a_i, k_i)\\big) \\Big],
        \\qquad \\hat q(x_i, \\pi_e) = \\sum_a \\pi_e(a \\mid x_i, k_i)\\, \\hat q(x_i, a, k_i)

    Unbiased when the propensities are right, whatever :math:`\\hat q`; its variance shrinks as
    :math:`\\hat q` improves. Fit :math:`\\hat q` by cross-fitting
    (:func:`hermes_core.ope.reward_model.cross_fitted_reward_model`) so that a round's residual
    does not come from a model that saw it.

    References
    ----------
    Miroslav Dudík, Dumitru Erhan, John Langford and Lihong Li. "Doubly Robust Policy
    Evaluation and Optimization." Statistical Science 29(4), 2014, Eq. (2.3).
    """

    name: ClassVar[str] = "dr"
    uses_reward_model: ClassVar[bool] = True

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        return RoundTerms(correction=inputs.weighted_residual, direct=inputs.model_value_of_target)


@dataclass(frozen=True)
class SelfNormalizedDoublyRobust(OffPolicyEstimator):
    """Self-normalised Doubly Robust (SNDR): DR with the correction divided by the mean weight.

    .. math::

        \\hat V_{\\mathrm{SNDR}} = \\frac{1}{n} \\sum_{i=1}^{n} \\hat q(x_i, \\pi_e)
            + \\frac{\\sum_{i} w_i \\big(r_i - \\hat q(x_i, a_i, k_i)\\big)}{\\sum_i w_i}

    References
    ----------
    Nathan Kallus and Masatoshi Uehara. "Intrinsically Efficient, Stable, and Bounded
    Off-Policy Evaluation for Reinforcement Learning." NeurIPS 2019. (Same form as OBP's
    ``SelfNormalizedDoublyRobust``.)
    """

    name: ClassVar[str] = "sndr"
    uses_reward_model: ClassVar[bool] = True

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        return RoundTerms(
            correction=inputs.weighted_residual,
            direct=inputs.model_value_of_target,
            normaliser=inputs.importance_weight,
        )


@dataclass(frozen=True)
class ClippedDoublyRobust(OffPolicyEstimator):
    """Doubly Robust with weight clipping (DR-clip): DR whose correction uses
    :math:`\\min\\{w_i, \\lambda\\}`.

    .. math::

        \\hat V_{\\mathrm{DRclip}} = \\frac{1}{n} \\sum_{i=1}^{n} \\Big[ \\hat q(x_i, \\pi_e)
            + \\min\\{w_i, \\lambda\\} \\big(r_i - \\hat q(x_i, a_i, k_i)\\big) \\Big]

    :math:`\\lambda = \\infty` gives DR; :math:`\\lambda \\to 0` gives DM. Unlike Switch-DR, a
    large weight keeps a (clipped) correction instead of losing it.

    Parameters
    ----------
    clip_lambda
        Largest importance weight kept in the correction, :math:`\\lambda > 0`; ``math.inf``
        disables clipping.

    References
    ----------
    Yi Su, Maria Dimakopoulou, Akshay Krishnamurthy and Miroslav Dudík. "Doubly Robust
    Off-Policy Evaluation with Shrinkage." ICML 2020, Sec. 2 (weight clipping in DR); OBP's
    ``DoublyRobust(lambda_=...)``, whose ``lambda_`` clips the weight the same way.
    """

    clip_lambda: float = math.inf
    name: ClassVar[str] = "dr-clip"
    uses_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.clip_lambda > 0:
            raise ValueError(f"clip_lambda must be > 0, got {self.clip_lambda!r}")

    @property
    def unbiased_by_design(self) -> bool:
        return math.isinf(self.clip_lambda)

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        direct = inputs.model_value_of_target
        if math.isinf(self.clip_lambda):
            return RoundTerms(correction=inputs.weighted_residual, direct=direct)
        weight = np.minimum(inputs.importance_weight, self.clip_lambda)
        return RoundTerms(correction=weight * inputs.model_residual, direct=direct)


@dataclass(frozen=True)
class SwitchDoublyRobust(OffPolicyEstimator):
    """Switch Doubly Robust (Switch-DR): drop the correction where the weight is too large.

    .. math::

        \\hat V_{\\mathrm{SwitchDR}} = \\frac{1}{n} \\sum_{i=1}^{n} \\Big[ \\hat q(x_i, \\pi_e)
            + \\mathbb{1}\\{w_i \\le \\tau\\}\\, w_i \\big(r_i - \\hat q(x_i, a_i, k_i)\\big) \\Big]

    :math:`\\tau = \\infty` gives DR; :math:`\\tau \\to 0` gives DM (no weight is
    :math:`\\le \\tau` except zero weights, whose correction is zero anyway).

    Parameters
    ----------
    tau
        Switching threshold on the importance weight, :math:`\\tau \\ge 0`.

    References
    ----------
    Yu-Xiang Wang, Alekh Agarwal and Miroslav Dudík. "Optimal and Adaptive Off-policy
    Evaluation in Contextual Bandits." ICML 2017, Sec. 4.1 (the DR form used by OBP).
    """

    tau: float = math.inf
    name: ClassVar[str] = "switch-dr"
    uses_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.tau >= 0:
            raise ValueError(f"tau must be >= 0, got {self.tau!r}")

    @property
    def unbiased_by_design(self) -> bool:
        return math.isinf(self.tau)

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        keep = inputs.importance_weight <= self.tau
        return RoundTerms(
            correction=np.where(keep, inputs.weighted_residual, 0.0),
            direct=inputs.model_value_of_target,
        )


@dataclass(frozen=True)
class DoublyRobustWithShrinkage(OffPolicyEstimator):
    """Doubly Robust with optimistic shrinkage (DRos).

    .. math::

        \\hat V_{\\mathrm{DRos}} = \\frac{1}{n} \\sum_{i=1}^{n} \\Big[ \\hat q(x_i, \\pi_e)
            + \\hat w_\\lambda(x_i, a_i) \\big(r_i - \\hat q(x_i, a_i, k_i)\\big) \\Big],
        \\qquad \\hat w_\\lambda = \\frac{\\lambda\\, w}{w^2 + \\lambda}

    :math:`\\lambda = 0` gives DM; :math:`\\lambda \\to \\infty` gives DR.

    Parameters
    ----------
    shrinkage_lambda
        :math:`\\lambda \\ge 0`; ``math.inf`` means no shrinkage.

    References
    ----------
    Yi Su, Maria Dimakopoulou, Akshay Krishnamurthy and Miroslav Dudík. "Doubly Robust
    Off-Policy Evaluation with Shrinkage." ICML 2020, Sec. 3.2 (optimistic shrinkage).
    """

    shrinkage_lambda: float = math.inf
    name: ClassVar[str] = "dr-os"
    uses_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.shrinkage_lambda >= 0:
            raise ValueError(f"shrinkage_lambda must be >= 0, got {self.shrinkage_lambda!r}")

    @property
    def unbiased_by_design(self) -> bool:
        return math.isinf(self.shrinkage_lambda)

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        direct = inputs.model_value_of_target
        if math.isinf(self.shrinkage_lambda):
            return RoundTerms(correction=inputs.weighted_residual, direct=direct)
        weight = inputs.importance_weight
        lam = self.shrinkage_lambda
        shrunk = np.zeros_like(weight)
        # lambda = 0 and w = 0 give 0/0: the limit of the shrunk weight is 0 in both cases.
        np.divide(lam * weight, weight**2 + lam, out=shrunk, where=(weight != 0) & (lam != 0))
        return RoundTerms(correction=shrunk * inputs.model_residual, direct=direct)
