"""What ``notebooks/07_rerank.ipynb`` runs, in the order it runs it.

1. :func:`load_inputs`: the world's lists (the rank stage's scores, the encode stage's item
   vectors, cohorts, categories) and their truth (:mod:`hermes_core.rerank.world_lists`);
2. :func:`run_policies`: the unreranked list and each policy at its operating point, timed;
3. :func:`run_sweeps`: each policy's knob over its sweep (MMR's lambda, parity's tolerance, the
   LP's pool, FA*IR's p);
4. :func:`evaluate`: every run against the truth, with intervals over users, the paired
   differences to the unreranked list and the Pareto fronts (:mod:`hermes_core.rerank.evaluation`);
5. :func:`benchmark`: the shipped policy against the issue's target, and :func:`timing_table`;
6. :func:`example_slate`: one list before and after the shipped policy;
7. :func:`run_movielens`: the policies on MovieLens 100K (:mod:`hermes_core.rerank.movielens`);
8. :func:`save_slates`: the shipped policy's slates, the stage's output for the explain stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hermes_core.rerank.evaluation import (
    SlateScores,
    Truth,
    comparisons_table,
    expected_clicks_of_runs,
    interval_verdict,
    pareto_front,
    parity_distance,
    relative_ndcg_loss,
    score_slates,
    summarise,
)
from hermes_core.rerank.inputs import CandidateLists
from hermes_core.rerank.movielens import kg_root, movielens_lists, movielens_root
from hermes_core.rerank.params import POLICIES, RerankParams
from hermes_core.rerank.policies import PolicyRun, fair_run, mmr_runs, parity_run, singh_joachims_run, unreranked
from hermes_core.rerank.world_lists import WorldLists, load_world_lists
from hermes_core.workspace import Workspace

BENCHMARK_LISTS = 10_000
"""The issue's timing benchmark: 200 candidates re-ranked to 20 for this many users."""


# ----------------------------------------------------------------------------- 1 · inputs
def load_inputs(workspace: Workspace, params: RerankParams, source: str = "world") -> tuple[WorldLists | None, str]:
    """The world's lists and truth with a sentence on them; ``None`` and the reason when ``source``
    (``data.source``) is not the synthetic world (MovieLens still runs). With the world as the
    source, missing inputs are errors (:func:`~hermes_core.rerank.world_lists.load_world_lists`)."""
    loaded = load_world_lists(workspace, params, source)
    if loaded is None:
        return None, (f"No synthetic world lists (data.source is {source!r}, not 'world'): the world part is skipped; "
                      "MovieLens still runs.")
    return loaded, loaded.note


# ----------------------------------------------------------------------------- 2 · operating points
def run_policies(lists: CandidateLists, params: RerankParams, progress: bool = False) -> dict[str, PolicyRun]:
    """``before`` and each policy at its operating point (``mmr.lam``, ``parity.tolerance``,
    ``singh_joachims.candidates``, ``fair.p``), each timed alone."""
    k = params.slate_size
    lp = params.singh_joachims
    return {
        "before": unreranked(lists, k),
        "mmr": mmr_runs(lists, [params.mmr.lam], k, params.mmr.chunk_size, progress)[0],
        "parity": parity_run(lists, k, params.parity.tolerance, params.parity.max_iterations),
        "singh_joachims": singh_joachims_run(lists, k, lp.candidates, params.seed, lp.users, progress),
        "fair": fair_run(lists, k, params.fair.p, params.fair.alpha),
    }


# ----------------------------------------------------------------------------- 3 · sweeps
def run_sweeps(lists: CandidateLists, params: RerankParams, operating: dict[str, PolicyRun],
               progress: bool = False) -> list[PolicyRun]:
    """Every sweep point of every policy; an operating point that is also a sweep point is reused
    (the LP's sampling is seeded per list, so a rerun would give the same slates)."""
    k = params.slate_size
    runs = mmr_runs(lists, list(params.mmr.lam_sweep), k, params.mmr.chunk_size, progress)
    runs += [parity_run(lists, k, t, params.parity.max_iterations) for t in params.parity.tolerance_sweep]
    lp = params.singh_joachims
    for candidates in lp.candidates_sweep:
        if candidates == lp.candidates:
            runs.append(operating["singh_joachims"])
        else:
            runs.append(singh_joachims_run(lists, k, candidates, params.seed, lp.users, progress))
    runs += [fair_run(lists, k, p, params.fair.alpha) for p in params.fair.p_sweep]
    return runs


