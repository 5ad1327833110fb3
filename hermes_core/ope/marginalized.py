"""Marginalised IPS: importance weights over action categories instead of actions.

When many actions share a category (an action embedding) and the reward depends on an action
only through its category, weighting by how much more the target policy likes the *category*
removes the variance that comes from which action of the category was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import SUM_TOLERANCE, OpeInputs, OPEInputError


def _as_behaviour(behaviour_action_dist: object, inputs: OpeInputs) -> np.ndarray:
    """Validated behaviour distribution, (n_actions, len_list) or (n, n_actions, len_list)."""
    name = "behaviour_action_dist"
    dist = np.asarray(behaviour_action_dist, dtype=np.float64)
    per_round = (inputs.n_rounds, inputs.n_actions, inputs.len_list)
    if dist.shape not in (per_round[1:], per_round):
        raise OPEInputError(
            name, None, f"must have shape (n_actions, len_list) = {per_round[1:]} or (n, n_actions, len_list) = "
            f"{per_round}, got {dist.shape}"
        )  # fmt: skip
    cube = np.broadcast_to(dist, per_round)
    bad = ~np.isfinite(cube) | (cube < 0)
    if bad.any():
        row = int(np.argmax(bad.reshape(inputs.n_rounds, -1).any(axis=1)))
        raise OPEInputError(name, row, "is negative or not finite")
    sums = dist.sum(axis=-2)  # (len_list,) or (n, len_list)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        row = None if dist.ndim == 2 else int(np.argmax(off.any(axis=1)))
        raise OPEInputError(name, row, "probabilities over actions do not sum to 1 at some position")
    rows = np.arange(inputs.n_rounds)
    logged = cube[rows, inputs.action, inputs.position]
    mismatch = np.abs(logged - inputs.pscore) > SUM_TOLERANCE
    if mismatch.any():
        i = int(np.argmax(mismatch))
        raise OPEInputError(
            name, i, f"gives the logged action probability {logged[i]:.6g} at its position, "
            f"but pscore is {inputs.pscore[i]:.6g}"
        )
    return dist


@dataclass(frozen=True)
class MarginalizedInverseProbabilityWeighting(OffPolicyEstimator):
    """Marginalised Inverse Propensity Scoring (MIPS) with a deterministic categorical embedding.

    .. math::

        \\hat V_{\\mathrm{MIPS}} = \\frac{1}{n} \\sum_{i=1}^{n} w(x_i, e(a_i), k_i)\\, r_i,
        \\qquad w(x, e, k) = \\frac{\\sum_{a:\\, e(a) = e} \\pi_e(a \\mid x, k)}
                                  {\\sum_{a:\\, e(a) = e} \\pi_b(a \\mid x, k)}

    With a deterministic embedding :math:`p(e \\mid x, a) = \\mathbb{1}\\{e(a) = e\\}`, the
    marginal weight :math:`p(e \\mid x, \\pi_e) / p(e \\mid x, \\pi_b)` of Saito and Joachims is
    the ratio of the two policies' category probabilities. Unbiased when every category the
    target can show has positive logging probability (common embedding support) and the reward
    depends on the action only through its category, :math:`\\mathbb{E}[r \\mid x, a, k] =
    g(x, e(a), k)` (no direct effect); otherwise biased by how the target and logging policies
    differ *within* categories. With every action in its own category it is IPW. Under no direct
    effect its variance is IPW's less a non-negative term: the marginal weight is the conditional
    mean of the action weight :math:`w(x, a, k)` given the category, so per round
    :math:`\\mathrm{Var}[w(x,a,k)\\,r] - \\mathrm{Var}[w(x,e,k)\\,r] =
    \\mathbb{E}\\big[\\mathbb{E}[r^2 \\mid x, e, k]\\, \\mathrm{Var}_{\\pi_b(a \\mid x, e, k)}[w(x, a, k)]\\big]`.

    The behaviour policy's full distribution over actions is needed (not only the logged
    pscore), so :meth:`round_terms` takes it as ``behaviour_action_dist``: context-free
    ``(n_actions, len_list)`` or per round ``(n, n_actions, len_list)``; it must agree with
    ``pscore`` on the logged action.

    Parameters
    ----------
    action_category
        :math:`e(a)` for every action ``a``: a non-negative integer category per action.

    References
    ----------
    Yuta Saito and Thorsten Joachims. "Off-Policy Evaluation for Large Action Spaces via
    Embeddings." ICML 2022, Sec. 3 (the MIPS estimator, the common-embedding-support and
    no-direct-effect assumptions, unbiasedness, its bias without no direct effect, and the
    variance reduction over IPS).
    """

    action_category: tuple[int, ...]
    name: ClassVar[str] = "mips"

    @property
    def unbiased_by_design(self) -> bool:
        """False: correct propensities are not enough, MIPS also needs no direct effect of the
        action beyond its category."""
        return False

    def __post_init__(self) -> None:
        categories = np.asarray(self.action_category)
        if categories.ndim != 1 or categories.size == 0 or categories.dtype.kind not in "iu":
            raise ValueError(f"action_category must be a non-empty tuple of integers, got {self.action_category!r}")
        if (categories < 0).any():
            raise ValueError(f"action_category must be non-negative, action {int(np.argmax(categories < 0))} is not")

    def _membership(self, n_actions: int) -> np.ndarray:
        """One-hot (n_actions, n_categories) matrix of :math:`\\mathbb{1}\\{e(a) = e\\}`."""
        if len(self.action_category) != n_actions:
            raise OPEInputError(
                "action_category", None,
                f"has {len(self.action_category)} entries but action_dist has {n_actions} actions",
            )
        categories = np.asarray(self.action_category, dtype=np.int64)
        membership = np.zeros((n_actions, int(categories.max()) + 1))
        membership[np.arange(n_actions), categories] = 1.0
        return membership

    def marginal_weight(self, inputs: OpeInputs, behaviour_action_dist: object) -> np.ndarray:
        """:math:`w(x_i, e(a_i), k_i)`, shape (n,)."""
        behaviour = _as_behaviour(behaviour_action_dist, inputs)
        membership = self._membership(inputs.n_actions)
        rows = np.arange(inputs.n_rounds)
        category = np.asarray(self.action_category, dtype=np.int64)[inputs.action]  # (n,)
        target_at_slot = inputs.action_dist[rows, :, inputs.position]  # (n, n_actions)
        target_category = np.einsum("ia,ia->i", target_at_slot, membership.T[category])
        if behaviour.ndim == 2:
            behaviour_category = (membership.T @ behaviour)[category, inputs.position]  # (n,)
        else:
            behaviour_at_slot = behaviour[rows, :, inputs.position]  # (n, n_actions)
            behaviour_category = np.einsum("ia,ia->i", behaviour_at_slot, membership.T[category])
        # The logged action is in its own category and agrees with pscore > 0 (checked above),
        # so the denominator is positive.
        return target_category / behaviour_category

    def round_terms(self, inputs: OpeInputs, behaviour_action_dist: object | None = None) -> RoundTerms:
        weight = self.marginal_weight(inputs, self._require(behaviour_action_dist))
        return RoundTerms(correction=weight * inputs.reward)

    def round_terms_from_arrays(self, *, behaviour_action_dist: object | None = None, **arrays: Any) -> RoundTerms:
        """:meth:`round_terms` on raw arrays: ``behaviour_action_dist`` plus the keyword arguments
        of :meth:`OpeInputs.from_arrays <hermes_core.ope.inputs.OpeInputs.from_arrays>`."""
        return self.round_terms(OpeInputs.from_arrays(**arrays), behaviour_action_dist)

    def _require(self, behaviour_action_dist: object | None) -> object:
        if behaviour_action_dist is None:
            raise OPEInputError("behaviour_action_dist", None, f"is required by estimator '{self.name}'")
        return behaviour_action_dist


@dataclass(frozen=True)
class SelfNormalizedMarginalizedInverseProbabilityWeighting(MarginalizedInverseProbabilityWeighting):
    """Self-normalised MIPS (SNMIPS): MIPS divided by the mean marginal weight.

    .. math::

        \\hat V_{\\mathrm{SNMIPS}} = \\frac{\\sum_{i} w(x_i, e(a_i), k_i)\\, r_i}{\\sum_i w(x_i, e(a_i), k_i)}

    A convex combination of observed rewards; consistent under the assumptions of MIPS, biased
    in finite samples.

    References
    ----------
    Yuta Saito and Thorsten Joachims, ICML 2022 (MIPS); Adith Swaminathan and Thorsten Joachims.
    "The Self-Normalized Estimator for Counterfactual Learning." NeurIPS 2015 (self-normalisation).
    """

    name: ClassVar[str] = "snmips"

    def round_terms(self, inputs: OpeInputs, behaviour_action_dist: object | None = None) -> RoundTerms:
        weight = self.marginal_weight(inputs, self._require(behaviour_action_dist))
        return RoundTerms(correction=weight * inputs.reward, normaliser=weight)


@dataclass(frozen=True, eq=False)
class LoggedPolicyMIPS(MarginalizedInverseProbabilityWeighting):
    """:class:`MarginalizedInverseProbabilityWeighting` with the behaviour policy's context-free
    distribution ``behaviour`` (n_actions, len_list) held by the estimator, so that it runs
    wherever an estimator is called as ``round_terms(inputs)`` (e.g. the uniform-random Open
    Bandit logs, whose behaviour policy is known: :math:`1/n_{\\text{items}}` at every slot)."""

    behaviour: np.ndarray | None = None
    name: ClassVar[str] = "mips"

    def round_terms(self, inputs: OpeInputs, behaviour_action_dist: object | None = None) -> RoundTerms:
        return super().round_terms(inputs, self.behaviour if behaviour_action_dist is None else behaviour_action_dist)


@dataclass(frozen=True, eq=False)
class LoggedPolicySelfNormalizedMIPS(SelfNormalizedMarginalizedInverseProbabilityWeighting):
    """The self-normalised :class:`LoggedPolicyMIPS`."""

    behaviour: np.ndarray | None = None
    name: ClassVar[str] = "snmips"

    def round_terms(self, inputs: OpeInputs, behaviour_action_dist: object | None = None) -> RoundTerms:
        return super().round_terms(inputs, self.behaviour if behaviour_action_dist is None else behaviour_action_dist)
