"""Validated logged slates: one row per request, one column per position.

Request ``i`` shows context ``x_i`` the slate :math:`s_i = (a_{i1}, \\dots, a_{iK})` of ``K``
distinct candidates (candidate indices ``0 .. C-1`` of the request's own candidate set), drawn by
the logging policy :math:`\\mu`, and records one reward per position :math:`r_{ik}` (a click).
The target policy is :math:`\\pi`; the value to estimate is the expected position-weighted reward

.. math::

    V(\\pi) = \\mathbb{E}_{x}\\, \\mathbb{E}_{s \\sim \\pi(\\cdot \\mid x)}
        \\Big[\\sum_{k=1}^{K} \\gamma_k\\, r_k\\Big],
    \\qquad \\gamma_k = 1/K \\text{ by default (reward per impression).}

Arrays (positions are columns, in display order):

- ``reward`` (n, K): :math:`r_{ik}`;
- ``slate`` (n, K): :math:`a_{ik}`, distinct within a row;
- ``logging_marginal`` (n, K): :math:`\\mu(a_{ik} \\text{ at } k \\mid x_i) > 0`;
- ``logging_prefix`` (n, K): :math:`\\mu(a_{i1}, \\dots, a_{ik} \\mid x_i) > 0`, the probability
  that the first ``k`` positions hold exactly this ordered prefix;
- ``target_marginal``, ``target_prefix`` (n, K): the same for :math:`\\pi`, in ``[0, 1]``;
- ``target_conditional`` (n, K, C), optional:
  :math:`\\pi(a \\text{ at } k \\mid x_i, a_{i1}, \\dots, a_{i,k-1})` for every candidate ``a``
  (0 on the items already placed; sums to 1 over candidates), needed by Cascade-DR;
- ``estimated_rewards`` (n, C, K), optional: a reward model :math:`\\hat q(x_i, a, k)`;
- ``position_weights`` (K,): :math:`\\gamma_k`;
- ``pseudo_inverse_weight`` (n,), optional: a PseudoInverse slate weight worked out by the
  caller for its logging design (see :mod:`hermes_core.ope.slate.pseudo_inverse`).

Validation errors are :class:`~hermes_core.ope.inputs.OPEInputError` naming the array and the
first offending request (row).

From Plackett-Luce policies with per-request logits ``(n, C)`` (``logging_logits``,
``target_logits``) and logged ``slates`` ``(n, K)``, with ``rows = arange(n)[:, None]`` and
``positions = arange(K)[None, :]``: the marginals are ``M[rows, slates, positions]`` of the
exact position marginals ``M`` (n, C, K) of each policy, the prefixes are the cumulative
products of the conditionals of the shown items (``prefix_probabilities(logits, slates)`` in
:mod:`hermes_core.world.plackett_luce`), and ``target_conditional`` is
``conditional_probabilities(target_logits, slates)``. This module takes arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hermes_core.ope.inputs import SUM_TOLERANCE, OPEInputError

PROBABILITY_TOLERANCE = 1e-6
"""Largest allowed violation of an identity between probabilities (prefix of length 1 equal to
the first marginal, a prefix no likelier than a shorter one, conditional times prefix equal to
the next prefix)."""


def _first_row(mask: np.ndarray) -> int:
    """Index of the first row (axis 0) where ``mask`` holds anywhere."""
    return int(np.argmax(mask.reshape(mask.shape[0], -1).any(axis=1)))


def _as_float_array(name: str, values: object, shape: tuple[int, ...], axes: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iufb":
        raise OPEInputError(name, None, f"must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if array.shape != shape:
        raise OPEInputError(name, None, f"must have shape {axes} = {shape}, got {array.shape}")
    for bad, problem in ((np.isnan(array), "is NaN"), (np.isinf(array), "is infinite")):
        if bad.any():
            raise OPEInputError(name, _first_row(bad), problem)
    return array


def _check_probability(name: str, array: np.ndarray, *, positive: bool) -> None:
    outside = ((array <= 0) if positive else (array < 0)) | (array > 1)
    if outside.any():
        i = _first_row(outside)
        k = int(np.argmax(outside[i].reshape(-1)))
        interval = "(0, 1]" if positive else "[0, 1]"
        raise OPEInputError(name, i, f"value {float(array[i].reshape(-1)[k]):.6g} is outside {interval}")


def _check_prefix(policy: str, marginal: np.ndarray, prefix: np.ndarray, tolerance: float) -> None:
    """A prefix of length 1 is the first marginal; a longer prefix is no likelier than a shorter
    one nor than its last item's marginal."""
    name = f"{policy}_prefix"
    first = np.abs(prefix[:, 0] - marginal[:, 0]) > tolerance
    if first.any():
        i = int(np.argmax(first))
        raise OPEInputError(
            name, i, f"prefix of length 1 is {float(prefix[i, 0]):.6g} but {policy}_marginal at position 0 is "
            f"{float(marginal[i, 0]):.6g}; they are the same probability"
        )  # fmt: skip
    growing = prefix[:, 1:] > prefix[:, :-1] + tolerance
    if growing.any():
        i = _first_row(growing)
        k = int(np.argmax(growing[i])) + 1
        raise OPEInputError(
            name, i, f"prefix probability grows from position {k - 1} to {k} "
            f"({float(prefix[i, k - 1]):.6g} -> {float(prefix[i, k]):.6g})"
        )  # fmt: skip
    above = prefix > marginal + tolerance
    if above.any():
        i = _first_row(above)
        k = int(np.argmax(above[i]))
        raise OPEInputError(
            name, i, f"prefix probability {float(prefix[i, k]):.6g} at position {k} exceeds "
            f"{policy}_marginal {float(marginal[i, k]):.6g} of the item shown there"
        )  # fmt: skip


