"""Validated logged bandit feedback in OBP's position-wise slate convention.

A logged round ``i`` shows action ``a_i`` at slot ``k_i`` of a list of ``len_list`` slots, to a
user with context ``x_i``, and records reward ``r_i``. The convention follows Open Bandit
Pipeline (Saito et al., 2021, "Open Bandit Dataset and Pipeline", Sec. 3):

- ``reward`` (n,), ``action`` (n,) in ``[0, n_actions)``, ``position`` (n,) in ``[0, len_list)``;
- ``pscore`` (n,): the logging policy's marginal probability
  :math:`\\pi_b(a_i \\mid x_i, k_i)` of showing ``a_i`` at slot ``k_i``, in ``(0, 1]``;
- ``action_dist`` (n, n_actions, len_list): the target policy's marginal probabilities
  :math:`\\pi_e(a \\mid x_i, k)`; for every round and slot they sum to 1 over actions;
- ``estimated_rewards_by_reg_model`` (n, n_actions, len_list): :math:`\\hat q(x_i, a, k)`.

:class:`OpeInputs` validates these once and caches the per-round quantities every estimator
shares (importance weight, the reward model's value of the target policy, ...), so running all
estimators on one input does each gather once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

SUM_TOLERANCE = 1e-6
"""Largest allowed ``|sum_a action_dist[i, a, k] - 1|``."""


class OPEInputError(ValueError):
    """Off-policy-evaluation input that breaks the convention of :mod:`hermes_core.ope.inputs`.

    ``array`` names the offending argument and ``row`` the first offending round (``None``
    when the fault is the array as a whole, e.g. its shape).
    """

    def __init__(self, array: str, row: int | None, problem: str) -> None:
        self.array = array
        self.row = row
        where = f"{array}" if row is None else f"{array}, row {row}"
        super().__init__(f"{where}: {problem}")


def _first_true(mask: np.ndarray) -> int:
    """Index (along axis 0) of the first row where ``mask`` holds anywhere."""
    rows = mask.reshape(mask.shape[0], -1).any(axis=1)
    return int(np.argmax(rows))


def _as_1d(name: str, values: object, n_rounds: int | None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise OPEInputError(name, None, f"must be 1-dimensional, got shape {array.shape}")
    if n_rounds is not None and array.shape[0] != n_rounds:
        raise OPEInputError(
            name, None, f"has {array.shape[0]} rounds but reward has {n_rounds}"
        )
    return array


def _check_finite(name: str, array: np.ndarray) -> None:
    if array.dtype.kind == "f":
        bad = np.isnan(array)
        if bad.any():
            raise OPEInputError(name, _first_true(bad), "is NaN")
        bad = np.isinf(array)
        if bad.any():
            raise OPEInputError(name, _first_true(bad), "is infinite")
    elif array.dtype.kind not in "iub":
        raise OPEInputError(name, None, f"must be numeric, got dtype {array.dtype}")


def _as_index(name: str, values: object, n_rounds: int, upper: int, upper_name: str) -> np.ndarray:
    array = _as_1d(name, values, n_rounds)
    _check_finite(name, array)
    if array.dtype.kind == "f":
        bad = array != np.round(array)
        if bad.any():
            i = _first_true(bad)
            raise OPEInputError(name, i, f"must be an integer index, got {array[i]!r}")
    out_of_range = (array < 0) | (array >= upper)
    if out_of_range.any():
        i = _first_true(out_of_range)
        raise OPEInputError(
            name, i, f"value {array[i]!r} is outside [0, {upper}) ({upper_name} = {upper})"
        )
    return array.astype(np.int64, copy=False)


def _as_cube(name: str, values: object, n_rounds: int, shape: tuple[int, ...] | None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 3:
        raise OPEInputError(
            name, None, f"must be 3-dimensional (n_rounds, n_actions, len_list), got shape {array.shape}"
        )
    if array.shape[0] != n_rounds:
        raise OPEInputError(name, None, f"has {array.shape[0]} rounds but reward has {n_rounds}")
    if shape is not None and array.shape != shape:
        raise OPEInputError(name, None, f"has shape {array.shape} but action_dist has {shape}")
    _check_finite(name, array)
    return array


@dataclass(frozen=True, eq=False)
class OpeInputs:
    """Validated logged feedback plus the target policy (and optionally a reward model).

    Build it with :meth:`from_arrays`; the fields are then guaranteed to follow the
    convention in the module docstring.
    """

    reward: np.ndarray  # (n,) float64
    action: np.ndarray  # (n,) int64
    position: np.ndarray  # (n,) int64
    pscore: np.ndarray  # (n,) float64 in (0, 1]
    action_dist: np.ndarray  # (n, n_actions, len_list)
    estimated_rewards_by_reg_model: np.ndarray | None = None  # (n, n_actions, len_list)

    @classmethod
    def from_arrays(
        cls,
        *,
        reward: object,
        action: object,
        pscore: object,
        action_dist: object,
        position: object | None = None,
        estimated_rewards_by_reg_model: object | None = None,
        sum_tolerance: float = SUM_TOLERANCE,
    ) -> OpeInputs:
        """Validate the arrays and return them as an :class:`OpeInputs`.

        Raises
        ------
        OPEInputError
            naming the array and the first offending row: wrong dimension or length, NaN or
            infinite values, ``pscore`` outside ``(0, 1]``, ``action`` or ``position`` out of
            range or not integral, ``action_dist`` negative or not summing to 1 over actions
            (within ``sum_tolerance``) for some round and slot.
        """
        reward_ = _as_1d("reward", reward, None).astype(np.float64, copy=False)
        n_rounds = reward_.shape[0]
        if n_rounds == 0:
            raise OPEInputError("reward", None, "has no rounds")
        _check_finite("reward", reward_)

        dist = _as_cube("action_dist", action_dist, n_rounds, None)
        _, n_actions, len_list = dist.shape
        negative = dist < 0
        if negative.any():
            i = _first_true(negative)
            raise OPEInputError("action_dist", i, "has a negative probability")
        sums = dist.sum(axis=1)  # (n, len_list)
        off = np.abs(sums - 1.0) > sum_tolerance
        if off.any():
            i = _first_true(off)
            k = int(np.argmax(off[i]))
            raise OPEInputError(
                "action_dist",
                i,
                f"probabilities over actions at position {k} sum to {sums[i, k]:.8g}, not 1",
            )

        action_ = _as_index("action", action, n_rounds, n_actions, "n_actions")
        if position is None:
            position_ = np.zeros(n_rounds, dtype=np.int64)
        else:
            position_ = _as_index("position", position, n_rounds, len_list, "len_list")

        pscore_ = _as_1d("pscore", pscore, n_rounds).astype(np.float64, copy=False)
        _check_finite("pscore", pscore_)
        outside = (pscore_ <= 0) | (pscore_ > 1)
        if outside.any():
            i = _first_true(outside)
            raise OPEInputError("pscore", i, f"value {pscore_[i]!r} is outside (0, 1]")

        model = None
        if estimated_rewards_by_reg_model is not None:
            model = _as_cube(
                "estimated_rewards_by_reg_model",
                estimated_rewards_by_reg_model,
                n_rounds,
                dist.shape,
            )
        return cls(reward_, action_, position_, pscore_, dist, model)

    @property
    def n_rounds(self) -> int:
        return int(self.reward.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.action_dist.shape[1])

    @property
    def len_list(self) -> int:
        return int(self.action_dist.shape[2])

    @cached_property
    def _rows(self) -> np.ndarray:
        return np.arange(self.n_rounds)

    @cached_property
    def importance_weight(self) -> np.ndarray:
        """:math:`w_i = \\pi_e(a_i \\mid x_i, k_i) / \\pi_b(a_i \\mid x_i, k_i)`, shape (n,)."""
        return self.action_dist[self._rows, self.action, self.position] / self.pscore

    @cached_property
    def weighted_reward(self) -> np.ndarray:
        """:math:`w_i r_i`, shape (n,)."""
        return self.importance_weight * self.reward

    def require_reward_model(self, estimator_name: str) -> np.ndarray:
        if self.estimated_rewards_by_reg_model is None:
            raise OPEInputError(
                "estimated_rewards_by_reg_model", None, f"is required by estimator '{estimator_name}'"
            )
        return self.estimated_rewards_by_reg_model

    @cached_property
    def model_value_of_target(self) -> np.ndarray:
        """:math:`\\hat q(x_i, \\pi_e) = \\sum_a \\pi_e(a \\mid x_i, k_i)\\, \\hat q(x_i, a, k_i)`, shape (n,)."""
        model = self.require_reward_model("dm")
        # Slice the logged slot first: (n, n_actions) instead of touching all slots.
        target_at_slot = self.action_dist[self._rows, :, self.position]
        model_at_slot = model[self._rows, :, self.position]
        return np.einsum("ij,ij->i", target_at_slot, model_at_slot)

    @cached_property
    def model_residual(self) -> np.ndarray:
        """:math:`r_i - \\hat q(x_i, a_i, k_i)`, shape (n,)."""
        model = self.require_reward_model("dr")
        return self.reward - model[self._rows, self.action, self.position]

    @cached_property
    def weighted_residual(self) -> np.ndarray:
        """:math:`w_i (r_i - \\hat q(x_i, a_i, k_i))`, shape (n,)."""
        return self.importance_weight * self.model_residual
