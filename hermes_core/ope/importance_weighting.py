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
