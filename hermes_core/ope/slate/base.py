"""What every slate estimator shares: one row of :class:`~hermes_core.ope.base.RoundTerms` per
logged request.

A slate estimate is a mean over requests of a per-request sum over positions, so each request
contributes one row of round terms. The request, not the (request, position) pair, is then the
independent unit of :mod:`hermes_core.ope.intervals`: its bootstrap resamples requests, as it
must, since the positions of one slate share a context and a jointly drawn slate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.slate.inputs import SlateInputs


@dataclass(frozen=True)
class SlateOffPolicyEstimator:
    """Base of every slate estimator: a frozen dataclass of hyperparameters with one method,
    :meth:`round_terms`, from which the round rewards and the policy value follow."""

    name: ClassVar[str] = "slate-estimator"
    uses_reward_model: ClassVar[bool] = False
    reward_assumption: ClassVar[str] = "none"
    """What the estimator needs of the expected reward :math:`\\mathbb{E}[r_k \\mid x, s]` to be
    unbiased: ``"none"``; ``"cascade"`` (a function of :math:`a_1, \\dots, a_k`);
    ``"item-position"`` (of :math:`a_k` alone); ``"additive"`` (the slate reward is a sum over
    (position, item) pairs)."""

    @property
    def unbiased_by_design(self) -> bool:
        """Whether the estimator is unbiased with correct propensities and full support alone,
        whatever the user's behaviour (only :class:`StandardIPS`); the others are unbiased only
        under their :attr:`reward_assumption`."""
        return self.reward_assumption == "none"

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        """The per-request pieces of this estimator, one row per request."""
        raise NotImplementedError

    def estimate_round_rewards(self, inputs: SlateInputs) -> np.ndarray:
        """Per-request rewards, shape (n,), whose mean is :meth:`estimate_policy_value`."""
        return self.round_terms(inputs).round_rewards()

    def estimate_policy_value(self, inputs: SlateInputs) -> float:
        """The estimate :math:`\\hat V(\\pi)` of the position-weighted reward per request."""
        return self.round_terms(inputs).estimate()
