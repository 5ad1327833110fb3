r"""The four policies applied to every user's candidate list: ``K`` of ``N`` candidates, as slates.

Each function takes :class:`~hermes_core.rerank.inputs.CandidateLists` (the ranker's order, the
mapped relevance :math:`u \in [0, 1]` and the cohorts) and returns a :class:`PolicyRun`: ``(B, K)``
column indices into the lists, the wall time, and what the policy reports about itself. The maths
is in the core modules; this one only wires lists into them:

* **unreranked**: the ranker's top :math:`K`;
* **MMR** (:mod:`~hermes_core.rerank.mmr`, Carbonell & Goldstein 1998): greedy
  :math:`\arg\max_i \lambda u_i - (1 - \lambda)\max_{j \in S}\cos(e_i, e_j)` over all :math:`N`
  candidates, the cosine of the encode stage's item vectors; the similarity matrices of
  ``chunk_size`` lists are built once and reused for every :math:`\lambda`;
* **exposure parity** (:mod:`~hermes_core.rerank.exposure_parity`): one log-boost
  :math:`\beta = \log m` added to the under-exposed cohort's :math:`u` in *every* list, found by
  bisection until the batch's estimated ratio :math:`\mathrm{DER}_u(A, B)` is within ``tolerance``
  of 1, so parity is amortised over all users' slates rather than forced in each;
* **Fairness of Exposure** (:mod:`~hermes_core.rerank.fair_exposure_lp`, Singh & Joachims 2018):
  per list, the LP over the top ``candidates`` (:math:`n^2` variables; the other candidates are
  never shown), utility :math:`u^\top P v` with :math:`v` the log discount over :math:`K`
  positions, equal expected exposure per unit of :math:`u` for both cohorts *within that pool*;
  one ranking drawn from the Birkhoff-von Neumann decomposition of :math:`P` with the generator
  ``default_rng([seed, row])`` (reproducible whatever the sample of users). An infeasible list
  (:class:`~hermes_core.rerank.fair_exposure_lp.FairExposureInfeasible`: a cohort absent from the
  pool or out of reach of its required exposure) keeps the ranker's top :math:`K` and is counted;
* **FA*IR** (:mod:`~hermes_core.rerank.fair_topk`, Zehlike et al. 2017): the ranked group fairness
  table for :math:`(K, p, \alpha)` with the multiple-testing adjustment, then the two-queue
  re-ranking of all :math:`N` candidates by :math:`u`. A list with fewer protected candidates
  than the table's last entry gets the table capped at what it has (:math:`\min(m(i), n_A)`,
  still a valid table) and is counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hermes_core.rerank.exposure_parity import exposure_parity_rerank
from hermes_core.rerank.fair_exposure_lp import (
    FairExposureInfeasible,
    birkhoff_decomposition,
    fair_exposure_ranking,
    sample_rankings,
)
from hermes_core.rerank.fair_topk import adjust_significance, fair_topk_rerank
from hermes_core.rerank.inputs import CandidateLists
from hermes_core.rerank.mmr import mmr_rerank_batch


@dataclass(frozen=True, eq=False)
class PolicyRun:
    """One policy at one setting on every list.

    ``policy``: ``before`` | ``mmr`` | ``parity`` | ``singh_joachims`` | ``fair``; ``knob`` and
    ``value``: the setting (``lam`` 0.8, ``tolerance`` 0.02 ...; ``None`` and NaN for ``before``);
    ``slates (B, K)`` column indices (``-1`` empty); ``seconds`` wall time of the policy alone;
    ``report``: what the policy says about itself (multiplier, infeasible lists ...).
    """

    policy: str
    knob: str | None
    value: float
    slates: np.ndarray
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``mmr lam=0.8``, ``before``."""
        if self.knob is None:
            return self.policy
        value = int(self.value) if float(self.value).is_integer() and self.knob == "candidates" else self.value
        return f"{self.policy} {self.knob}={value:g}"


def unreranked(lists: CandidateLists, k: int) -> PolicyRun:
    """The ranker's own top ``k`` of every list."""
    started = time.perf_counter()
    slates = lists.top_k(k)
    return PolicyRun("before", None, float("nan"), slates, time.perf_counter() - started)


# ----------------------------------------------------------------------------- MMR
def mmr_runs(lists: CandidateLists, lams: Sequence[float], k: int, chunk_size: int = 64,
             progress: bool = False) -> list[PolicyRun]:
    """MMR at every ``lam`` on all lists, the cosine matrices of ``chunk_size`` lists at a time
    computed once for all ``lam``. Each run's ``seconds`` is its own MMR time plus an equal share
    of the similarity matrices' time."""
    n_lists = lists.n_lists
    slates = {lam: np.full((n_lists, k), -1, dtype=np.int64) for lam in lams}
    seconds = dict.fromkeys(lams, 0.0)
    starts = range(0, n_lists, chunk_size)
    for start in tqdm(starts, desc="MMR", disable=not progress):
        rows = slice(start, min(start + chunk_size, n_lists))
        began = time.perf_counter()
        vectors = lists.item_vectors[np.maximum(lists.items[rows], 0)] * lists.mask[rows, :, None]  # (b, N, d)
        similarity = vectors @ vectors.transpose(0, 2, 1)  # (b, N, N) cosine of unit rows
        shared = (time.perf_counter() - began) / len(lams)
        for lam in lams:
            began = time.perf_counter()
            slates[lam][rows] = mmr_rerank_batch(lists.relevance[rows], k, float(lam), similarity=similarity,
                                                 mask=lists.mask[rows])  # fmt: skip
            seconds[lam] += time.perf_counter() - began + shared
    return [PolicyRun("mmr", "lam", float(lam), slates[lam], seconds[lam]) for lam in lams]


