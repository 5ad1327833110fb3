r"""Scoring rankings against the world's truth: NDCG@k, MRR and expected clicks, with their uncertainty.

**Protocol** (labelled in every table): full ranking of the retrieve stage's candidates of each
logged test request (up to ``retrieve.candidates.top_n``); the fine rankers order the pre-ranker's
top ``pre_rank_top_n`` and every candidate the pre-ranker cut ranks below them. NDCG@k uses gains
:math:`2^g - 1` of the true contextual grade and the log2 discount, and its ideal DCG is that of
**all retrieved candidates**, so a relevant item lost by the pre-ranker's cut costs every ranker
after it (the cost of the cut is the ceiling's gap to 1). MRR is the reciprocal rank of the first
candidate of grade :math:`\ge` ``relevance_grade`` (binary, so that a grade-1 item does not count).
Lists without a relevant item follow ``rank.no_relevant`` (skip, one or zero).

**Expected clicks** of the top :math:`K` (the world's slate size) under the world's click model
(``World.expected_clicks``: position-based examination, attractiveness of the continuous grade,
similarity fatigue), given the session and its context: the value of showing the slate.

**Uncertainty.** A ranker trained with several seeds has one per-request value per seed; its
interval is the percentile bootstrap over requests of the seed-averaged values, and its spread the
standard deviation over seeds of the seed means. Two rankers are compared by the paired bootstrap
over requests (:func:`~hermes_core.evaluation.bootstrap.paired_bootstrap`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.evaluation.bootstrap import paired_bootstrap, resampled_means
from hermes_core.evaluation.ranking import NoRelevant, mrr, ndcg_at_k
from hermes_core.evaluation.verdict import Comparison
from hermes_core.world.simulate import request_context
from hermes_core.world.world import World


def per_request_metrics(scores: np.ndarray, grades: np.ndarray, ks: tuple[int, ...], relevance_grade: int,
                        no_relevant: NoRelevant) -> dict[str, np.ndarray]:
    """``{"ndcg_at_<k>": (n,), ..., "mrr": (n,)}`` per request (NaN where a list is skipped)."""
    out = {f"ndcg_at_{k}": ndcg_at_k(scores, grades, k, no_relevant).per_query for k in ks}
    out["mrr"] = mrr(scores, grades >= relevance_grade, None, no_relevant).per_query
    return out


def top_items(scores: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` item indices of the ``k`` highest scores of each row (ties: lower column first)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(items, order, axis=1)


def expected_clicks(world: World, requests: np.ndarray, sessions: list[np.ndarray],
                    slates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{name: (n,)}`` expected clicks of each request's slate ``slates[name][row] (K,)`` under the
    world's click model, given the session and the request's context (module docstring)."""
    logs = world.logs
    names = list(slates)
    out = {name: np.zeros(len(requests)) for name in names}
    for row, r in enumerate(requests):
        stacked = np.stack([slates[name][row] for name in names])  # (m, K)
        if (stacked < 0).any():
            raise ValueError(f"request {int(r)}: a slate has padding in its top positions")
        context = request_context(logs.modality_intent[r:r + 1], logs.timestamp[r:r + 1])
        values = world.expected_clicks(int(logs.user[r]), sessions[row], stacked, context)
        for j, name in enumerate(names):
            out[name][row] = values[j]
    return out


@dataclass(frozen=True)
class SeedRuns:
    """One ranker's per-request values of one measure, ``(n_seeds, n)`` (NaN: list skipped)."""

    name: str
    values: np.ndarray

    @property
    def averaged(self) -> np.ndarray:
        """``(n,)`` mean over seeds per request."""
        counted = ~np.isnan(self.values)
        totals = np.where(counted, self.values, 0.0).sum(axis=0)
        n = counted.sum(axis=0)
        return np.where(n > 0, totals / np.maximum(n, 1), np.nan)

    def summary(self, n_bootstrap: int, seed: int, level: float = 0.95) -> dict[str, float]:
        """``mean``, ``seed_sd`` (sd of the seed means; NaN with one seed), ``ci_low``/``ci_high``
        (bootstrap over requests of the seed-averaged values)."""
        averaged = self.averaged
        kept = averaged[~np.isnan(averaged)]
        seed_means = np.nanmean(self.values, axis=1)
        resampled = resampled_means(kept[:, None], n_bootstrap, seed)[:, 0]
        alpha = 1.0 - level
        return {"mean": float(kept.mean()), "seed_sd": float(seed_means.std(ddof=1)) if len(seed_means) > 1 else np.nan,
                "ci_low": float(np.quantile(resampled, alpha / 2)), "ci_high": float(np.quantile(resampled, 1 - alpha / 2)),
                "n_seeds": len(seed_means), "n_requests": int(kept.size)}  # fmt: skip


def comparison_table(runs: dict[str, dict[str, SeedRuns]], headline: str, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """One row per ranker: the mean of every measure, and for ``headline`` its seed spread and interval."""
    rows = []
    for name, measures in runs.items():
        row: dict[str, float | str] = {"ranker": name}
        for measure, run in measures.items():
            row[measure] = float(np.nanmean(run.averaged))
        summary = measures[headline].summary(n_bootstrap, seed)
        row.update({f"{headline}_seed_sd": summary["seed_sd"], f"{headline}_ci_low": summary["ci_low"],
                    f"{headline}_ci_high": summary["ci_high"], "n_seeds": summary["n_seeds"]})  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows).set_index("ranker")


def paired_comparison(a: SeedRuns, b: SeedRuns, n_bootstrap: int, seed: int) -> Comparison:
    """``a − b`` on the seed-averaged per-request values, paired bootstrap over requests."""
    return paired_bootstrap(a.averaged, b.averaged, n_bootstrap=n_bootstrap, seed=seed, drop_missing=True)


__all__ = ["SeedRuns", "comparison_table", "expected_clicks", "paired_comparison", "per_request_metrics",
           "top_items"]
