"""Importance weighting: reweight logged rewards by how much more the target policy likes them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs


@dataclass(frozen=True)
class InverseProbabilityWeighting(OffPolicyEstimator):
    """Inverse Probability Weighting (IPW/IPS) with optional weight clipping.

    .. math::

        \\hat V_{\\mathrm{IPW}} = \\frac{1}{n} \\sum_{i=1}^{n} \\min\\{w_i, \\lambda\\}\\, r_i,
        \\qquad w_i = \\frac{\\pi_e(a_i \\mid x_i, k_i)}{\\pi_b(a_i \\mid x_i, k_i)}

    Unbiased for :math:`\\lambda = \\infty` (the default) when :math:`\\pi_b` covers
    :math:`\\pi_e`; clipping trades bias for variance.

    Parameters
    ----------
    clip_lambda
        Largest importance weight kept, :math:`\\lambda > 0`; ``math.inf`` disables clipping.

    References
    ----------
    Daniel G. Horvitz and Donovan J. Thompson. "A Generalization of Sampling Without
    Replacement from a Finite Universe." JASA 47(260), 1952. Clipping: Léon Bottou et al.
    "Counterfactual Reasoning and Learning Systems." JMLR 14, 2013, Sec. 4.5.
    """

    clip_lambda: float = math.inf
    name: ClassVar[str] = "ipw"

    def __post_init__(self) -> None:
        if not self.clip_lambda > 0:
            raise ValueError(f"clip_lambda must be > 0, got {self.clip_lambda!r}")

    @property
    def unbiased_by_design(self) -> bool:
        return math.isinf(self.clip_lambda)

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        if math.isinf(self.clip_lambda):
            return RoundTerms(correction=inputs.weighted_reward)
        weight = np.minimum(inputs.importance_weight, self.clip_lambda)
        return RoundTerms(correction=weight * inputs.reward)


@dataclass(frozen=True)
class SelfNormalizedInverseProbabilityWeighting(OffPolicyEstimator):
    """Self-normalised IPW (SNIPW): IPW divided by the mean importance weight.

    .. math::

        \\hat V_{\\mathrm{SNIPW}} = \\frac{\\sum_{i=1}^{n} w_i r_i}{\\sum_{i=1}^{n} w_i}

    A convex combination of observed rewards, so it never leaves their range; consistent but
    biased in finite samples. Round rewards are :math:`w_i r_i / \\bar w`.

    References
    ----------
    Adith Swaminathan and Thorsten Joachims. "The Self-Normalized Estimator for Counterfactual
    Learning." NeurIPS 2015, Eq. (3).
    """

    name: ClassVar[str] = "snipw"

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        return RoundTerms(correction=inputs.weighted_reward, normaliser=inputs.importance_weight)


@dataclass(frozen=True)
class SubGaussianInverseProbabilityWeighting(OffPolicyEstimator):
    """Sub-Gaussian IPW (SG-IPW): IPW with the weights shrunk by a power mean.

    .. math::

        \\hat V_{\\mathrm{SGIPW}} = \\frac{1}{n} \\sum_{i=1}^{n} w_{\\lambda, i}\\, r_i,
        \\qquad w_{\\lambda, i} = \\frac{w_i}{(1 - \\lambda) + \\lambda\\, w_i}

    :math:`\\lambda = 0` gives IPW; :math:`\\lambda = 1` gives weight 1 to every round with
    :math:`w_i > 0` (the logged click rate on the target's support). Every shrunk weight is at most
    :math:`1 / \\lambda`, so the estimate is sub-Gaussian for :math:`\\lambda` of order
    :math:`n^{-1/2}` (Metelli et al., Thm. 5.1). A zero weight stays 0 (also at
    :math:`\\lambda = 1`, where the formula reads 0/0).

    Parameters
    ----------
    shrinkage_lambda
        :math:`\\lambda \\in [0, 1]`, OBP's ``lambda_`` with the same convention.

    References
    ----------
    Alberto Maria Metelli, Alessio Russo and Marcello Restelli. "Subgaussian and Differentiable
    Importance Sampling for Off-Policy Evaluation and Learning." NeurIPS 2021, Eq. (6) (the
    power mean of :math:`w` and 1 with exponent :math:`s = -1`). The convention
    :math:`w / (1 - \\lambda + \\lambda w)` is that of OBP 0.5.5's
    ``SubGaussianInverseProbabilityWeighting``.
    """

    shrinkage_lambda: float = 0.0
    name: ClassVar[str] = "ipw-subgauss"

    def __post_init__(self) -> None:
        if not 0.0 <= self.shrinkage_lambda <= 1.0:
            raise ValueError(f"shrinkage_lambda must lie in [0, 1], got {self.shrinkage_lambda!r}")

    @property
    def unbiased_by_design(self) -> bool:
        return self.shrinkage_lambda == 0.0

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        weight = inputs.importance_weight
        lam = self.shrinkage_lambda
        denominator = (1.0 - lam) + lam * weight
        shrunk = np.zeros_like(weight)
        np.divide(weight, denominator, out=shrunk, where=weight != 0)
        return RoundTerms(correction=shrunk * inputs.reward)