# ----------------------------------------------------------------------------- 4 · evaluation
@dataclass(frozen=True, eq=False)
class RerankEvaluation:
    """``headline``: one row per operating point (``before`` and the four policies) with every measure
    and its interval; ``comparisons``: each policy minus ``before`` (paired); ``sweep``: one row per
    sweep point (and ``before``) with intervals (no Gini interval), the relative NDCG@10 loss with its
    paired interval, whether its slates are the unreranked ones (``same_as_before``) and the Pareto flags;
    ``scores``: the per-list values of the operating points."""

    headline: pd.DataFrame
    comparisons: pd.DataFrame
    sweep: pd.DataFrame
    scores: dict[str, SlateScores]


def evaluate(lists: CandidateLists, truth: Truth, operating: dict[str, PolicyRun], sweeps: Sequence[PolicyRun],
             params: RerankParams) -> RerankEvaluation:
    """Every run against the truth (:mod:`hermes_core.rerank.evaluation`). The sweep table holds
    ``before``, every sweep point and each operating point that is not one; its Pareto flags:
    ``front_ild`` (NDCG@10 and ILD both higher) and ``front_parity`` (NDCG@10 higher,
    :math:`|\\log \\mathrm{DER}|` lower), over all methods' points together."""
    boot = {"n_bootstrap": params.n_bootstrap, "seed": params.seed, "level": params.ci_level}
    names = list(operating)
    swept = {run.label for run in sweeps}
    sweeps = list(sweeps) + [operating[name] for name in names if name != "before" and operating[name].label not in swept]
    all_runs = [operating[name] for name in names] + sweeps
    clicks = expected_clicks_of_runs(lists, truth, all_runs)
    scores = {name: score_slates(lists, truth, operating[name].slates, clicks[i]) for i, name in enumerate(names)}
    headline = pd.DataFrame([summarise(lists, truth, operating[name], scores[name], gini_interval=True, **boot)
                             for name in names]).set_index("policy")  # fmt: skip
    comparisons = comparisons_table(scores["before"], {n: scores[n] for n in names if n != "before"}, **boot)
    rows = []
    for i, run in enumerate([operating["before"], *sweeps]):
        run_scores = scores["before"] if i == 0 else score_slates(lists, truth, run.slates, clicks[len(names) + i - 1])
        row = summarise(lists, truth, run, run_scores, **boot)
        loss, low, high = relative_ndcg_loss(scores["before"], run_scores, **boot)
        row.update({"ndcg_relative_loss": loss, "ndcg_relative_loss_low": low, "ndcg_relative_loss_high": high,
                    "same_as_before": bool(np.array_equal(run.slates, operating["before"].slates))})  # fmt: skip
        rows.append(row)
    sweep = pd.DataFrame(rows)
    sweep["parity_distance"] = parity_distance(sweep["exposure_ratio"])
    sweep["front_ild"] = pareto_front(sweep, "ndcg_at_10", "ild")
    sweep["front_parity"] = pareto_front(sweep, "ndcg_at_10", "parity_distance", other_better="lower")
    operating_labels = {operating[name].label for name in POLICIES}
    sweep["operating_point"] = sweep["label"].isin(operating_labels)
    return RerankEvaluation(headline=headline, comparisons=comparisons, sweep=sweep, scores=scores)


def parity_convergence(sweeps: Sequence[PolicyRun], operating: PolicyRun, sweep_table: pd.DataFrame) -> pd.DataFrame:
    """Per tolerance of the parity sweep (and the operating point): the multiplier the bisection
    converged to, its log-boost, the boosted cohort, the estimated ratio it reached (on the mapped
    scores) beside the true ratio, whether it converged and in how many evaluations."""
    true_ratio = sweep_table.set_index("label")["exposure_ratio"]
    rows = []
    for run in [r for r in sweeps if r.policy == "parity"] + [operating]:
        report = run.report
        rows.append({"tolerance": run.value, "operating_point": run is operating, "multiplier": report["multiplier"],
                     "log_boost": report["log_boost"], "boosted_cohort": report["boosted_cohort"] or "none",
                     "estimated_ratio_start": report["estimated_ratio_at_m1"],
                     "estimated_ratio": report["estimated_ratio"], "true_ratio": float(true_ratio.get(run.label, np.nan)),
                     "converged": report["converged"], "evaluations": report["evaluations"],
                     "reason": report["reason"]})  # fmt: skip
    return pd.DataFrame(rows).drop_duplicates(subset=["tolerance"], keep="last").sort_values(
        "tolerance", ascending=False).reset_index(drop=True)


