"""The PseudoInverse estimator: unbiased for slate rewards that are additive over positions.

Write a slate as the indicator vector :math:`\\mathbb{1}_s \\in \\{0, 1\\}^{K C}` of its
(position, item) pairs. If the expected slate reward is linear in it,
:math:`\\mathbb{E}[R \\mid x, s] = \\mathbb{1}_s^\\top \\phi_x` for some unknown :math:`\\phi_x`
(Swaminathan et al., 2017, the linearity assumption of Sec. 3), then

.. math::

    V(\\pi) = \\mathbb{E}_x\\big[q_{\\pi,x}^\\top \\phi_x\\big],
    \\qquad q_{\\pi,x} = \\mathbb{E}_{\\pi}[\\mathbb{1}_s \\mid x]
    \\;\\;(\\text{the marginals } \\pi(a \\text{ at } k \\mid x)),

and :math:`\\phi_x` is identified from the logging policy's second moment
:math:`\\Gamma_{\\mu,x} = \\mathbb{E}_{\\mu}[\\mathbb{1}_s \\mathbb{1}_s^\\top \\mid x]`. The PI estimator is

.. math::

    \\hat V_{\\mathrm{PI}} = \\frac{1}{n} \\sum_{i=1}^{n} W_i\\, R_i,
    \\qquad W_i = q_{\\pi,x_i}^\\top\\, \\Gamma_{\\mu,x_i}^{\\dagger}\\, \\mathbb{1}_{s_i},
    \\qquad R_i = \\sum_k \\gamma_k r_{ik},

unbiased under linearity whenever :math:`q_{\\pi,x}` lies in the range of
:math:`\\Gamma_{\\mu,x}` (e.g. every slate :math:`\\pi` can show, :math:`\\mu` can show). A
position-based click model gives a linear :math:`R`; a cascade model in general does not (with
3 candidates and 2 positions its pairwise interaction happens to be additive, since a symmetric
function of the pair shown is a function of the one item left out).

*Uniqueness, used for the closed forms below.* A weight :math:`W(s) = \\mathbb{1}_s^\\top u` is
unbiased for every linear reward iff :math:`\\Gamma_{\\mu,x} u = q_{\\pi,x}`; two solutions differ
by :math:`v` with :math:`\\mathbb{E}_\\mu[(\\mathbb{1}_s^\\top v)^2] = v^\\top \\Gamma v = 0`, so on
:math:`\\mu`'s support every such weight equals the PI weight. A closed form is therefore exact
exactly when it is unbiased for every additive reward.

*The factored closed form* :math:`W = \\sum_k \\pi(a_k \\text{ at } k)/\\mu(a_k \\text{ at } k) - K + 1`
(Swaminathan et al., arXiv:1605.04812, Example 4, the product / Cartesian case) is of this kind
with :math:`u_k(a) = \\pi(a \\text{ at } k)/\\mu(a \\text{ at } k) - (K-1)/K`, and the condition
:math:`\\Gamma u = q` reads: for every position :math:`k` and item :math:`b` with
:math:`\\mu(b \\text{ at } k \\mid x) > 0`,

.. math::

    \\sum_{j \\ne k} \\mathbb{E}_\\mu\\Big[\\frac{\\pi(a_j \\text{ at } j)}{\\mu(a_j \\text{ at } j)}
        \\,\\Big|\\, x, a_k = b\\Big] = K - 1.

It holds when :math:`\\mu` is factored across positions, :math:`\\mu(s \\mid x) = \\prod_k \\mu_k(a_k
\\mid x)`, with :math:`\\pi`'s marginals on :math:`\\mu_k`'s support (each conditional expectation
is then 1). For slates of distinct items that means each position draws from its own pool of
candidates. It fails for rankings without replacement: under the uniform ranking the
conditional mean of :math:`\\pi(a_j \\text{ at } j)/\\mu(a_j \\text{ at } j)` given :math:`a_k = b` is
:math:`C\\,(1 - \\pi(b \\text{ at } j))/(C - 1)`, not 1, and under Plackett-Luce logging likewise, so
there the factored form is biased even for additive rewards.

*The uniform-ranking closed form* (:func:`uniform_pseudo_inverse_weight`, derived here by
solving :math:`\\Gamma u = q` for :math:`\\mu` uniform over the :math:`C!/(C-K)!` ordered slates of
distinct items): with :math:`\\rho(a) = \\sum_j \\pi(a \\text{ at } j)` the target's probability of
showing :math:`a` anywhere,

.. math::

    W = (C-1) \\sum_k \\pi(a_k \\text{ at } k) + \\frac{C-1}{C-K} \\sum_k \\rho(a_k)
        - \\frac{(K-1)\\,C}{C-K} \\quad (K < C),
    \\qquad
    W = (C-1) \\sum_k \\pi(a_k \\text{ at } k) - (C-2) \\quad (K = C).

For any other logging design, :func:`pseudo_inverse_weight` computes :math:`W_i` with
``numpy.linalg.pinv`` from an explicitly enumerated slate distribution (tiny problems only).

References
----------
Adith Swaminathan, Akshay Krishnamurthy, Alekh Agarwal, Miroslav Dudík, John Langford, Damien
Jose and Imed Zitouni. "Off-policy evaluation for slate recommendation." NeurIPS 2017, Sec. 3
(linearity assumption, the PI estimator and its unbiasedness); arXiv:1605.04812, Example 4 (the
closed form for a product logging distribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from hermes_core.ope.base import RoundTerms
from hermes_core.ope.inputs import SUM_TOLERANCE, OPEInputError
from hermes_core.ope.slate.base import SlateOffPolicyEstimator
from hermes_core.ope.slate.inputs import SlateInputs

PINV_RTOL = 1e-10
"""Singular values of :math:`\\Gamma_\\mu` below this fraction of the largest count as zero."""


def factored_pseudo_inverse_weight(marginal_weight: np.ndarray) -> np.ndarray:
    """:math:`W_i = \\sum_k \\pi(a_{ik} \\text{ at } k)/\\mu(a_{ik} \\text{ at } k) - K + 1`, shape (n,).

    Exact (equal to :math:`q_\\pi^\\top \\Gamma_\\mu^\\dagger \\mathbb{1}_s`) only when the logging
    policy is factored across positions; see the module docstring.

    Parameters
    ----------
    marginal_weight : (n, K) marginal importance weights, as :attr:`SlateInputs.marginal_weight`.
    """
    marginal_weight = np.asarray(marginal_weight, dtype=np.float64)
    return marginal_weight.sum(axis=1) - marginal_weight.shape[1] + 1.0


def _as_target_marginals(target_position_marginals: object, n: int, len_list: int) -> np.ndarray:
    marginals = np.asarray(target_position_marginals, dtype=np.float64)
    if marginals.ndim == 2:
        marginals = np.broadcast_to(marginals, (n, *marginals.shape))
    if marginals.ndim != 3 or marginals.shape[0] != n or marginals.shape[2] != len_list:
        raise OPEInputError(
            "target_position_marginals", None,
            f"must have shape (C, K) or (n, C, K) with n = {n}, K = {len_list}, "
            f"got {np.shape(target_position_marginals)}",
        )  # fmt: skip
    if not np.isfinite(marginals).all():
        raise OPEInputError("target_position_marginals", int(np.argmax(~np.isfinite(marginals).reshape(n, -1).all(1))),
                            "is not finite")  # fmt: skip
    off = np.abs(marginals.sum(axis=1) - 1.0) > SUM_TOLERANCE  # (n, K)
    if off.any():
        i = int(np.argmax(off.any(axis=1)))
        raise OPEInputError("target_position_marginals", i, "does not sum to 1 over candidates at some position")
    return marginals


def _as_logged_slate(slate: object, n_candidates: int) -> np.ndarray:
    slate_ = np.asarray(slate)
    if slate_.ndim != 2 or slate_.dtype.kind not in "iu":
        raise OPEInputError("slate", None, f"must be an integer (n, K) array, got {slate_.dtype} {slate_.shape}")
    outside = (slate_ < 0) | (slate_ >= n_candidates)
    if outside.any():
        row = int(np.argmax(outside.any(axis=1)))
        raise OPEInputError("slate", row, f"holds a candidate outside [0, {n_candidates})")
    return slate_.astype(np.int64)


def uniform_pseudo_inverse_weight(slate: object, target_position_marginals: object) -> np.ndarray:
    """The PI weight when :math:`\\mu` is uniform over ordered slates of distinct items, shape (n,).

    .. math::

        W_i = (C-1) \\sum_k \\pi(a_{ik} \\text{ at } k) + \\frac{C-1}{C-K} \\sum_k \\rho_i(a_{ik})
            - \\frac{(K-1)\\,C}{C-K},
        \\qquad \\rho_i(a) = \\sum_j \\pi(a \\text{ at } j \\mid x_i),

    and :math:`W_i = (C-1) \\sum_k \\pi(a_{ik} \\text{ at } k) - (C-2)` for full rankings
    (:math:`K = C`). Derived by solving :math:`\\Gamma_\\mu u = q_\\pi` (module docstring); equal to
    :func:`pseudo_inverse_weight` on that logging policy.

    Parameters
    ----------
    slate : (n, K) logged candidate indices.
    target_position_marginals : (n, C, K) or (C, K), :math:`\\pi(a \\text{ at } k \\mid x_i)`.
    """
    slate_ = np.asarray(slate)
    n, len_list = slate_.shape if slate_.ndim == 2 else (0, 0)
    marginals = _as_target_marginals(target_position_marginals, n, len_list)
    n_candidates = marginals.shape[1]
    slate_ = _as_logged_slate(slate_, n_candidates)
    rows = np.arange(n)[:, None]
    at_shown = marginals[rows, slate_, np.arange(len_list)[None, :]].sum(axis=1)  # sum_k pi(a_ik at k)
    if len_list == n_candidates:
        return (n_candidates - 1) * at_shown - (n_candidates - 2)
    shown_anywhere = marginals.sum(axis=2)[rows, slate_].sum(axis=1)  # sum_k rho_i(a_ik)
    spare = n_candidates - len_list
    constant = (len_list - 1) * n_candidates / spare
    return (n_candidates - 1) * at_shown + (n_candidates - 1) / spare * shown_anywhere - constant


def pseudo_inverse_weight(
    slate: object,
    slate_space: object,
    logging_probability: object,
    target_position_marginals: object,
) -> np.ndarray:
    """:math:`W_i = q_{\\pi,x_i}^\\top \\Gamma_{\\mu,x_i}^\\dagger \\mathbb{1}_{s_i}` by explicit
    enumeration, shape (n,).

    Builds the indicator matrix of every slate in ``slate_space``, the logging policy's
    second-moment matrix :math:`\\Gamma_{\\mu,x_i} = \\sum_s \\mu(s \\mid x_i) \\mathbb{1}_s
    \\mathbb{1}_s^\\top` (size :math:`KC \\times KC`) and its Moore-Penrose pseudo-inverse with
    ``numpy.linalg.pinv``. Meant for tiny problems and for checking closed forms: the cost is
    :math:`O(n (KC)^3 + n S K^2)` for :math:`S` slates.

    Parameters
    ----------
    slate : (n, K) logged candidate indices.
    slate_space : (S, K) every slate the logging policy can show (items may repeat across
        positions, e.g. for a factored policy).
    logging_probability : (S,) or (n, S), :math:`\\mu(s \\mid x_i)` over ``slate_space``, each row
        summing to 1.
    target_position_marginals : (C, K) or (n, C, K), :math:`\\pi(a \\text{ at } k \\mid x_i)`.

    Raises
    ------
    OPEInputError
        naming the array and the first offending request: shapes that do not fit, a logging
        distribution that is negative or does not sum to 1, target marginals that do not sum to
        1 at a position, or a logged slate to which the logging distribution gives no mass.
    """
    space = np.asarray(slate_space)
    if space.ndim != 2 or space.dtype.kind not in "iu":
        raise OPEInputError("slate_space", None, f"must be an integer (S, K) array, got {space.dtype} {space.shape}")
    n_slates, len_list = space.shape
    slate_ = np.asarray(slate)
    if slate_.ndim != 2 or slate_.shape[1] != len_list:
        raise OPEInputError("slate", None, f"must have shape (n, K) with K = {len_list}, got {slate_.shape}")
    n = slate_.shape[0]
    marginals = _as_target_marginals(target_position_marginals, n, len_list)  # (n, C, K)
    n_candidates = marginals.shape[1]
    slate_ = _as_logged_slate(slate_, n_candidates)
    if ((space < 0) | (space >= n_candidates)).any():
        raise OPEInputError("slate_space", None, f"holds a candidate outside [0, {n_candidates})")

    probability = np.asarray(logging_probability, dtype=np.float64)
    if probability.ndim == 1:
        probability = np.broadcast_to(probability, (n, probability.shape[0]))
    if probability.shape != (n, n_slates):
        raise OPEInputError("logging_probability", None, f"must have shape (S,) or (n, S) = ({n}, {n_slates}), "
                                                         f"got {np.shape(logging_probability)}")  # fmt: skip
    bad = ~np.isfinite(probability) | (probability < 0)
    if bad.any():
        raise OPEInputError("logging_probability", int(np.argmax(bad.any(axis=1))), "is negative or not finite")
    off = np.abs(probability.sum(axis=1) - 1.0) > SUM_TOLERANCE
    if off.any():
        i = int(np.argmax(off))
        raise OPEInputError("logging_probability", i, f"sums to {probability[i].sum():.8g}, not 1")

    position_offset = np.arange(len_list) * n_candidates  # (K,)
    indicator = np.zeros((n_slates, len_list * n_candidates))  # (S, K*C)
    indicator[np.arange(n_slates)[:, None], position_offset[None, :] + space] = 1.0
    index_of = {tuple(row): s for s, row in enumerate(space.tolist())}
    logged_index = np.array([index_of.get(tuple(row), -1) for row in slate_.tolist()])
    logged_probability = np.where(logged_index >= 0, probability[np.arange(n), np.maximum(logged_index, 0)], 0.0)
    unsupported = logged_probability <= 0
    if unsupported.any():
        i = int(np.argmax(unsupported))
        raise OPEInputError("slate", i, f"slate {slate_[i].tolist()} has no logging probability in slate_space")

    gamma = np.einsum("sa,ns,sb->nab", indicator, probability, indicator)  # (n, K*C, K*C)
    target = marginals.transpose(0, 2, 1).reshape(n, len_list * n_candidates)  # (n, K*C), position-major
    # Gamma is singular by construction (each position's indicators sum to 1), so its null
    # space must be cut off well above rounding noise, not at pinv's default 1e-15.
    pseudo_inverse = np.linalg.pinv(gamma, rtol=PINV_RTOL, hermitian=True)
    solution = np.einsum("nab,nb->na", pseudo_inverse, target)  # (n, K*C)
    return np.take_along_axis(solution, position_offset[None, :] + slate_, axis=1).sum(axis=1)


@dataclass(frozen=True)
class PseudoInverse(SlateOffPolicyEstimator):
    """PseudoInverse (PI) estimator.

    .. math::

        \\hat V_{\\mathrm{PI}} = \\frac{1}{n} \\sum_{i=1}^{n} W_i \\sum_{k=1}^{K} \\gamma_k r_{ik},
        \\qquad W_i = q_{\\pi,x_i}^\\top \\Gamma_{\\mu,x_i}^\\dagger \\mathbb{1}_{s_i}

    Unbiased when the expected slate reward is additive over (position, item) pairs and the
    weight is the exact PI weight for the logging policy (module docstring).

    Parameters
    ----------
    weight
        ``"factored"`` (default): the closed form :math:`W_i = \\sum_k \\pi(a_{ik} \\text{ at }
        k)/\\mu(a_{ik} \\text{ at } k) - K + 1`, which needs only the marginals and is exact only
        for a logging policy factored across positions; for rankings of distinct items drawn
        without replacement (uniform, Plackett-Luce) it is *not* the PI weight and is biased.
        ``"supplied"``: :attr:`SlateInputs.pseudo_inverse_weight`, e.g. from
        :func:`uniform_pseudo_inverse_weight` or :func:`pseudo_inverse_weight`.

    References
    ----------
    Adith Swaminathan et al. "Off-policy evaluation for slate recommendation." NeurIPS 2017,
    Sec. 3; arXiv:1605.04812, Example 4 (the factored closed form).
    """

    weight: Literal["factored", "supplied"] = "factored"
    name: ClassVar[str] = "pi"
    reward_assumption: ClassVar[str] = "additive"

    def __post_init__(self) -> None:
        if self.weight not in ("factored", "supplied"):
            raise ValueError(f"weight must be 'factored' or 'supplied', got {self.weight!r}")

    def slate_weight(self, inputs: SlateInputs) -> np.ndarray:
        """:math:`W_i`, shape (n,)."""
        if self.weight == "factored":
            return factored_pseudo_inverse_weight(inputs.marginal_weight)
        if inputs.pseudo_inverse_weight is None:
            raise OPEInputError("pseudo_inverse_weight", None, "is required by estimator 'pi' with weight='supplied'")
        return inputs.pseudo_inverse_weight

    def round_terms(self, inputs: SlateInputs) -> RoundTerms:
        return RoundTerms(correction=self.slate_weight(inputs) * inputs.slate_reward)
