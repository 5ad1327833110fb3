"""The rank stage's parts that need no world run: LETOR end to end, metrics, diagnosis grid, sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hermes_core.rank import conclusions, stage as st
from hermes_core.rank.diagnosis import model_versus_objective
from hermes_core.rank.evaluation import SeedRuns
from hermes_core.rank.lambdamart import train_lambdamart
from hermes_core.rank.lists import RankingLists
from hermes_core.rank.metrics import RANKERS, RankResults, headline_metrics, stage_diagnostics
from hermes_core.rank.params import LightgbmParams, RankParams

torch.set_num_threads(1)


def _write_letor(path, n_queries: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = []
    for q in range(n_queries):
        for _ in range(20):
            x = rng.normal(size=3)
            grade = int(np.clip(np.round(1.2 * x[0] + 1.5), 0, 4))
            lines.append(f"{grade} qid:{q} 1:{x[0]:.4f} 2:{x[1]:.4f} 3:{x[2]:.4f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_letor_files_run_through_every_loss_and_lambdamart(tmp_path) -> None:
    for name, seed in (("train", 0), ("vali", 1), ("test", 2)):
        _write_letor(tmp_path / f"{name}.txt", 40, seed)
    params = RankParams(seeds=(0,), losses=("listmle", "softmax"), loss="listmle", n_bootstrap=50,
                        fine={"epochs": 15, "hidden": (8,), "cross_layers": 1, "batch_lists": 8, "learning_rate": 0.01},
                        lightgbm={"n_estimators": 20, "min_data_in_leaf": 5, "early_stopping_rounds": 5},
                        letor={"train_path": str(tmp_path / "train.txt"), "validation_path": str(tmp_path / "vali.txt"),
                               "test_path": str(tmp_path / "test.txt")})
    result = st.run_letor(params, torch.device("cpu"))
    assert set(result.table.index) == {"listmle", "softmax", "lightgbm_lambdarank", "random"}
    assert result.summary["queries"].tolist() == [40, 40, 40]
    # the grades are a monotone function of feature 1: every learner beats a random order
    for ranker in ("listmle", "lightgbm_lambdarank"):
        assert result.table.at[ranker, "ndcg_at_10"] > result.table.at["random", "ndcg_at_10"] + 0.15
    assert st.run_letor(RankParams(), torch.device("cpu")) is None


def test_lambdamart_objectives_and_edge_report() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 8, 2)).astype(np.float32)
    labels = np.clip(np.round(features[:, :, 0] + 1.5), 0, 4).astype(np.float32)
    lists = RankingLists(features, labels, np.ones((60, 8), bool), np.tile(np.arange(8), (60, 1)))
    params = LightgbmParams(n_estimators=15, min_data_in_leaf=5, early_stopping_rounds=5)
    for objective in ("lambdarank", "regression"):
        model = train_lambdamart(lists.subset(np.arange(40)), lists.subset(np.arange(40, 60)), params, 0, 1, objective)
        assert 1 <= model.best_iteration <= 15
        assert np.isfinite(model.score(lists)).all()
    with pytest.raises(ValueError, match="objective"):
        train_lambdamart(lists, lists, params, 0, 1, "binary")


def test_headline_metrics_keep_their_keys_when_nothing_ran() -> None:
    metrics = headline_metrics(RankResults(params=RankParams(), note="no world"))
    assert set(metrics["ndcg_at_10"]) == set(RANKERS) and all(v is None for v in metrics["ndcg_at_10"].values())
    assert metrics["clicks"] == {"naive": None, "ips": None, "examination_free": None} and metrics["train_seconds"] is None
    leaves = sum(len(v) if isinstance(v, dict) else 1 for v in metrics.values())
    assert leaves <= 24
    assert stage_diagnostics(RankResults(params=RankParams(), note="no world"))["protocol"].startswith("world:")


def test_model_versus_objective_grid_reads_the_comparison() -> None:
    table = pd.DataFrame({"ndcg_at_10": [0.5, 0.55, 0.56, 0.6]},
                         index=["pointwise_bce", "lambdaloss", "listmle", "lightgbm_lambdarank"])
    grid = model_versus_objective(table, pd.DataFrame({"seed": [0, 1], "ndcg_at_10": [0.58, 0.60]}))
    assert grid.loc["DCN-v2 network"].tolist()[:2] == [0.5, 0.55]
    assert grid.loc["gradient-boosted trees", "pointwise"] == pytest.approx(0.59)
    assert grid.loc["gradient-boosted trees", "lambda-weighted pairs"] == 0.6
    size = pd.DataFrame({"n_lists": [10, 10, 20, 20], "ranker": ["listmle", "lightgbm_lambdarank"] * 2,
                         "ndcg_at_10": [0.4, 0.5, 0.55, 0.58]})
    lines = conclusions.diagnosis_sentences(grid, size, "listmle")
    assert "+0.0900" in lines[0] and "model class" in lines[1] and "narrows" in lines[2]
    wider = size.assign(ndcg_at_10=[0.5, 0.5, 0.55, 0.6])
    assert "widens" in conclusions.diagnosis_sentences(grid, wider, "listmle")[2]


def test_loss_sentences_call_ties_and_wins_from_the_intervals() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.7, size=400)
    runs = {"listmle": {"ndcg_at_10": SeedRuns("listmle", np.stack([base + 0.05, base + 0.05]))},
            "softmax": {"ndcg_at_10": SeedRuns("softmax", np.stack([base + 0.05 + rng.normal(0, 1e-3, 400)] * 2))},
            "lightgbm_lambdarank": {"ndcg_at_10": SeedRuns("lgb", base[None, :])}}
    table = pd.DataFrame({"ndcg_at_10": [base.mean() + 0.05, base.mean() + 0.05 - 1e-5, base.mean()],
                          "ndcg_at_10_seed_sd": [0.0, 0.0, np.nan]}, index=["listmle", "softmax", "lightgbm_lambdarank"])
    lines = conclusions.loss_sentences(runs, table, ("listmle", "softmax"), 200, 0)
    assert "listmle beats lightgbm_lambdarank" in lines[0]
    assert "meets the benchmark goal" in lines[1]
    assert lines[2].startswith("Within the noise of listmle") and "softmax" in lines[2]


def test_observed_sentence_reports_the_rank_agreement() -> None:
    table = pd.DataFrame({"ndcg_at_5_clicks": [0.3, 0.2, 0.1], "ndcg_at_5_truth": [0.1, 0.2, 0.3]}, index=["a", "b", "c"])
    sentence = conclusions.observed_sentence(table, 5)
    assert "-1.00" in sentence and "clicks put a first, the truth c." in sentence


def test_click_sentences_read_ips_against_naive_and_the_oracle() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 0.6, size=300)
    runs = {"clicks_naive": {"ndcg_at_10": SeedRuns("n", base[None, :] + 0.02)},
            "clicks_ips": {"ndcg_at_10": SeedRuns("i", base[None, :])},
            "clicks_examination_free": {"ndcg_at_10": SeedRuns("o", base[None, :] + 0.1)},
            "softmax": {"ndcg_at_10": SeedRuns("s", base[None, :] + 0.2)}}
    lines = conclusions.click_sentences(runs, "softmax", 200, 0, 100, 250)
    assert "clicks_ips loses to clicks_naive" in lines[0] and "clicks_ips loses to clicks_examination_free" in lines[1]
    assert "falls short" in lines[2] and "100 logged clicks against the oracle's 250" in lines[2]
    # IPS as good as its oracle but below naive: the correction works and the position bias carried signal
    runs["clicks_examination_free"] = {"ndcg_at_10": SeedRuns("o", base[None, :])}
    assert "reaches what its correction promises" in conclusions.click_sentences(runs, "softmax", 200, 0)[2]
