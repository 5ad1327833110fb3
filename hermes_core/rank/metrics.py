"""``metrics/rank.json`` and ``reports/diagnostics/rank.json``, both from one :class:`RankResults`.

The headline file holds numbers only (a project rule: ``dvc metrics diff`` compares numbers), at
most 24 of them, with the same keys in every run (null for a part that did not run or a loss left
out of ``rank.losses``):

* ``ndcg_at_10`` and ``mrr``: one entry per ranker, the six losses, ``lightgbm_lambdarank``,
  ``popularity`` and ``random``, each the mean over ``rank.seeds`` on the world's test requests;
* ``train_seconds`` and ``lists_per_second``: training time and throughput of the fine ranker with
  ``rank.loss`` (mean over seeds; measured times, they vary from run to run and nothing
  downstream depends on them);
* ``pre_rank_recall``: share of the retrieved relevant candidates the pre-ranker's cut keeps;
* ``clicks``: NDCG@10 of the fine ranker trained on logged clicks, ``naive`` and ``ips``, and on the
  same slates' examination-free clicks (``examination_free``, the oracle IPS targets).

The issue's ``protocol`` is a sentence, so it is in the diagnostics (``protocol``), with every
table behind the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.rank.params import LIST_LOSSES, RankParams

RANKERS: tuple[str, ...] = (*LIST_LOSSES, "lightgbm_lambdarank", "popularity", "random")
PROTOCOL = ("world: full ranking of the retrieve stage's candidates of each logged test request; the pre-ranker "
            "keeps rank.pre_rank_top_n, the fine ranker orders them, cut candidates rank below; NDCG@k with gains "
            "2^g - 1 of the true contextual grade and ideal DCG over every retrieved candidate; MRR of the first "
            "candidate of grade >= rank.lists.relevance_grade")  # fmt: skip


@dataclass(frozen=True, eq=False)
class RankResults:
    """Everything one run of the rank stage produced (``None`` for a part that did not run)."""

    params: RankParams
    note: str
    comparison: pd.DataFrame | None = None  # evaluation.comparison_table of every ranker
    cascade: pd.DataFrame | None = None
    choices: pd.DataFrame | None = None  # stage.training_choices
    pre_rank_recall: float | None = None
    click_bias: pd.DataFrame | None = None
    observed: pd.DataFrame | None = None
    paired: dict[str, str] = field(default_factory=dict)  # sentences of the paired comparisons
    movielens: pd.DataFrame | None = None
    movielens_protocol: str | None = None
    letor: pd.DataFrame | None = None
    letor_protocol: str | None = None
    list_summary: pd.DataFrame | None = None
    pool_choice: pd.DataFrame | None = None  # stage.choose_pool_size's table
    pool_size: int | None = None
    diagnosis_grid: pd.DataFrame | None = None
    size_curve: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _column(table: pd.DataFrame | None, column: str) -> dict[str, float | None]:
    return {name: (_number(table.at[name, column]) if table is not None and name in table.index else None)
            for name in RANKERS}  # fmt: skip


def headline_metrics(results: RankResults) -> dict[str, Any]:
    """``metrics/rank.json`` (module docstring)."""
    choices = results.choices
    loss = results.params.loss
    mine = choices[choices["ranker"] == loss] if choices is not None else None
    clicks = results.click_bias
    return {
        "ndcg_at_10": _column(results.comparison, "ndcg_at_10"),
        "mrr": _column(results.comparison, "mrr"),
        "train_seconds": _number(mine["train seconds"].mean()) if mine is not None and len(mine) else None,
        "lists_per_second": _number(mine["lists per second"].mean()) if mine is not None and len(mine) else None,
        "pre_rank_recall": _number(results.pre_rank_recall),
        "clicks": {name: (_number(clicks.at[f"clicks_{name}", "ndcg_at_10"]) if clicks is not None else None)
                   for name in ("naive", "ips", "examination_free")},  # fmt: skip
    }


def _records(table: pd.DataFrame | None) -> list[dict] | None:
    if table is None:
        return None
    frame = table.reset_index() if table.index.name is not None else table
    return [{key: (None if isinstance(value, float) and not np.isfinite(value) else value)
             for key, value in row.items()} for row in frame.to_dict(orient="records")]  # fmt: skip


def stage_diagnostics(results: RankResults) -> dict[str, Any]:
    """``reports/diagnostics/rank.json``: the protocol, every table, the tuners' choices and the timings."""
    return {
        "note": results.note,
        "protocol": PROTOCOL,
        "loss": results.params.loss,
        "no_relevant": results.params.no_relevant,
        "comparison": _records(results.comparison),
        "cascade": _records(results.cascade),
        "training_choices": _records(results.choices),
        "pool_size": {"chosen": results.pool_size, "table": _records(results.pool_choice)},
        "click_bias": _records(results.click_bias),
        "observed_versus_true": _records(results.observed),
        "paired_comparisons": results.paired,
        "movielens": {"protocol": results.movielens_protocol, "table": _records(results.movielens)},
        "letor": {"protocol": results.letor_protocol, "table": _records(results.letor)},
        "lists": _records(results.list_summary),
        "diagnosis": {"model_versus_objective": _records(results.diagnosis_grid), "training_size": _records(results.size_curve)},
        "timings_seconds": results.timings,
    }


__all__ = ["PROTOCOL", "RANKERS", "RankResults", "headline_metrics", "stage_diagnostics"]
