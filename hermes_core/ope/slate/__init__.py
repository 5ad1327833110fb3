"""Slate off-policy estimators: one module per estimator, all on :class:`SlateInputs`.

A logged request shows a slate of ``K`` positions and records a reward per position; every
estimator returns one row of :class:`~hermes_core.ope.base.RoundTerms` per request, so the
request-level intervals of :mod:`hermes_core.ope.intervals` apply unchanged. Which estimator is
unbiased depends on how rewards depend on the slate:

- ``iips`` (:class:`IndependentIPS`): reward at ``k`` depends on the item at ``k`` only;
- ``rips`` (:class:`RewardInteractionIPS`), ``cascade_dr`` (:class:`CascadeDoublyRobust`): on the
  items at positions ``1..k`` (cascade);
- ``standard_ips`` (:class:`StandardIPS`): on anything;
- ``pseudo_inverse`` (:class:`PseudoInverse`): the slate reward is additive over positions, with
  a weight that must match the logging design.
"""

from __future__ import annotations

from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.cascade_dr import CascadeDoublyRobust
from hermes_core.ope.slate.iips import IndependentIPS
from hermes_core.ope.slate.inputs import SlateInputs
from hermes_core.ope.slate.pseudo_inverse import (
    PseudoInverse,
    factored_pseudo_inverse_weight,
    pseudo_inverse_weight,
    uniform_pseudo_inverse_weight,
)
from hermes_core.ope.slate.rips import RewardInteractionIPS
from hermes_core.ope.slate.standard_ips import StandardIPS

SLATE_ESTIMATORS: dict[str, type[SlateOffPolicyEstimator]] = {
    "iips": IndependentIPS,
    "rips": RewardInteractionIPS,
    "sips": StandardIPS,
    "cascade-dr": CascadeDoublyRobust,
    "pi": PseudoInverse,
}
"""Slate estimator classes by name."""

__all__ = [
    "SLATE_ESTIMATORS",
    "CascadeDoublyRobust",
    "IndependentIPS",
    "PseudoInverse",
    "RewardInteractionIPS",
    "SlateInputs",
    "SlateOffPolicyEstimator",
    "StandardIPS",
    "factored_pseudo_inverse_weight",
    "pseudo_inverse_weight",
    "uniform_pseudo_inverse_weight",
]
