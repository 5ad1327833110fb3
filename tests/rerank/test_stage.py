"""The stage's steps (``hermes_core.rerank.stage``) end to end on the shared tiny world with hand-made
rank and encode outputs, then the metrics, diagnostics and slates they write."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hermes_core.params import deep_merge
from hermes_core.rerank import conclusions
from hermes_core.rerank import stage as st
from hermes_core.rerank.metrics import RerankResults, headline_metrics, stage_diagnostics
from hermes_core.rerank.params import POLICIES, RerankParams
from hermes_core.rerank.policies import PolicyRun, singh_joachims_run, unreranked
from hermes_core.workspace import MAX_HEADLINE_METRICS, Workspace, write_diagnostics, write_metrics
from tests.rerank.lists_fixture import make_lists
from tests.rerank.world_workspace import N_LISTS, write_workspace

SMALL = {"slate_size": 10, "max_candidates": 25, "n_bootstrap": 100,
         "mmr": {"lam": 0.5, "lam_sweep": [1.0, 0.5, 0.0]},
         "parity": {"tolerance": 0.05, "tolerance_sweep": [0.5, 0.05]},
         "singh_joachims": {"candidates": 12, "candidates_sweep": [10, 12]},
         "fair": {"p": 0.5, "p_sweep": [0.3, 0.5, 0.7]}, "movielens": {"enabled": False}}  # fmt: skip


def small_params(**changes: object) -> RerankParams:
    return RerankParams.model_validate(deep_merge(deep_merge(RerankParams().model_dump(), SMALL), changes))


@pytest.fixture(scope="module")
def run(tiny_world, tmp_path_factory: pytest.TempPathFactory) -> dict:
    workspace = write_workspace(tiny_world, tmp_path_factory.mktemp("rerank_stage"))
    params = small_params()
    loaded, note = st.load_inputs(workspace, params)
    operating = st.run_policies(loaded.lists, params)
    sweeps = st.run_sweeps(loaded.lists, params, operating)
    evaluation = st.evaluate(loaded.lists, loaded.truth, operating, sweeps, params)
    return {"workspace": workspace, "params": params, "loaded": loaded, "note": note, "operating": operating,
            "sweeps": sweeps, "evaluation": evaluation}


def test_operating_points_and_sweeps(run: dict) -> None:
    operating, sweeps = run["operating"], run["sweeps"]
    assert list(operating) == ["before", *POLICIES]
    assert [r.label for r in sweeps] == ["mmr lam=1", "mmr lam=0.5", "mmr lam=0", "parity tolerance=0.5",
                                         "parity tolerance=0.05", "singh_joachims candidates=10",
                                         "singh_joachims candidates=12", "fair p=0.3", "fair p=0.5", "fair p=0.7"]
    # the LP's operating point is a sweep point: reused, not solved twice
    assert sweeps[6] is operating["singh_joachims"]
    for policy_run in [*operating.values(), *sweeps]:
        assert policy_run.slates.shape == (N_LISTS, 10)
        for slate in policy_run.slates:  # K distinct real candidates
            assert (slate >= 0).all() and len(set(slate.tolist())) == 10


def test_evaluation_tables(run: dict) -> None:
    evaluation = run["evaluation"]
    assert list(evaluation.headline.index) == ["before", *POLICIES]
    assert list(evaluation.comparisons.index) == list(POLICIES)
    sweep = evaluation.sweep.set_index("label")
    # before + the ten sweep points (every operating point is one of them)
    assert len(sweep) == 11 and sweep["operating_point"].sum() == 4
    # lambda = 1 shows the ranker's slates; the Pareto flags exist for every row
    assert sweep.loc["mmr lam=1", "same_as_before"] and sweep.loc["before", "same_as_before"]
    assert sweep.loc["mmr lam=1", "ndcg_relative_loss"] == 0.0
    assert sweep["front_ild"].dtype == bool and sweep["front_parity"].any()
    # the headline's operating points carry the values of the same settings in the sweep
    for policy in POLICIES:
        label = evaluation.headline.loc[policy, "label"]
        assert evaluation.headline.loc[policy, "ndcg_at_10"] == pytest.approx(sweep.loc[label, "ndcg_at_10"])
    assert np.isfinite(evaluation.headline["expected_clicks"]).all()


def test_parity_convergence_edges_benchmark_and_timing(run: dict) -> None:
    evaluation, operating, params = run["evaluation"], run["operating"], run["params"]
    convergence = st.parity_convergence(run["sweeps"], operating["parity"], evaluation.sweep)
    assert convergence["tolerance"].tolist() == [0.5, 0.05]
    assert convergence.loc[convergence["tolerance"] == 0.05, "operating_point"].item()
    edges = st.sweep_edges(evaluation.sweep, params)
    assert edges.loc["mmr", "on_edge"] == False and edges.loc["singh_joachims", "on_edge"] == True  # noqa: E712
    assert edges.loc["mmr", "points_that_act"] == 2  # lambda = 1 is the ranker's order
    bench = st.benchmark(evaluation, params)
    ratio = evaluation.headline.loc[params.default_policy, "exposure_ratio"]
    assert bench["exposure_ratio"] == ratio
    assert bench["ratio_within_target"] == (0.8 <= ratio <= 1.25)
    assert bench["ndcg_within_target"] == (bench["ndcg_relative_loss"] <= 0.05)
    low, high = bench["ndcg_relative_loss_low"], bench["ndcg_relative_loss_high"]
    assert bench["ndcg_target_verdict"] == ("meets (interval inside)" if high <= 0.05 else
                                            "misses (interval outside)" if low > 0.05 else "inconclusive (interval crosses)")
    low, high = bench["exposure_ratio_low"], bench["exposure_ratio_high"]
    inside, outside = 0.8 <= low and high <= 1.25, high < 0.8 or low > 1.25
    assert bench["ratio_target_verdict"].startswith("meets" if inside else "misses" if outside else "inconclusive")
    timing = st.timing_table(operating, N_LISTS, 25, 10)
    assert timing.loc["mmr", "seconds_for_10000"] == pytest.approx(operating["mmr"].seconds * 10_000 / N_LISTS)


def test_the_lp_on_a_sample_is_timed_per_list_of_its_sample() -> None:
    lists = make_lists(np.tile(np.arange(12), (40, 1)), np.arange(12) % 2 == 0)
    run = singh_joachims_run(lists, 10, 12, seed=0, users=8)
    assert run.report["lists_reranked"] == 8 and run.report["lists_total"] == 40
    timing = st.timing_table({"before": unreranked(lists, 10), "singh_joachims": run}, 40, 12, 10)
    assert timing.loc["singh_joachims", "lists"] == 8 and timing.loc["before", "lists"] == 40
    assert timing.loc["singh_joachims", "seconds_for_10000"] == pytest.approx(run.seconds * 10_000 / 8)
    assert "measured on 40; the LP on its sample of 8" in conclusions.timing_sentence(timing, 10_000)


def test_example_row_is_the_list_the_policy_changes_most() -> None:
    lists = make_lists(np.tile(np.arange(6), (3, 1)), np.zeros(6, dtype=bool))
    before = PolicyRun("before", None, np.nan, np.tile(np.arange(3), (3, 1)), 0.0)
    after = PolicyRun("mmr", "lam", 0.5, np.array([[0, 1, 2], [0, 4, 5], [0, 1, 5]]), 0.0)
    # list 1 swaps in two items (4, 5), list 2 one, list 0 none
    assert st.example_row(lists, before, after) == 1


def test_slates_parquet_and_an_empty_one(run: dict, tmp_path: Path) -> None:
    lists, shipped = run["loaded"].lists, run["operating"][run["params"].default_policy]
    path = st.save_slates(tmp_path / "rerank", lists, shipped)
    table = pq.read_table(path).to_pandas()
    assert list(table.columns) == [f.name for f in st.SLATE_SCHEMA]
    assert len(table) == N_LISTS * 10 and table.groupby("key")["position"].apply(list).map(
        lambda p: p == list(range(1, 11))).all()
    row = table.iloc[0]
    column = int(shipped.slates[0, 0])
    assert row["item_id"] == lists.item_ids[lists.items[0, column]] and row["original_rank"] == column + 1
    assert set(table["cohort"]) <= {"independent", "mainstream"} and row["exposure"] == 1.0
    assert table["policy"].unique().tolist() == ["parity"]
    empty = pq.read_table(st.save_slates(tmp_path / "none", None, None))
    assert empty.num_rows == 0 and empty.schema.equals(st.SLATE_SCHEMA)


def test_metrics_are_numbers_and_the_diagnostics_are_json(run: dict, tmp_path: Path) -> None:
    params, evaluation, operating = run["params"], run["evaluation"], run["operating"]
    results = RerankResults(params=params, world_note=run["note"], evaluation=evaluation, operating=operating,
                            parity_convergence=st.parity_convergence(run["sweeps"], operating["parity"], evaluation.sweep),
                            sweep_edges=st.sweep_edges(evaluation.sweep, params),
                            benchmark=st.benchmark(evaluation, params),
                            timing=st.timing_table(operating, N_LISTS, 25, 10))  # fmt: skip
    metrics = headline_metrics(results)
    leaves = [v for block in metrics.values() for v in (block.values() if isinstance(block, dict) else [block])]
    assert len(leaves) <= MAX_HEADLINE_METRICS
    for block in ("ndcg_at_10", "ild", "exposure_ratio", "exposure_gini"):
        assert list(metrics[block]) == ["before", *POLICIES]
    assert metrics["default_policy_index"] == POLICIES.index("parity") == 1
    assert metrics["ndcg_at_10"]["mmr"] == pytest.approx(evaluation.headline.loc["mmr", "ndcg_at_10"])
    workspace = Workspace(tmp_path)
    write_metrics(workspace, "rerank", metrics)
    diagnostics = stage_diagnostics(results)
    assert diagnostics["default_policy"] == "parity"
    path = write_diagnostics(workspace, "rerank", diagnostics)
    json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda name: pytest.fail(f"{name} in diagnostics"))


def test_metrics_without_a_world_keep_their_keys_as_null() -> None:
    metrics = headline_metrics(RerankResults(params=small_params(), world_note="no world"))
    assert metrics["ndcg_at_10"] == dict.fromkeys(["before", *POLICIES])
    assert metrics["singh_joachims_infeasible_lists"] is None and metrics["default_policy_index"] == 1


def test_no_world_lists_give_a_reason(tmp_path: Path) -> None:
    loaded, note = st.load_inputs(Workspace(tmp_path), small_params(), source="movielens-100k")
    assert loaded is None and "world part is skipped" in note and "movielens-100k" in note
    with pytest.raises(FileNotFoundError, match=str(Workspace(tmp_path).world)):
        st.load_inputs(Workspace(tmp_path), small_params())  # the world is the source: never skipped silently
    assert st.run_movielens(small_params()) is None  # movielens.enabled: false


def test_example_slate_table(run: dict) -> None:
    loaded, operating = run["loaded"], run["operating"]
    row = st.example_row(loaded.lists, operating["before"], operating["fair"])
    example = st.example_slate(loaded.lists, loaded.truth, operating["before"], operating["fair"], row)
    assert list(example.index) == list(range(1, 11))
    assert example["before_rank"].tolist() == list(range(1, 11))
    assert set(example["after_cohort"]) <= {"independent", "mainstream"}
    assert not math.isnan(example["after_grade"].sum())
    assert isinstance(example, pd.DataFrame)
