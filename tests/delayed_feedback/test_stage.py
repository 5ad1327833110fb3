"""The stage's pieces end to end on a small synthetic stream (the notebook test runs the world's):
tables, the 24 headline metrics, diagnostics that serialise, every figure with its data, conclusions."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hermes_core.delayed_feedback import conclusions, plots  # noqa: E402
from hermes_core.delayed_feedback import stage as st  # noqa: E402
from hermes_core.delayed_feedback.assumptions import CLAIM_THRESHOLD  # noqa: E402
from hermes_core.delayed_feedback.delays import delays_by_domain  # noqa: E402
from hermes_core.delayed_feedback.metrics import DelayedFeedbackResults, headline_metrics, stage_diagnostics  # noqa: E402
from hermes_core.delayed_feedback.params import DelayedFeedbackParams  # noqa: E402
from hermes_core.delayed_feedback.summary import ordering_check, over_time  # noqa: E402
from hermes_core.workspace import Workspace, write_diagnostics, write_metrics  # noqa: E402
from hermes_core.world.params import ConversionParams  # noqa: E402
from tests.delayed_feedback.synthetic import synthetic_stream  # noqa: E402

PARAMS = DelayedFeedbackParams.model_validate({
    "seeds": [0, 1], "protocol": {"pretrain_days": 6.0, "window_days": 1.0, "n_windows": 3},
    "model": {"embedding_dim": 4, "hidden_units": 8, "batch_size": 64},
    "auxiliary": {"embedding_dim": 4, "hidden_units": 8, "batch_size": 64, "min_steps": 10, "label_age_days": 2.0,
                  "fsiw_counterfactual_days": 1.0},
    "delay_comparison": {"distributions": ["exponential", "weibull"], "n_seeds": 1},
    "problem": {"max_elapsed_days": 5.0, "grid_points": 11},
})
CONVERSIONS = ConversionParams(click_days=12, attribution_window_days=5.0)


@pytest.fixture(scope="module")
def results() -> DelayedFeedbackResults:
    stream = synthetic_stream(n=1200, mean_delay=1.0)
    problem = st.problem_tables(stream, CONVERSIONS, PARAMS)
    features = st.click_features(stream, PARAMS)
    config = st.protocol_config(PARAMS, CONVERSIONS)
    runs = st.run_streaming(stream, features, config, PARAMS.seeds, progress=False)
    windows, per_seed, table = st.seed_summary(runs)
    comparison = st.run_delay_comparison(stream, CONVERSIONS, config, PARAMS, progress=False)
    return DelayedFeedbackResults(
        params=PARAMS, stream_note="synthetic", protocol=config, attribution_window_days=5.0,
        n_windows=int(windows["window"].nunique()), table=table, summary=per_seed, windows=windows,
        ordering=ordering_check(table, per_seed), problem=problem,
        weight_check=st.elapsed_weight_on_clicks(runs[0], stream, PARAMS),
        auxiliary=st.auxiliary_checks(runs[0], stream, features, config),
        auxiliary_training={str(r.seed): r.auxiliary.summary() for r in runs}, throughput=st.throughput(runs),
        comparison=comparison, timings={"stage": 1.0})  # fmt: skip


def test_headline_metrics_are_24_numbers(results: DelayedFeedbackResults, tmp_path) -> None:
    metrics = headline_metrics(results)
    assert set(metrics) == {"vanilla", "oracle", "ri_auc", "ri_prauc", "ri_nll"}
    assert set(metrics["vanilla"]) == set(metrics["oracle"]) == {"auc", "prauc", "nll"}
    corrections = {"dfm", "fnw", "fsiw", "esdfm", "defer", "elapsed_weight"}
    assert all(set(metrics[key]) == corrections for key in ("ri_auc", "ri_prauc", "ri_nll"))
    assert sum(len(v) for v in metrics.values()) == 24
    # the metrics determine every method's value: x_m = x_v + RI (x_o - x_v)
    table = results.table
    v, o = metrics["vanilla"]["auc"], metrics["oracle"]["auc"]
    assert v + metrics["ri_auc"]["fnw"] * (o - v) == pytest.approx(table.loc["fnw", "auc_mean"])
    path = write_metrics(Workspace(tmp_path), "delayed_feedback", metrics)  # the house limits (24, 2 levels)
    assert json.loads(path.read_text())["vanilla"]["auc"] == pytest.approx(v, abs=1e-6)


def test_diagnostics_serialise(results: DelayedFeedbackResults, tmp_path) -> None:
    diagnostics = stage_diagnostics(results)
    path = write_diagnostics(Workspace(tmp_path), "delayed_feedback", diagnostics)
    saved = json.loads(path.read_text())
    assert saved["protocol"]["n_windows"] == 3 and saved["protocol"]["seeds"] == [0, 1]
    assert len(saved["methods"]) == 8 and {"auc_sd", "ri_auc_seed_min"} <= set(saved["methods"][0])
    assert set(saved["delay_comparison"]["methods"]) == {"exponential", "weibull"}
    assert len(saved["windows"]) == 2 * 8 * 3


def test_every_figure_has_its_data(results: DelayedFeedbackResults) -> None:
    stream = synthetic_stream(n=1200, mean_delay=1.0)
    figures = [
        plots.unseen_share(results.problem.unseen, results.problem.exponential, 1.0),
        plots.delay_histogram(delays_by_domain(stream), 5.0),
        plots.elapsed_weight(st.elapsed_weight_table(CONVERSIONS, PARAMS), CLAIM_THRESHOLD),
        plots.metrics_over_time(over_time(results.windows)),
        plots.relative_improvement(results.table),
        plots.delay_comparison(results.comparison.tables, "auc"),
    ]
    for fig, data in figures:
        assert len(data) > 0 and len(data.columns) > 1
        plt.close(fig)


def test_conclusions_are_sentences(results: DelayedFeedbackResults) -> None:
    time_table = over_time(results.windows)
    lines = [conclusions.problem_sentence(results.problem.delays, time_table, 1.0),
             conclusions.exponential_sentence(results.problem.delays),
             conclusions.weight_claim_sentence(results.weight_check),
             conclusions.auxiliary_sentence(results.auxiliary),
             *conclusions.goal_sentences(results.table),
             conclusions.ordering_sentence(results.ordering, results.table),
             *conclusions.method_sentences(results.table),
             conclusions.elapsed_weight_sentence(results.table, time_table),
             *conclusions.comparison_sentences(results.comparison.tables),
             conclusions.throughput_sentence(results.throughput, "cpu", 1.0)]
    assert all(isinstance(line, str) and line.endswith(".") for line in lines)
    assert not any("nan" in line for line in lines[:3])
    assert np.isfinite(results.weight_check["w_0h_median"])
