r"""FA*IR: a top-k ranking with at least a binomially plausible number of protected items in every prefix.

Zehlike, Bonchi, Castillo, Hajian, Megahed & Baeza-Yates, "FA*IR: A Fair Top-k Ranking
Algorithm", CIKM 2017 (arXiv:1706.06368).

**Ranked group fairness table** (the paper's fair representation and ranked group fairness
conditions). With :math:`F(x; k, p)` the binomial CDF, a prefix of length :math:`k`
holding :math:`\tau_p` protected items *fairly represents* the protected group at minimal
proportion :math:`p` and significance :math:`\alpha` when :math:`F(\tau_p; k, p) > \alpha`, i.e. the
test "drawn from a Bernoulli(:math:`p`) process" is not rejected. The least such count is the
table entry

.. math::

    m_{\alpha, p}(k) = F^{-1}(\alpha; k, p) = \min\{\, m \in \{0, \dots, k\} : F(m; k, p) > \alpha \,\}.

The paper writes the inverse CDF; the strict ">" follows from its condition. The reference
implementation (``fairsearchcore``) calls ``scipy.stats.binom.ppf``, the least :math:`m` with
:math:`F \ge \alpha`; the two differ only where :math:`F(m; k, p) = \alpha` exactly.

**Multiple-testing adjustment** (the paper's model adjustment of the significance). A ranking is tested at
all :math:`k` prefixes, so a truly fair ranking (each position protected independently with
probability :math:`p`) fails *some* prefix with probability above :math:`\alpha`. The failure
probability of a table is computed exactly by dynamic programming over the protected count
:math:`c` after :math:`i` positions, dropping (and accumulating as failure) the mass below
:math:`m(i)`:

.. math::

    q_i(c) = \mathbf 1[c \ge m(i)]\,\bigl(p\, q_{i-1}(c - 1) + (1 - p)\, q_{i-1}(c)\bigr),
    \qquad P_{\mathrm{fail}} = 1 - \sum_c q_k(c).

The reference implementation's failure probability leaves out the last prefix (its block table
stops at position :math:`k - 1`): for :math:`k = 20, p = 0.25, \alpha = 0.1` its README reports
0.11518 for the unadjusted table, where all 20 prefixes give 0.14689 (tests/rerank check the
programme here against enumerating all :math:`2^k` sequences). The two agree whenever
:math:`m(k) = m(k - 1)`, as for that input's adjusted table (0.10515).

The corrected :math:`\alpha_c \le \alpha` is found by binary search on :math:`[0, \alpha]`, where
:math:`P_{\mathrm{fail}}` of the table at :math:`\alpha_c` grows monotonically in steps, until the
two bracketing tables are adjacent. Exactly :math:`\alpha` is rarely attainable; like the reference
implementation, the default keeps whichever bracketing table's failure probability is *nearer*
:math:`\alpha`; ``rule="at_most"`` keeps the larger table with :math:`P_{\mathrm{fail}} \le \alpha`.

**Re-ranking** (the paper's algorithm FA*IR). Two queues, protected and non-protected, each sorted
by score; for position :math:`i = 1..k`, take the head of the protected queue if fewer than
:math:`m(i)` protected items are placed so far, otherwise the better of the two heads. Each
group's internal score order is kept. Equal scores are broken by the lower candidate index, in
the queues and between their heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import binom


def _check_p_alpha(p: float, alpha: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"p (minimal protected proportion) must lie in (0, 1), got {p!r}")
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha (significance) must lie in [0, 1), got {alpha!r}")


def ranked_group_fairness_table(k: int, p: float, alpha: float) -> np.ndarray:
    """``(k,)`` int: entry ``i - 1`` is :math:`m_{\\alpha,p}(i)`, the least protected count in the top ``i``.

    :math:`m(i) = \\min\\{m : F(m; i, p) > \\alpha\\}` (module docstring), computed as the number of
    :math:`m \\in \\{0..i\\}` with :math:`F(m; i, p) \\le \\alpha` from an ``(k, k + 1)`` grid of CDF values.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    _check_p_alpha(p, alpha)
    prefix_length = np.arange(1, k + 1)[:, None]  # (k, 1)
    count = np.arange(k + 1)[None, :]  # (1, k + 1)
    cdf = binom.cdf(count, prefix_length, p)  # (k, k + 1); = 1 for count >= prefix length
    return (cdf <= alpha).sum(axis=1).astype(np.int64)