def sweep_edges(sweep_table: pd.DataFrame, params: RerankParams) -> pd.DataFrame:
    """For each policy: its operating value, whether it lies on an edge of its sweep, and whether the
    knob acts: how many sweep points give slates other than the unreranked ones."""
    operating_value = {"mmr": params.mmr.lam, "parity": params.parity.tolerance,
                       "singh_joachims": float(params.singh_joachims.candidates), "fair": params.fair.p}
    rows = []
    for policy in POLICIES:
        part = sweep_table[sweep_table["policy"] == policy]
        values = part["value"].to_numpy(dtype=float)
        changed = ~part["same_as_before"].to_numpy(dtype=bool)
        value = operating_value[policy]
        rows.append({"policy": policy, "operating_value": value, "sweep_min": values.min(), "sweep_max": values.max(),
                     "on_edge": bool(np.isclose(value, values.min()) or np.isclose(value, values.max())),
                     "points": int(values.size), "points_that_act": int(changed.sum())})  # fmt: skip
    return pd.DataFrame(rows).set_index("policy")


# ----------------------------------------------------------------------------- 5 · benchmark and timing
def benchmark(evaluation: RerankEvaluation, params: RerankParams) -> dict[str, float | bool | str]:
    """The issue's target for the shipped policy: relative NDCG@10 loss at most
    ``target.max_ndcg_loss`` and the true disparate-exposure ratio in
    ``[target.ratio_low, target.ratio_high]``; both numbers with their intervals, each criterion's
    point verdict (``*_within_target``) and interval verdict (``*_target_verdict``:
    :func:`~hermes_core.rerank.evaluation.interval_verdict`), and the unreranked ratio (already in
    the band or not)."""
    name = params.default_policy
    row = evaluation.headline.loc[name]
    loss = evaluation.comparisons.loc[name]
    target = params.target
    ratio = float(row["exposure_ratio"])
    before_ratio = float(evaluation.headline.loc["before", "exposure_ratio"])
    return {"policy": name, "ndcg_relative_loss": float(loss["ndcg_relative_loss"]),
            "ndcg_relative_loss_low": float(loss["ndcg_relative_loss_low"]),
            "ndcg_relative_loss_high": float(loss["ndcg_relative_loss_high"]),
            "exposure_ratio": ratio, "exposure_ratio_low": float(row["exposure_ratio_low"]),
            "exposure_ratio_high": float(row["exposure_ratio_high"]), "before_exposure_ratio": before_ratio,
            "max_ndcg_loss": target.max_ndcg_loss, "ratio_low": target.ratio_low, "ratio_high": target.ratio_high,
            "ndcg_within_target": bool(loss["ndcg_relative_loss"] <= target.max_ndcg_loss),
            "ratio_within_target": bool(target.ratio_low <= ratio <= target.ratio_high),
            "ndcg_target_verdict": interval_verdict(float(loss["ndcg_relative_loss_low"]),
                                                    float(loss["ndcg_relative_loss_high"]), upper=target.max_ndcg_loss),
            "ratio_target_verdict": interval_verdict(float(row["exposure_ratio_low"]), float(row["exposure_ratio_high"]),
                                                     target.ratio_low, target.ratio_high),
            "before_ratio_within_target": bool(target.ratio_low <= before_ratio <= target.ratio_high)}  # fmt: skip


def timing_table(operating: dict[str, PolicyRun], n_lists: int, n_candidates: int, k: int) -> pd.DataFrame:
    """Seconds of each policy at its operating point on these lists, per list, and extrapolated
    linearly to :data:`BENCHMARK_LISTS` lists (every policy's cost is per list; parity's bisection
    re-sorts all lists a bounded number of times). ``lists`` is the lists a policy re-ranked: the LP
    with a ``singh_joachims.users`` sample is timed per list over its sample only."""
    rows = []
    for name, run in operating.items():
        measured = int(run.report.get("lists_reranked", n_lists))
        rows.append({"policy": name, "setting": run.label, "lists": measured, "candidates": n_candidates, "slate": k,
                     "seconds": run.seconds, "ms_per_list": 1000.0 * run.seconds / measured,
                     f"seconds_for_{BENCHMARK_LISTS}": run.seconds * BENCHMARK_LISTS / measured})  # fmt: skip
    return pd.DataFrame(rows).set_index("policy")


# ----------------------------------------------------------------------------- 6 · example
def example_row(lists: CandidateLists, before: PolicyRun, after: PolicyRun) -> int:
    """The list whose shipped slate differs most from the unreranked one (most items swapped in;
    ties: the first), so the example shows what the policy does."""
    changed = np.array([np.setdiff1d(a[a >= 0], b[b >= 0]).size for a, b in zip(after.slates, before.slates)])
    return int(np.argmax(changed))