# ----------------------------------------------------------------------------- exposure parity
def parity_run(lists: CandidateLists, k: int, tolerance: float, max_iterations: int = 60) -> PolicyRun:
    """Exposure parity with one shared multiplier over all lists (module docstring). The report
    holds the multiplier and its log-boost, the boosted cohort, the estimated ratio reached, whether
    it converged and why, and every multiplier and ratio the bisection tried."""
    started = time.perf_counter()
    result = exposure_parity_rerank(lists.relevance, lists.relevance, lists.protected, k, mask=lists.mask,
                                    tolerance=tolerance, max_iterations=max_iterations)  # fmt: skip
    seconds = time.perf_counter() - started
    boosted = {"a": lists.protected_name, "b": lists.other_name, None: None}[result.boosted_cohort]
    report = {"multiplier": result.multiplier, "log_boost": float(np.log(result.multiplier)), "boosted_cohort": boosted,
              "estimated_ratio": result.ratio, "estimated_ratio_at_m1": float(result.ratio_path[0]),
              "converged": result.converged, "reason": result.reason, "evaluations": int(len(result.multiplier_path)),
              "multiplier_path": result.multiplier_path.tolist(), "ratio_path": result.ratio_path.tolist()}  # fmt: skip
    return PolicyRun("parity", "tolerance", float(tolerance), result.slates, seconds, report)


# ----------------------------------------------------------------------------- Fairness of Exposure
def lp_rows(n_lists: int, users: int | None, seed: int) -> np.ndarray:
    """The lists the LP re-ranks: all, or a seeded sample of ``users`` of them (sorted)."""
    if users is None or users >= n_lists:
        return np.arange(n_lists)
    return np.sort(np.random.default_rng([seed, 1]).choice(n_lists, size=users, replace=False))


def singh_joachims_run(lists: CandidateLists, k: int, candidates: int, seed: int, users: int | None = None,
                       progress: bool = False) -> PolicyRun:
    """Fairness of Exposure on each list's top ``candidates`` (module docstring). The report counts
    the lists re-ranked and the infeasible ones (by cause, with the first few keys), and gives the
    mean share of the unconstrained utility the LP keeps, the mean number of permutations in the
    decompositions and the largest constraint residual."""
    started = time.perf_counter()
    slates = lists.top_k(k)
    rows = lp_rows(lists.n_lists, users, seed)
    infeasible: Counter[str] = Counter()
    infeasible_keys: list[str] = []
    utility_share: list[float] = []
    n_terms: list[int] = []
    residual = 0.0
    for row in tqdm(rows, desc=f"LP top-{candidates}", disable=not progress):
        pool = np.flatnonzero(lists.mask[row])[:candidates]
        relevance = lists.relevance[row, pool]
        group = np.where(lists.protected[row, pool], 0, 1)
        try:
            solution = fair_exposure_ranking(relevance, group, n_positions=min(k, pool.size))
        except FairExposureInfeasible as error:
            cause = "a cohort absent or without relevance in the pool" if str(error).startswith("group") else (
                "required exposure out of reach")
            infeasible[cause] += 1
            if len(infeasible_keys) < 10:
                infeasible_keys.append(str(lists.keys[row]))
            continue
        decomposition = birkhoff_decomposition(solution.ranking_matrix)
        ranking = sample_rankings(decomposition, 1, np.random.default_rng([seed, int(row)]))[0]
        slates[row, : min(k, pool.size)] = pool[ranking[:k]]
        if solution.unconstrained_utility > 0:
            utility_share.append(solution.utility / solution.unconstrained_utility)
        n_terms.append(int(decomposition.weights.size))
        residual = max(residual, abs(solution.constraint_residual))
    seconds = time.perf_counter() - started
    report = {"lists_reranked": int(rows.size), "lists_total": lists.n_lists, "infeasible": int(sum(infeasible.values())),
              "infeasible_by_cause": dict(infeasible), "infeasible_keys": infeasible_keys,
              "mean_utility_share": float(np.mean(utility_share)) if utility_share else float("nan"),
              "mean_permutations": float(np.mean(n_terms)) if n_terms else float("nan"),
              "max_constraint_residual": residual}  # fmt: skip
    return PolicyRun("singh_joachims", "candidates", float(candidates), slates, seconds, report)


# ----------------------------------------------------------------------------- FA*IR
def fair_run(lists: CandidateLists, k: int, p: float, alpha: float) -> PolicyRun:
    """FA*IR on every list (module docstring); the report holds the adjusted significance, its
    table, its failure probability and the lists short of protected candidates."""
    started = time.perf_counter()
    adjusted = adjust_significance(k, p, alpha)
    slates = lists.top_k(k)
    short: list[str] = []
    for row in range(lists.n_lists):
        real = np.flatnonzero(lists.mask[row])
        if real.size < k:
            continue  # fewer candidates than slots: the ranker's list is all there is
        protected = lists.protected[row, real]
        table = np.minimum(adjusted.table, int(protected.sum()))
        if table[-1] < adjusted.table[-1]:
            short.append(str(lists.keys[row]))
        slates[row] = real[fair_topk_rerank(lists.relevance[row, real], protected, table)]
    seconds = time.perf_counter() - started
    report = {"alpha_adjusted": adjusted.alpha_adjusted, "failure_probability": adjusted.failure_probability,
              "table": adjusted.table.tolist(), "lists_short_of_protected": len(short), "short_keys": short[:10]}
    return PolicyRun("fair", "p", float(p), slates, seconds, report)


__all__ = ["PolicyRun", "fair_run", "lp_rows", "mmr_runs", "parity_run", "singh_joachims_run", "unreranked"]
