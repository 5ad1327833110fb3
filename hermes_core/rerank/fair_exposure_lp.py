r"""Fairness of Exposure: the utility-maximising stochastic ranking under a disparate-treatment constraint.

Singh & Joachims, "Fairness of Exposure in Rankings", KDD 2018, §3 (the linear programme) and §4.2
(disparate treatment). For one list of :math:`N` candidates with relevance :math:`u \ge 0` and
position exposure :math:`v_j`, a stochastic ranking is a doubly stochastic matrix :math:`P`
(:math:`P_{ij}` = probability that item :math:`i` sits at position :math:`j`):

.. math::

    \max_{P}\; u^\top P v
    \quad \text{s.t.} \quad P \mathbf 1 = \mathbf 1,\; \mathbf 1^\top P = \mathbf 1^\top,\; P \ge 0,
    \quad f^\top P v = 0,

    f_i = \frac{\mathbf 1[i \in G_0]}{\sum_{l \in G_0} u_l} - \frac{\mathbf 1[i \in G_1]}{\sum_{l \in G_1} u_l},

i.e. :math:`\sum_{i \in G_0} (Pv)_i / \sum_{G_0} u = \sum_{i \in G_1} (Pv)_i / \sum_{G_1} u`: each
group's expected exposure per unit of relevance is the same (the :math:`1/|G|` of the paper's
group averages cancel). The objective is expected DCG when :math:`u` holds the gains (pass
:math:`2^{\mathrm{rel}} - 1` for graded labels) and :math:`v_j = 1/\log_2(1 + j)`.

**Top-K**: :math:`P` is always square, :math:`N \times N`. With ``n_positions = K < N``,
:math:`v_j = 1/\log_2(1 + j)` for :math:`j \le K` and :math:`v_j = 0` for the :math:`N - K` tail
positions, a dummy tail that is shown to nobody; this keeps :math:`P` doubly stochastic, so the
Birkhoff–von Neumann decomposition below applies unchanged.

**Feasibility.** Exposures add up to :math:`\sum_j v_j` whatever :math:`P`, so the constraint
fixes group 0's expected exposure at its relevance share,
:math:`E_0 = \frac{R_0}{R_0 + R_1} \sum_j v_j` (:math:`R_g = \sum_{G_g} u`), and doubly stochastic
matrices reach exactly the interval of :math:`E_0` between :math:`G_0` in the bottom and in the
top :math:`|G_0|` positions. The programme is feasible iff :math:`E_0` lies in that interval
(:func:`required_exposure_range`); with all positions exposed and unequal mean relevance it often
does not (five items of relevance 0.9..0.6 against five of 0.5..0.2 already need more than the
top five positions give). A group with zero total relevance makes :math:`f` undefined. Both raise
:class:`FairExposureInfeasible`.

**Tolerance.** HiGHS (dual simplex) returns a vertex; its primal feasibility tolerance is set to
``1e-10`` here (default ``1e-7``), so rows, columns and the constraint hold to about that, and
entries below ``1e-12`` in magnitude are clipped to 0.

**Birkhoff–von Neumann** (Birkhoff 1946; Singh & Joachims §3): every doubly stochastic
:math:`P = \sum_m \theta_m \Pi_m` with permutation matrices :math:`\Pi_m`, :math:`\theta \ge 0`,
:math:`\sum_m \theta_m = 1`, at most :math:`(N-1)^2 + 1` terms. Repeatedly find a perfect matching
inside the support of the remainder with :func:`scipy.optimize.linear_sum_assignment` (cost
:math:`-\log` of the entry, so large entries are preferred and fewer terms are needed; entries
outside the support cost prohibitively), subtract :math:`\theta` = the smallest matched entry
times that permutation, and stop when the remainder's mass is below the tolerance. Sampling a
ranking is then drawing :math:`m` with probability :math:`\theta_m`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog

from hermes_core.rerank.exposure import position_exposure

PRIMAL_FEASIBILITY_TOLERANCE = 1e-10
"""HiGHS's primal feasibility tolerance for the programme (its default is 1e-7)."""


class FairExposureInfeasible(ValueError):
    """The disparate-treatment constraint cannot be met (or is undefined) for this list."""