def failure_probability(table: np.ndarray, p: float) -> float:
    """Probability that a ranking whose positions are protected i.i.d. with probability ``p``
    fails at least one prefix of ``table`` (``(k,)``, entry ``i - 1`` the least count in the top ``i``).

    The dynamic programme of the module docstring, :math:`O(k^2)`; failure mass is summed as it is
    dropped rather than taken as :math:`1 - P_{\\mathrm{success}}`, so small values keep their digits.
    """
    minimum = np.asarray(table)
    if minimum.ndim != 1 or not np.issubdtype(minimum.dtype, np.integer):
        raise ValueError(f"table must be a 1-D int array (k,), got dtype {minimum.dtype} shape {minimum.shape}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    k = minimum.shape[0]
    mass = np.zeros(k + 1)  # (k + 1,): probability of c protected so far, every prefix passed
    mass[0] = 1.0
    failed = 0.0
    for position in range(k):
        shifted = np.zeros_like(mass)
        shifted[1:] = mass[:-1]
        mass = (1.0 - p) * mass + p * shifted
        below = slice(0, max(int(minimum[position]), 0))
        failed += float(mass[below].sum())
        mass[below] = 0.0
    return failed


@dataclass(frozen=True)
class AdjustedSignificance:
    """The corrected significance of FA*IR's multiple-testing adjustment and its table.

    ``alpha``: the requested family-wise significance; ``alpha_adjusted``: the per-prefix
    significance :math:`\\alpha_c \\le \\alpha` whose unadjusted table is ``table``;
    ``failure_probability``: :math:`P_{\\mathrm{fail}}` of ``table`` (close to, not always below,
    ``alpha`` under ``rule="nearest"``).
    """

    alpha: float
    alpha_adjusted: float
    table: np.ndarray
    failure_probability: float


def adjust_significance(
    k: int, p: float, alpha: float, *, rule: Literal["nearest", "at_most"] = "nearest", max_iterations: int = 200
) -> AdjustedSignificance:
    """Binary search for :math:`\\alpha_c \\in [0, \\alpha]` whose table fails a fair ranking with
    probability :math:`\\approx \\alpha` (module docstring; Zehlike et al. 2017, model adjustment).

    ``rule="nearest"`` (the reference implementation's choice) keeps whichever of the two
    bracketing tables has :math:`P_{\\mathrm{fail}}` nearer ``alpha``; ``"at_most"`` keeps the larger
    table with :math:`P_{\\mathrm{fail}} \\le \\alpha`. When the unadjusted table already has
    :math:`P_{\\mathrm{fail}} \\le \\alpha`, ``alpha`` is returned unchanged.
    """
    if rule not in ("nearest", "at_most"):
        raise ValueError(f"rule must be 'nearest' or 'at_most', got {rule!r}")
    _check_p_alpha(p, alpha)

    def evaluate(significance: float) -> tuple[np.ndarray, float]:
        table = ranked_group_fairness_table(k, p, significance)
        return table, failure_probability(table, p)

    high, (high_table, high_failure) = alpha, evaluate(alpha)
    if high_failure <= alpha:
        return AdjustedSignificance(alpha, alpha, high_table, high_failure)
    # alpha_c = 0 gives the all-zero table (F > 0 everywhere), which never fails
    low, (low_table, low_failure) = 0.0, evaluate(0.0)
    for _ in range(max_iterations):
        if int(high_table.sum()) - int(low_table.sum()) <= 1:
            break  # adjacent tables: no table lies between them
        middle = (low + high) / 2
        if middle in (low, high):
            break
        middle_table, middle_failure = evaluate(middle)
        if middle_failure <= alpha:
            low, low_table, low_failure = middle, middle_table, middle_failure
        else:
            high, high_table, high_failure = middle, middle_table, middle_failure
    if rule == "at_most" or abs(low_failure - alpha) <= abs(high_failure - alpha):
        return AdjustedSignificance(alpha, low, low_table, low_failure)
    return AdjustedSignificance(alpha, high, high_table, high_failure)


def satisfies_table(protected_in_order: np.ndarray, table: np.ndarray) -> bool:
    """Whether a ranking, given as ``(k,)`` bool "protected" flags by position, has at least
    ``table[i - 1]`` protected items in every top ``i``."""
    flags = np.asarray(protected_in_order, dtype=bool)
    minimum = np.asarray(table)
    if flags.shape != minimum.shape:
        raise ValueError(f"protected_in_order {flags.shape} and table {minimum.shape} must have the same length")
    return bool((np.cumsum(flags) >= minimum).all())


def fair_topk_rerank(scores: np.ndarray, protected: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``(k,)`` candidate indices of FA*IR's top ``k = len(table)`` (module docstring).

    ``scores (N,)`` finite (higher is better), ``protected (N,)`` bool. Raises ``ValueError`` when
    ``N < k`` or when the candidates hold fewer protected items than ``table[-1]`` (the table then
    cannot be met; Zehlike et al. assume enough protected candidates).
    """
    values = np.asarray(scores, dtype=np.float64)
    is_protected = np.asarray(protected)
    minimum = np.asarray(table)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(f"scores must be a finite 1-D array (N,), got shape {values.shape}")
    if is_protected.shape != values.shape or is_protected.dtype != bool:
        raise ValueError(f"protected must be a bool array of shape {values.shape}")
    if minimum.ndim != 1 or not np.isin(np.diff(np.r_[0, minimum]), (0, 1)).all():
        raise ValueError("table must be 1-D, start at 0 or 1 and grow by 0 or 1 per position (m(i) <= m(i-1) + 1)")
    k = minimum.shape[0]
    if values.shape[0] < k:
        raise ValueError(f"only {values.shape[0]} candidates for a top-{k} ranking")
    if int(is_protected.sum()) < int(minimum.max(initial=0)):
        raise ValueError(
            f"the table needs {int(minimum.max())} protected items in the top {k} but the candidates hold "
            f"{int(is_protected.sum())}"
        )
    order = np.argsort(-values, kind="stable")  # best first, equal scores by index
    queues = (order[is_protected[order]], order[~is_protected[order]])  # (protected, non-protected)
    heads = [0, 0]
    # position in the overall stable order: comparing it compares score, then index
    overall_rank = np.empty_like(order)
    overall_rank[order] = np.arange(order.shape[0])
    ranking = np.empty(k, dtype=np.int64)
    for position in range(k):
        protected_left = heads[0] < queues[0].shape[0]
        other_left = heads[1] < queues[1].shape[0]
        if heads[0] < minimum[position] or not other_left:
            queue = 0
        elif not protected_left:
            queue = 1
        else:
            queue = 0 if overall_rank[queues[0][heads[0]]] < overall_rank[queues[1][heads[1]]] else 1
        ranking[position] = queues[queue][heads[queue]]
        heads[queue] += 1
    return ranking
