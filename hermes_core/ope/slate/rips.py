"""Reward-interaction IPS: reweight each position by the propensity of the prefix above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.inputs import SlateInputs


@dataclass(frozen=True)
class RewardInteractionIPS(SlateOffPolicyEstimator):
    """Reward-interaction Inverse Propensity Scoring (RIPS).

    .. math::

        \\hat V_{\\mathrm{RIPS}} = \\frac{1}{n} \\sum_{i=1}^{n} \\sum_{k=1}^{K} \\gamma_k\\,
            w_{i,1:k}\\, r_{ik},
        \\qquad w_{i,1:k} = \\frac{\\pi(a_{i1}, \\dots, a_{ik} \\mid x_i)}{\\mu(a_{i1}, \\dots, a_{ik} \\mid x_i)}

    Unbiased under the cascade assumption: the expected reward at position :math:`k` depends on
    the slate only through the prefix :math:`a_{1:k}`,
    :math:`\\mathbb{E}[r_k \\mid x, s] = q_k(x, a_{1:k})`, which holds for cascade click models
    and, a fortiori, for the position-based model (so RIPS and IIPS agree in expectation when
    rewards do not interact). The weight grows with :math:`k`, between IIPS's and the whole
    slate's.

    References
    ----------
    James McInerney, Brian Brost, Praveen Chandar, Rishabh Mehrotra and Ben Carterette.
    "Counterfactual Evaluation of Slate Recommendations with Sequential Reward Interactions."
    KDD 2020. Haruka Kiyohara, Yuta Saito, Tatsuya Matsuhiro, Yusuke Narita, Nobuyuki Shimizu
    and Yasuo Yamamoto. "Doubly Robust Off-Policy Evaluation for Ranking Policies under the
    Cascade Behavior Model." WSDM 2022, Sec. 2 (RIPS under the cascade assumption).
    """

    name: ClassVar[str] = "rips"
    reward_assumption: ClassVar[str] = "cascade"

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        return RoundTerms(correction=(inputs.prefix_weight * inputs.reward) @ inputs.position_weights)
