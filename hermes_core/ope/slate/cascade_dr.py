"""Cascade doubly robust: RIPS with a reward model as a control variate at every position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.inputs import SlateInputs


@dataclass(frozen=True)
class CascadeDoublyRobust(SlateOffPolicyEstimator):
    """Cascade Doubly Robust (Cascade-DR) with a position-wise reward model.

    .. math::

        \\hat V_{\\mathrm{CascadeDR}} = \\frac{1}{n} \\sum_{i=1}^{n} \\sum_{k=1}^{K} \\gamma_k
            \\Big[ w_{i,1:k} \\big(r_{ik} - \\hat q(x_i, a_{ik}, k)\\big)
            + w_{i,1:k-1} \\sum_{a} \\pi(a \\text{ at } k \\mid x_i, a_{i,1:k-1})\\, \\hat q(x_i, a, k) \\Big],

    with :math:`w_{i,1:k}` the prefix weight of RIPS and :math:`w_{i,1:0} = 1`.

    Unbiased under the cascade assumption (:math:`\\mathbb{E}[r_k \\mid x, s] = q_k(x, a_{1:k})`)
    *whatever* :math:`\\hat q` is: given the prefix :math:`a_{1:k-1}`, the logging policy's
    expectation of :math:`w_{1:k}\\, \\hat q(x, a_k, k)` is
    :math:`w_{1:k-1} \\sum_a \\pi(a \\text{ at } k \\mid x, a_{1:k-1})\\, \\hat q(x, a, k)`, so the
    model terms cancel in mean and only RIPS's mean remains (this needs :math:`\\mu(a \\mid
    a_{1:k-1}) > 0` wherever :math:`\\pi(a \\mid a_{1:k-1}) > 0`). A good :math:`\\hat q` only
    lowers the variance; :math:`\\hat q \\equiv 0` gives RIPS exactly.

    Kiyohara et al. use a reward model :math:`\\hat Q_k(x, a_{1:k})` of the position-weighted
    reward still to come from position :math:`k` on, fitted recursively, which can depend on the
    whole prefix. Here :math:`\\hat q(x, a, k)` is position-wise and models the reward at
    :math:`k` alone: it is their estimator with :math:`\\hat Q_k(x, a_{1:k}) = \\gamma_k\\,
    \\hat q(x, a_k, k)`. Unbiasedness is unchanged; the variance reduction is smaller when
    rewards do interact, since such a :math:`\\hat q` cannot see the prefix.

    Round terms: ``direct`` is the model part :math:`\\sum_k \\gamma_k w_{i,1:k-1} \\hat q(x_i,
    \\pi, k)`, ``correction`` the weighted residuals :math:`\\sum_k \\gamma_k w_{i,1:k}(r_{ik} -
    \\hat q(x_i, a_{ik}, k))`.

    References
    ----------
    Haruka Kiyohara, Yuta Saito, Tatsuya Matsuhiro, Yusuke Narita, Nobuyuki Shimizu and Yasuo
    Yamamoto. "Doubly Robust Off-Policy Evaluation for Ranking Policies under the Cascade
    Behavior Model." WSDM 2022, Sec. 3.1 (Cascade-DR). The form follows the per-decision doubly
    robust estimator of Nan Jiang and Lihong Li, "Doubly Robust Off-policy Value Evaluation for
    Reinforcement Learning", ICML 2016, with positions as time steps.
    """

    name: ClassVar[str] = "cascade-dr"
    reward_assumption: ClassVar[str] = "cascade"
    uses_reward_model: ClassVar[bool] = True

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        model = inputs.require_reward_model(self.name)  # (n, C, K)
        conditional = inputs.require_target_conditional(self.name)  # (n, K, C)
        n, len_list = inputs.reward.shape
        positions = np.arange(len_list)
        model_at_shown = model[np.arange(n)[:, None], inputs.slate, positions[None, :]]  # (n, K)
        model_of_target = np.einsum("ikc,ick->ik", conditional, model)  # (n, K)
        weight = inputs.prefix_weight
        weight_above = np.concatenate([np.ones((n, 1)), weight[:, :-1]], axis=1)  # w_{1:k-1}
        gamma = inputs.position_weights
        return RoundTerms(
            correction=(weight * (inputs.reward - model_at_shown)) @ gamma,
            direct=(weight_above * model_of_target) @ gamma,
        )
