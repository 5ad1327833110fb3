"""Standard (slate-level) IPS: one importance weight for the whole slate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.inputs import SlateInputs


@dataclass(frozen=True)
class StandardIPS(SlateOffPolicyEstimator):
    """Standard Inverse Propensity Scoring over whole slates (SIPS).

    .. math::

        \\hat V_{\\mathrm{SIPS}} = \\frac{1}{n} \\sum_{i=1}^{n} w_{i,1:K} \\sum_{k=1}^{K} \\gamma_k\\, r_{ik},
        \\qquad w_{i,1:K} = \\frac{\\pi(s_i \\mid x_i)}{\\mu(s_i \\mid x_i)}

    Unbiased with no assumption on how the reward depends on the slate (only that :math:`\\mu`
    covers :math:`\\pi`'s slates); its weight is the largest of the slate estimators, so its
    variance grows with the number of slates.

    References
    ----------
    Haruka Kiyohara, Yuta Saito, Tatsuya Matsuhiro, Yusuke Narita, Nobuyuki Shimizu and Yasuo
    Yamamoto. "Doubly Robust Off-Policy Evaluation for Ranking Policies under the Cascade
    Behavior Model." WSDM 2022, Sec. 2 (the standard IPS baseline); Daniel G. Horvitz and
    Donovan J. Thompson, JASA 1952, applied to slates as actions.
    """

    name: ClassVar[str] = "sips"

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        return RoundTerms(correction=inputs.prefix_weight[:, -1] * inputs.slate_reward)
