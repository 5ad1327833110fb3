"""What every off-policy estimator shares: per-round terms and the estimator interface.

Every estimator in this package has the form

.. math::

    \\hat V = \\frac{1}{n}\\sum_i d_i + \\frac{\\sum_i c_i}{\\sum_i m_i},

with a *direct* term :math:`d_i` (the reward model's value of the target policy, or 0), a
*correction* :math:`c_i` (importance-weighted reward or residual) and a *normaliser*
:math:`m_i` that is :math:`1` for the plain estimators and the importance weight :math:`w_i` for
the self-normalised ones. Keeping the three pieces apart (:class:`RoundTerms`) is what lets a
bootstrap re-normalise inside every resample, and the delta method linearise the ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hermes_core.ope.inputs import OpeInputs


def _safe_ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """``numerator / denominator`` with ``0 / 0 := 0``: a sample in which every importance weight
    is 0 (the target policy puts no mass on any logged action) gets no correction."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


@dataclass(frozen=True, eq=False)
class RoundTerms:
    """Per-round pieces of an estimate: :math:`\\hat V = \\bar d + \\bar c / \\bar m`.

    ``direct`` (n,) or ``None`` (all zeros); ``correction`` (n,); ``normaliser`` (n,) or
    ``None`` (all ones, a plain mean). Bars are sample means.
    """

    correction: np.ndarray  # (n,)
    direct: np.ndarray | None = None  # (n,)
    normaliser: np.ndarray | None = None  # (n,)

    @property
    def n_rounds(self) -> int:
        return int(self.correction.shape[0])

    @property
    def self_normalised(self) -> bool:
        return self.normaliser is not None

    def _scale(self) -> float:
        if self.normaliser is None:
            return 1.0
        return float(_safe_ratio(1.0, self.normaliser.mean()))

    def estimate(self) -> float:
        """:math:`\\hat V = \\bar d + \\bar c / \\bar m`."""
        return float(self.round_rewards().mean())

    def round_rewards(self) -> np.ndarray:
        """:math:`d_i + c_i / \\bar m`, shape (n,): their mean is the estimate (OBP's
        ``_estimate_round_rewards`` for the self-normalised estimators)."""
        rewards = self.correction * self._scale()
        if self.direct is not None:
            rewards = rewards + self.direct
        return rewards

    def influence(self) -> np.ndarray:
        """Linearised per-round contributions, shape (n,), whose mean is the estimate.

        For a plain estimator they are the round rewards. For a self-normalised one, the delta
        method for the ratio :math:`\\bar c / \\bar m` gives
        :math:`\\psi_i = d_i + \\hat\\theta + (c_i - \\hat\\theta\\, m_i) / \\bar m` with
        :math:`\\hat\\theta = \\bar c / \\bar m`; their sample variance over :math:`n` estimates
        the variance of :math:`\\hat V` (van der Vaart, 1998, Asymptotic Statistics, Thm. 3.1).
        """
        if self.normaliser is None:
            return self.round_rewards()
        scale = self._scale()
        ratio = float(self.correction.mean()) * scale
        psi = ratio + (self.correction - ratio * self.normaliser) * scale
        if self.direct is not None:
            psi = psi + self.direct
        return psi

    def columns(self) -> list[np.ndarray]:
        """The arrays whose resampled means determine a resampled estimate."""
        parts = [self.correction]
        if self.direct is not None:
            parts.append(self.direct)
        if self.normaliser is not None:
            parts.append(self.normaliser)
        return parts

    def estimate_from_means(self, means: list[np.ndarray]) -> np.ndarray:
        """Estimates from resampled means of :meth:`columns` (same order), shape (B,)."""
        values = iter(means)
        correction = next(values)
        direct = next(values) if self.direct is not None else 0.0
        if self.normaliser is not None:
            correction = _safe_ratio(correction, next(values))
        return correction + direct


@dataclass(frozen=True)
class OffPolicyEstimator:
    """Base of every estimator: a frozen dataclass of hyperparameters with one method,
    :meth:`round_terms`, from which the round rewards and the policy value follow."""

    name: ClassVar[str] = "estimator"
    uses_reward_model: ClassVar[bool] = False

    @property
    def unbiased_by_design(self) -> bool:
        """Whether the estimator is unbiased (or, self-normalised, consistent) whatever the reward
        model, given correct logging propensities and full support. Only then does an interval
        that resamples rounds, with the reward model held fixed, cover the error of the estimate;
        for the others (DM, clipped, switched or shrunk weights, a SLOPE choice) it covers the
        sampling variance only, never the bias (:func:`interval_scope`)."""
        return True

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        """The per-round pieces of this estimator on validated inputs."""
        raise NotImplementedError

    def round_terms_from_arrays(self, **arrays: Any) -> RoundTerms:
        """:meth:`round_terms` on raw arrays: ``arrays`` are the keyword arguments of
        :meth:`OpeInputs.from_arrays <hermes_core.ope.inputs.OpeInputs.from_arrays>` (``reward``,
        ``action``, ``pscore``, ``action_dist``, optional ``position`` and
        ``estimated_rewards_by_reg_model``), validated there; an estimator that needs a reward
        model and gets none raises :class:`~hermes_core.ope.inputs.OPEInputError` naming itself."""
        inputs = OpeInputs.from_arrays(**arrays)
        if self.uses_reward_model:
            inputs.require_reward_model(self.name)
        return self.round_terms(inputs)

    def estimate_round_rewards(self, **arrays: Any) -> np.ndarray:
        """Per-round rewards, shape (n,), whose mean is :meth:`estimate_policy_value`
        (``arrays`` as in :meth:`round_terms_from_arrays`)."""
        return self.round_terms_from_arrays(**arrays).round_rewards()

    def estimate_policy_value(self, **arrays: Any) -> float:
        """The estimate :math:`\\hat V(\\pi_e)` (``arrays`` as in :meth:`round_terms_from_arrays`)."""
        return self.round_terms_from_arrays(**arrays).estimate()


INTERVAL_SCOPES: dict[bool, str] = {True: "sampling error", False: "variance only"}
"""What a round-resampling interval covers, by :attr:`OffPolicyEstimator.unbiased_by_design`."""


def interval_scope(estimator: OffPolicyEstimator) -> str:
    """``"sampling error"`` for an estimator unbiased by design, ``"variance only"`` otherwise:
    its interval resamples rounds around a possibly biased centre (the reward model, the clipping
    threshold or the SLOPE choice held fixed), so a bias of the estimate is never covered."""
    return INTERVAL_SCOPES[estimator.unbiased_by_design]