def _as_slate(values: object, shape: tuple[int, int], n_candidates: int | None) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise OPEInputError("slate", None, f"must have shape (n, K) = {shape}, got {array.shape}")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(np.nan_to_num(array)))
        if bad.any():
            i = _first_row(bad)
            raise OPEInputError("slate", i, f"must hold integer candidate indices, got {array[i].tolist()}")
    elif array.dtype.kind not in "iu":
        raise OPEInputError("slate", None, f"must hold integer candidate indices, got dtype {array.dtype}")
    array = array.astype(np.int64)
    upper = n_candidates if n_candidates is not None else np.iinfo(np.int64).max
    outside = (array < 0) | (array >= upper)
    if outside.any():
        i = _first_row(outside)
        where = "[0, n_candidates)" if n_candidates is not None else "[0, inf)"
        raise OPEInputError("slate", i, f"candidate {array[i][outside[i]][0]} is outside {where} "
                                        f"(n_candidates = {n_candidates})")  # fmt: skip
    ordered = np.sort(array, axis=1)
    repeated = ordered[:, 1:] == ordered[:, :-1]
    if repeated.any():
        i = _first_row(repeated)
        raise OPEInputError("slate", i, f"shows a candidate twice: {array[i].tolist()}")
    return array


def _check_conditional(
    conditional: np.ndarray, slate: np.ndarray, target_prefix: np.ndarray, sum_tolerance: float, tolerance: float
) -> None:
    n, len_list, _ = conditional.shape
    rows = np.arange(n)
    if (conditional < 0).any():
        raise OPEInputError("target_conditional", _first_row(conditional < 0), "has a negative probability")
    sums = conditional.sum(axis=2)  # (n, K)
    off = np.abs(sums - 1.0) > sum_tolerance
    if off.any():
        i = _first_row(off)
        k = int(np.argmax(off[i]))
        raise OPEInputError(
            "target_conditional", i, f"probabilities over candidates at position {k} sum to {sums[i, k]:.8g}, not 1"
        )
    # mass[i, k, j] = conditional probability at position k of the item shown at position j
    mass = conditional[rows[:, None, None], np.arange(len_list)[None, :, None], slate[:, None, :]]  # (n, K, K)
    on_placed = (mass > tolerance) & np.tri(len_list, k=-1, dtype=bool)[None, :, :]  # only j < k
    if on_placed.any():
        i = _first_row(on_placed)
        k, j = (int(index) for index in np.argwhere(on_placed[i])[0])
        raise OPEInputError(
            "target_conditional", i, f"gives probability {float(mass[i, k, j]):.6g} at position {k} "
            f"to candidate {slate[i, j]}, already placed at position {j}"
        )  # fmt: skip
    previous = np.concatenate([np.ones((n, 1)), target_prefix[:, :-1]], axis=1)  # (n, K)
    chained = previous * conditional[rows[:, None], np.arange(len_list)[None, :], slate]
    mismatch = np.abs(chained - target_prefix) > tolerance
    if mismatch.any():
        i = _first_row(mismatch)
        k = int(np.argmax(mismatch[i]))
        raise OPEInputError(
            "target_conditional", i, f"at position {k}, prefix {float(previous[i, k]):.6g} times conditional "
            f"{float(conditional[i, k, slate[i, k]]):.6g} of the shown item is not target_prefix "
            f"{float(target_prefix[i, k]):.6g}"
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class SlateInputs:
    """Validated logged slates, both policies' propensities and an optional reward model.

    Build it with :meth:`from_arrays`; the fields then follow the convention in the module
    docstring.
    """

    reward: np.ndarray  # (n, K) float64
    slate: np.ndarray  # (n, K) int64
    logging_marginal: np.ndarray  # (n, K) in (0, 1]
    logging_prefix: np.ndarray  # (n, K) in (0, 1]
    target_marginal: np.ndarray  # (n, K) in [0, 1]
    target_prefix: np.ndarray  # (n, K) in [0, 1]
    position_weights: np.ndarray  # (K,)
    target_conditional: np.ndarray | None = None  # (n, K, C)
    estimated_rewards: np.ndarray | None = None  # (n, C, K)
    pseudo_inverse_weight: np.ndarray | None = None  # (n,)

    @classmethod
    def from_arrays(
        cls,
        *,
        reward: object,
        slate: object,
        logging_marginal: object,
        logging_prefix: object,
        target_marginal: object,
        target_prefix: object,
        target_conditional: object | None = None,
        estimated_rewards: object | None = None,
        position_weights: object | None = None,
        pseudo_inverse_weight: object | None = None,
        n_candidates: int | None = None,
        sum_tolerance: float = SUM_TOLERANCE,
        tolerance: float = PROBABILITY_TOLERANCE,
    ) -> SlateInputs:
        """Validate the arrays and return them as a :class:`SlateInputs`.

        ``n_candidates`` (``C``) bounds the candidate indices in ``slate``; it is read from
        ``target_conditional`` or ``estimated_rewards`` when they are given (and must agree).

        Raises
        ------
        OPEInputError
            naming the array and the first offending request: wrong shape, NaN or infinite values,
            a non-integral, out-of-range or repeated candidate in ``slate``, a logging
            probability outside ``(0, 1]`` or a target probability outside ``[0, 1]``, a prefix
            of length 1 that differs from the first marginal, a prefix that grows with ``k`` or
            exceeds the marginal of its last item (within ``tolerance``), a ``target_conditional``
            that is negative, does not sum to 1 over candidates (within ``sum_tolerance``), gives
            mass to an item already placed, or disagrees with ``target_prefix``.
        """
        reward_ = np.asarray(reward)
        if reward_.ndim != 2 or 0 in reward_.shape:
            raise OPEInputError("reward", None, f"must be a non-empty (n, K) array, got shape {reward_.shape}")
        shape = reward_.shape
        n, len_list = shape
        reward_ = _as_float_array("reward", reward_, shape, "(n, K)")

        conditional = None
        if target_conditional is not None:
            conditional = np.asarray(target_conditional)
            if conditional.ndim != 3 or conditional.shape[:2] != shape:
                raise OPEInputError(
                    "target_conditional", None,
                    f"must have shape (n, K, C) with (n, K) = {shape}, got {conditional.shape}",
                )
            n_candidates = _agree_on_candidates(n_candidates, conditional.shape[2], "target_conditional")
            conditional = _as_float_array("target_conditional", conditional, conditional.shape, "(n, K, C)")
        model = None
        if estimated_rewards is not None:
            model = np.asarray(estimated_rewards)
            if model.ndim != 3 or model.shape[0] != n or model.shape[2] != len_list:
                raise OPEInputError(
                    "estimated_rewards", None,
                    f"must have shape (n, C, K) with n = {n}, K = {len_list}, got {model.shape}",
                )
            n_candidates = _agree_on_candidates(n_candidates, model.shape[1], "estimated_rewards")
            model = _as_float_array("estimated_rewards", model, model.shape, "(n, C, K)")
        if n_candidates is not None and n_candidates < len_list:
            raise OPEInputError("slate", None, f"has {len_list} positions but only {n_candidates} candidates")

        slate_ = _as_slate(slate, shape, n_candidates)
        probabilities = {}
        for name, value in (
            ("logging_marginal", logging_marginal),
            ("logging_prefix", logging_prefix),
            ("target_marginal", target_marginal),
            ("target_prefix", target_prefix),
        ):
            probabilities[name] = _as_float_array(name, value, shape, "(n, K)")
            _check_probability(name, probabilities[name], positive=name.startswith("logging"))
        for policy in ("logging", "target"):
            _check_prefix(policy, probabilities[f"{policy}_marginal"], probabilities[f"{policy}_prefix"], tolerance)
        if conditional is not None:
            _check_conditional(conditional, slate_, probabilities["target_prefix"], sum_tolerance, tolerance)

        if position_weights is None:
            weights = np.full(len_list, 1.0 / len_list)
        else:
            weights = np.asarray(position_weights)
            if weights.shape != (len_list,):
                raise OPEInputError(
                    "position_weights", None, f"must have shape (K,) = ({len_list},), got {weights.shape}"
                )
            weights = _as_float_array("position_weights", weights[None, :], (1, len_list), "(K,)")[0]

        pi_weight = None
        if pseudo_inverse_weight is not None:
            pi_weight = np.asarray(pseudo_inverse_weight)
            if pi_weight.shape != (n,):
                raise OPEInputError(
                    "pseudo_inverse_weight", None, f"must have shape (n,) = ({n},), got {pi_weight.shape}"
                )
            pi_weight = _as_float_array("pseudo_inverse_weight", pi_weight, (n,), "(n,)")

        return cls(
            reward=reward_,
            slate=slate_,
            logging_marginal=probabilities["logging_marginal"],
            logging_prefix=probabilities["logging_prefix"],
            target_marginal=probabilities["target_marginal"],
            target_prefix=probabilities["target_prefix"],
            position_weights=weights,
            target_conditional=conditional,
            estimated_rewards=model,
            pseudo_inverse_weight=pi_weight,
        )

    @property
    def n_rounds(self) -> int:
        """Number of logged requests ``n``."""
        return int(self.reward.shape[0])

    @property
    def len_list(self) -> int:
        """Number of positions ``K``."""
        return int(self.reward.shape[1])

    @property
    def n_candidates(self) -> int | None:
        """Number of candidates ``C`` when the target conditional or the reward model says it."""
        for array, axis in ((self.target_conditional, 2), (self.estimated_rewards, 1)):
            if array is not None:
                return int(array.shape[axis])
        return None

    @cached_property
    def slate_reward(self) -> np.ndarray:
        """:math:`R_i = \\sum_k \\gamma_k r_{ik}`, shape (n,)."""
        return self.reward @ self.position_weights

    @cached_property
    def marginal_weight(self) -> np.ndarray:
        """:math:`\\pi(a_{ik} \\text{ at } k) / \\mu(a_{ik} \\text{ at } k)`, shape (n, K)."""
        return self.target_marginal / self.logging_marginal

    @cached_property
    def prefix_weight(self) -> np.ndarray:
        """:math:`w_{i,1:k} = \\pi(a_{i1..ik}) / \\mu(a_{i1..ik})`, shape (n, K)."""
        return self.target_prefix / self.logging_prefix

    def require_target_conditional(self, estimator_name: str) -> np.ndarray:
        """``target_conditional``, or an error naming the estimator that needs it."""
        if self.target_conditional is None:
            raise OPEInputError("target_conditional", None, f"is required by estimator '{estimator_name}'")
        return self.target_conditional

    def require_reward_model(self, estimator_name: str) -> np.ndarray:
        """``estimated_rewards``, or an error naming the estimator that needs it."""
        if self.estimated_rewards is None:
            raise OPEInputError("estimated_rewards", None, f"is required by estimator '{estimator_name}'")
        return self.estimated_rewards


def _agree_on_candidates(n_candidates: int | None, found: int, name: str) -> int:
    if n_candidates is not None and n_candidates != found:
        raise OPEInputError(name, None, f"has {found} candidates but n_candidates is {n_candidates}")
    return found
