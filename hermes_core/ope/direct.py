"""The Direct Method: trust the reward model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs


@dataclass(frozen=True)
class DirectMethod(OffPolicyEstimator):
    """Direct Method (DM): the reward model's value of the target policy.

    .. math::

        \\hat V_{\\mathrm{DM}} = \\frac{1}{n} \\sum_{i=1}^{n} \\sum_{a}
            \\pi_e(a \\mid x_i, k_i)\\, \\hat q(x_i, a, k_i)

    Unbiased only when :math:`\\hat q` is; low variance. The position-wise form evaluates the
    target policy at the slot :math:`k_i` of each logged round, as OBP does.

    References
    ----------
    Alina Beygelzimer and John Langford. "The Offset Tree for Learning with Partial Labels."
    KDD 2009. Miroslav Dudík, Dumitru Erhan, John Langford and Lihong Li. "Doubly Robust
    Policy Evaluation and Optimization." Statistical Science 29(4), 2014, Sec. 2.
    """

    name: ClassVar[str] = "dm"
    uses_reward_model: ClassVar[bool] = True

    @property
    def unbiased_by_design(self) -> bool:
        return False  # as biased as the reward model

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        value = inputs.model_value_of_target
        return RoundTerms(correction=value)
