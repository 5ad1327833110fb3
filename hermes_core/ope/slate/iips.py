"""Independent IPS: reweight each position by its own item-position propensity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.inputs import SlateInputs


@dataclass(frozen=True)
class IndependentIPS(SlateOffPolicyEstimator):
    """Independent Inverse Propensity Scoring (IIPS).

    .. math::

        \\hat V_{\\mathrm{IIPS}} = \\frac{1}{n} \\sum_{i=1}^{n} \\sum_{k=1}^{K} \\gamma_k\\,
            \\frac{\\pi(a_{ik} \\text{ at } k \\mid x_i)}{\\mu(a_{ik} \\text{ at } k \\mid x_i)}\\, r_{ik}

    Unbiased when the expected reward at position :math:`k` depends on the slate only through
    the item shown there, :math:`\\mathbb{E}[r_k \\mid x, s] = q_k(x, a_k)` (the
    item-position click model, e.g. the position-based model), and :math:`\\mu`'s marginals
    cover :math:`\\pi`'s. Its weights are marginal, not joint, so its variance does not grow
    with the number of slates; it is biased when a click at :math:`k` depends on the items
    above (cascade behaviour).

    References
    ----------
    Shuai Li, Yasin Abbasi-Yadkori, Branislav Kveton, S. Muthukrishnan, Vishwa Vinay and Zheng
    Wen. "Offline Evaluation of Ranking Policies with Click Models." KDD 2018 (the item-position
    estimator). Haruka Kiyohara et al. "Doubly Robust Off-Policy Evaluation for Ranking Policies
    under the Cascade Behavior Model." WSDM 2022, Sec. 2 (as IIPS, with position weights).
    """

    name: ClassVar[str] = "iips"
    reward_assumption: ClassVar[str] = "item-position"

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        return RoundTerms(correction=(inputs.marginal_weight * inputs.reward) @ inputs.position_weights)