def position_weights(n_items: int, n_positions: int | None = None) -> np.ndarray:
    """``(n_items,)`` exposure :math:`v_j` of the square programme: the log2 discount for the first
    ``n_positions`` positions (default all), 0 for the dummy tail."""
    shown = n_items if n_positions is None else n_positions
    if not 1 <= shown <= n_items:
        raise ValueError(f"n_positions must lie in [1, {n_items}], got {n_positions}")
    return np.concatenate([position_exposure(shown), np.zeros(n_items - shown)])


def disparate_treatment_vector(relevance: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``(N,)`` the constraint's :math:`f`: ``1/Rel(G0)`` on group 0, ``-1/Rel(G1)`` on group 1.

    Raises :class:`FairExposureInfeasible` when a group is absent or has zero total relevance.
    """
    u = np.asarray(relevance, dtype=np.float64)
    labels = np.asarray(group)
    totals = [float(u[labels == g].sum()) for g in (0, 1)]
    for g, total in enumerate(totals):
        if not total > 0:
            raise FairExposureInfeasible(
                f"group {g} has total relevance {total} ({int((labels == g).sum())} items): "
                "exposure per unit relevance is undefined"
            )
    return (labels == 0) / totals[0] - (labels == 1) / totals[1]


def required_exposure_range(
    relevance: np.ndarray, group: np.ndarray, position_weight: np.ndarray
) -> tuple[float, float, float]:
    """``(required, lowest, highest)`` expected exposure of group 0: the share the constraint fixes,
    :math:`R_0 / (R_0 + R_1) \\sum_j v_j`, and the least and most any ranking gives it (the bottom
    and the top :math:`|G_0|` positions). The programme is feasible iff ``lowest <= required <= highest``."""
    u = np.asarray(relevance, dtype=np.float64)
    labels = np.asarray(group)
    v = np.sort(np.asarray(position_weight, dtype=np.float64))[::-1]
    size = int((labels == 0).sum())
    total_relevance = float(u[(labels == 0) | (labels == 1)].sum())
    required = float(u[labels == 0].sum()) / total_relevance * float(v.sum()) if total_relevance > 0 else np.nan
    return required, float(v[v.shape[0] - size :].sum()), float(v[:size].sum())


@dataclass(frozen=True)
class FairExposureSolution:
    """The optimal doubly stochastic ``ranking_matrix (N, N)`` (item by position) and its numbers.

    ``position_weights (N,)``: :math:`v`; ``utility``: :math:`u^\\top P v`; ``unconstrained_utility``:
    that of the relevance-sorted ranking (the optimum without the constraint), so the price of
    fairness is their difference; ``constraint_residual``: :math:`f^\\top P v`.
    """

    ranking_matrix: np.ndarray
    position_weights: np.ndarray
    utility: float
    unconstrained_utility: float
    constraint_residual: float


def fair_exposure_ranking(
    relevance: np.ndarray, group: np.ndarray, *, n_positions: int | None = None
) -> FairExposureSolution:
    """Solve Singh & Joachims' linear programme for one list (module docstring) with HiGHS.

    ``relevance (N,)`` finite ``>= 0`` (the utility :math:`u`), ``group (N,)`` int in ``{0, 1}``,
    ``n_positions`` the shown prefix ``K`` (default ``N``). :math:`N^2` variables and
    :math:`2N + 1` equality constraints: meant for candidate lists of tens of items. Raises
    :class:`FairExposureInfeasible` when no doubly stochastic matrix meets the constraint.
    """
    u = np.asarray(relevance, dtype=np.float64)
    labels = np.asarray(group)
    if u.ndim != 1 or not np.isfinite(u).all() or (u < 0).any():
        raise ValueError(f"relevance must be a finite 1-D array (N,) of values >= 0, got shape {u.shape}")
    if labels.shape != u.shape or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"group must be an array of shape {u.shape} with values in {{0, 1}}")
    n = u.shape[0]
    v = position_weights(n, n_positions)
    f = disparate_treatment_vector(u, labels)
    # variable x = P.ravel() (row-major): x[i * n + j] = P_ij
    objective = -np.outer(u, v).ravel()
    row_sums = np.kron(np.eye(n), np.ones((1, n)))  # (n, n^2)
    column_sums = np.kron(np.ones((1, n)), np.eye(n))  # (n, n^2)
    fairness = np.outer(f, v).ravel()[None, :]  # (1, n^2)
    result = linprog(
        objective,
        A_eq=np.vstack([row_sums, column_sums, fairness]),
        b_eq=np.concatenate([np.ones(2 * n), [0.0]]),
        bounds=(0.0, None),
        method="highs-ds",
        options={"primal_feasibility_tolerance": PRIMAL_FEASIBILITY_TOLERANCE},
    )
    if result.status == 2:
        required, lowest, highest = required_exposure_range(u, labels, v)
        raise FairExposureInfeasible(
            "no doubly stochastic ranking gives both groups equal exposure per unit relevance: group 0 "
            f"needs exposure {required:.6g} but rankings give it between {lowest:.6g} and {highest:.6g} "
            f"(HiGHS: {result.message})"
        )
    if result.status != 0:
        raise RuntimeError(f"linprog failed with status {result.status}: {result.message}")
    matrix = result.x.reshape(n, n)
    matrix[np.abs(matrix) < 1e-12] = 0.0
    return FairExposureSolution(
        ranking_matrix=matrix,
        position_weights=v,
        utility=float(u @ matrix @ v),
        unconstrained_utility=float(np.sort(u)[::-1] @ v),
        constraint_residual=float(f @ matrix @ v),
    )


@dataclass(frozen=True)
class BirkhoffDecomposition:
    """:math:`P \\approx \\sum_m \\theta_m \\Pi_m`: ``weights (M,)`` :math:`\\theta`, summing to 1 up to
    the tolerance, and ``positions (M, N)``, ``positions[m, i]`` the position of item ``i`` in
    permutation ``m``."""

    weights: np.ndarray
    positions: np.ndarray

    @property
    def rankings(self) -> np.ndarray:
        """``(M, N)`` items best first: ``rankings[m, j]`` is the item at position ``j``."""
        return np.argsort(self.positions, axis=1)

    def matrix(self) -> np.ndarray:
        """``(N, N)`` the reconstruction :math:`\\sum_m \\theta_m \\Pi_m`."""
        m, n = self.positions.shape
        reconstruction = np.zeros((n, n))
        np.add.at(reconstruction, (np.tile(np.arange(n), m), self.positions.ravel()), np.repeat(self.weights, n))
        return reconstruction


def birkhoff_decomposition(ranking_matrix: np.ndarray, *, tolerance: float = 1e-9) -> BirkhoffDecomposition:
    """Birkhoff–von Neumann decomposition of a doubly stochastic ``(N, N)`` matrix (module docstring).

    Entries at or below ``tolerance`` count as zero; the loop stops when the remaining mass per row
    is below ``tolerance`` or no perfect matching is left in the support (possible only through
    rounding; the unexplained mass is then at most of the order of ``N * tolerance``). Raises
    ``ValueError`` when the matrix is not doubly stochastic to ``1e-6``.
    """
    remainder = np.array(ranking_matrix, dtype=np.float64)
    n = remainder.shape[0]
    if remainder.shape != (n, n) or (remainder < -1e-9).any():
        raise ValueError(f"ranking_matrix must be a square non-negative matrix, got shape {remainder.shape}")
    if not (np.allclose(remainder.sum(axis=0), 1, atol=1e-6) and np.allclose(remainder.sum(axis=1), 1, atol=1e-6)):
        raise ValueError("ranking_matrix is not doubly stochastic (rows and columns must sum to 1)")
    prohibitive = 1e6 * (n + 1)
    weights: list[float] = []
    positions: list[np.ndarray] = []
    for _ in range((n - 1) ** 2 + 1):
        if remainder.sum() / n <= tolerance:
            break
        support = remainder > tolerance
        with np.errstate(divide="ignore"):
            cost = np.where(support, -np.log(np.where(support, remainder, 1.0)), prohibitive)
        rows, columns = linear_sum_assignment(cost)
        if not support[rows, columns].all():
            break
        theta = float(remainder[rows, columns].min())
        weights.append(theta)
        positions.append(columns.copy())
        remainder[rows, columns] -= theta
    return BirkhoffDecomposition(weights=np.array(weights), positions=np.array(positions, dtype=np.int64))


def sample_rankings(
    decomposition: BirkhoffDecomposition, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_samples, N)`` rankings (items best first) drawn from the mixture, permutation ``m`` with
    probability :math:`\\theta_m / \\sum \\theta` (renormalised to absorb the tolerance)."""
    probabilities = decomposition.weights / decomposition.weights.sum()
    drawn = rng.choice(probabilities.shape[0], size=n_samples, p=probabilities)
    return decomposition.rankings[drawn]