def example_slate(lists: CandidateLists, truth: Truth, before: PolicyRun, after: PolicyRun, row: int) -> pd.DataFrame:
    """Positions 1..K of list ``row`` before and after: item, ranker's rank, cohort, true grade."""
    out: dict[str, object] = {"position": np.arange(1, before.slates.shape[1] + 1)}
    for name, run in (("before", before), ("after", after)):
        columns = run.slates[row]
        real = columns >= 0
        safe = np.maximum(columns, 0)
        out[f"{name}_item"] = np.where(real, lists.item_ids[lists.items[row, safe]], "")
        out[f"{name}_rank"] = np.where(real, lists.ranks[row, safe], 0)
        out[f"{name}_cohort"] = np.where(real, np.where(lists.protected[row, safe], lists.protected_name,
                                                        lists.other_name), "")  # fmt: skip
        out[f"{name}_grade"] = np.where(real, truth.grades[row, safe], np.nan)
    return pd.DataFrame(out).set_index("position")


# ----------------------------------------------------------------------------- 7 · MovieLens
@dataclass(frozen=True, eq=False)
class MovielensResult:
    """The policies on MovieLens 100K: the results table (every measure with its interval; no
    expected clicks), the paired differences to the unreranked list, the LP's and parity's
    reports, the timings and the summary of how the lists were built."""

    headline: pd.DataFrame
    comparisons: pd.DataFrame
    reports: dict[str, dict]
    timing: pd.DataFrame
    summary: dict[str, float | int | str]


def run_movielens(params: RerankParams, progress: bool = False) -> MovielensResult | None:
    """Each policy at its operating point on MovieLens 100K (``None`` when ``rerank.movielens.enabled``
    is false; enabled and missing is an error naming the folder and the parameter)."""
    root = movielens_root(params)
    if root is None:
        return None
    data = movielens_lists(root, kg_root(params), params)
    operating = run_policies(data.lists, params, progress)
    evaluation = evaluate(data.lists, data.truth, operating, [], params)
    return MovielensResult(headline=evaluation.headline, comparisons=evaluation.comparisons,
                           reports={name: run.report for name, run in operating.items() if run.report},
                           timing=timing_table(operating, data.lists.n_lists, data.lists.n_candidates,
                                               params.slate_size), summary=data.summary)  # fmt: skip


# ----------------------------------------------------------------------------- 8 · outputs
SLATE_SCHEMA = pa.schema([("key", pa.string()), ("user_id", pa.string()), ("policy", pa.string()),
                          ("position", pa.int64()), ("item_id", pa.string()), ("score", pa.float64()),
                          ("relevance", pa.float64()), ("original_rank", pa.int64()), ("cohort", pa.string()),
                          ("category", pa.string()), ("exposure", pa.float64())])  # fmt: skip


def slate_frame(lists: CandidateLists, run: PolicyRun) -> pd.DataFrame:
    """One row per shown item of every slate of ``run``: the key, the user, the policy, the position
    (1 = top), the item, the ranker's score, the policy's relevance :math:`u`, the ranker's rank,
    the cohort, the category and the position's exposure :math:`1/\\log_2(1 + \\text{position})`."""
    rows, positions = np.nonzero(run.slates >= 0)
    columns = run.slates[rows, positions]
    items = lists.items[rows, columns]
    category = lists.item_category
    names = np.asarray(lists.category_names, dtype=object)
    category_text = (names[category[items]] if category.ndim == 1
                     else np.array(["|".join(names[flags]) for flags in category[items]], dtype=object))  # fmt: skip
    return pd.DataFrame({
        "key": lists.keys[rows].astype(str), "user_id": lists.user_ids[rows].astype(str), "policy": run.policy,
        "position": positions + 1, "item_id": lists.item_ids[items].astype(str), "score": lists.scores[rows, columns],
        "relevance": lists.relevance[rows, columns], "original_rank": lists.ranks[rows, columns],
        "cohort": np.where(lists.protected[rows, columns], lists.protected_name, lists.other_name),
        "category": category_text.astype(str), "exposure": 1.0 / np.log2(positions + 2.0),
    })  # fmt: skip


def save_slates(folder: Path, lists: CandidateLists | None, run: PolicyRun | None) -> Path:
    """``data/rerank/slates.parquet``: the shipped policy's slate of every list (:func:`slate_frame`),
    or an empty table with the same columns when there is no world."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slates.parquet"
    if lists is None or run is None:
        pq.write_table(SLATE_SCHEMA.empty_table(), path)
    else:
        pq.write_table(pa.Table.from_pandas(slate_frame(lists, run), schema=SLATE_SCHEMA, preserve_index=False), path)
    return path


__all__ = ["BENCHMARK_LISTS", "MovielensResult", "RerankEvaluation", "SLATE_SCHEMA", "benchmark", "evaluate",
           "example_row", "example_slate", "load_inputs", "parity_convergence", "run_movielens", "run_policies",
           "run_sweeps", "save_slates", "slate_frame", "sweep_edges", "timing_table"]
