"""Re-ranking policies for diversity and fair exposure: the pure numpy/scipy core of the rerank stage.

A ranking (slate) is an int array of item or candidate indices, best first, ``(K,)`` or
``(B, K)``, with ``-1`` in an empty slot; exposure of rank ``k`` is ``1 / log2(k + 1)``. Each module
carries its formula and paper:

* ``mmr``: Maximal Marginal Relevance (Carbonell & Goldstein 1998), one list or a padded batch;
* ``exposure``: position-discounted exposure per item and per group, the disparate-exposure
  ratio (Singh & Joachims 2018), intra-list diversity, category coverage, the Gini coefficient;
* ``exposure_parity``: one shared log-boost multiplier for the under-exposed cohort, found by
  bisection, with a convergence flag and reason;
* ``fair_exposure_lp``: Fairness of Exposure's linear programme, its Birkhoff–von Neumann
  decomposition and sampling (Singh & Joachims 2018);
* ``fair_topk``: FA*IR's ranked group fairness table, its multiple-testing adjustment and the
  re-ranking (Zehlike et al. 2017).

The stage built on them: ``inputs`` and ``world_lists`` (the rank stage's candidates with the
world's truth and cohorts), ``policies`` (each policy over every user's list), ``evaluation`` (NDCG,
expected clicks, diversity, exposure, intervals over users), ``movielens`` (directors as creators on
MovieLens 100K), and the stage's faces ``params``, ``stage``, ``metrics``, ``plots`` and ``conclusions``.
"""

from __future__ import annotations

from hermes_core.rerank.exposure import (
    category_coverage,
    disparate_exposure_ratio,
    exposure_by_group,
    exposure_gini,
    gini_coefficient,
    intra_list_diversity,
    item_exposure,
    position_exposure,
    relevance_by_group,
)
from hermes_core.rerank.exposure_parity import ParityResult, exposure_parity_rerank
from hermes_core.rerank.fair_exposure_lp import (
    BirkhoffDecomposition,
    FairExposureInfeasible,
    FairExposureSolution,
    birkhoff_decomposition,
    fair_exposure_ranking,
    sample_rankings,
)
from hermes_core.rerank.fair_topk import (
    AdjustedSignificance,
    adjust_significance,
    failure_probability,
    fair_topk_rerank,
    ranked_group_fairness_table,
    satisfies_table,
)
from hermes_core.rerank.mmr import mmr_rerank, mmr_rerank_batch

__all__ = [
    "AdjustedSignificance",
    "BirkhoffDecomposition",
    "FairExposureInfeasible",
    "FairExposureSolution",
    "ParityResult",
    "adjust_significance",
    "birkhoff_decomposition",
    "category_coverage",
    "disparate_exposure_ratio",
    "exposure_by_group",
    "exposure_gini",
    "exposure_parity_rerank",
    "failure_probability",
    "fair_exposure_ranking",
    "fair_topk_rerank",
    "gini_coefficient",
    "intra_list_diversity",
    "item_exposure",
    "mmr_rerank",
    "mmr_rerank_batch",
    "position_exposure",
    "ranked_group_fairness_table",
    "relevance_by_group",
    "sample_rankings",
    "satisfies_table",
]
