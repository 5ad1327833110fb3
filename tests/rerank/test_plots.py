"""The figures (``hermes_core.rerank.plots``): each draws from the stage's tables and returns the tidy
table it drew, one row per point, ready for ``save_figure``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hermes_core.figures import save_figure  # noqa: E402
from hermes_core.params import deep_merge  # noqa: E402
from hermes_core.rerank import plots, stage as st  # noqa: E402
from hermes_core.rerank.params import RerankParams  # noqa: E402
from tests.rerank.lists_fixture import make_lists, make_truth  # noqa: E402


@pytest.fixture(scope="module")
def results() -> dict:
    rng = np.random.default_rng(8)
    items = np.stack([rng.choice(60, size=16, replace=False) for _ in range(40)])
    lists = make_lists(items, rng.random(60) < 0.45, vectors=rng.normal(size=(60, 5)))
    truth = make_truth(rng.integers(0, 5, size=items.shape), clicks=lambda row, slates: slates.mean(axis=1) / 60)
    params = RerankParams.model_validate(deep_merge(RerankParams().model_dump(), {
        "slate_size": 10, "max_candidates": 16, "n_bootstrap": 100, "mmr": {"lam_sweep": [1.0, 0.8, 0.3]},
        "parity": {"tolerance": 0.05, "tolerance_sweep": [0.3, 0.05, 0.01]},
        "singh_joachims": {"candidates": 12, "candidates_sweep": [10, 12, 14]}, "fair": {"p_sweep": [0.4, 0.6, 0.8]}}))
    operating = st.run_policies(lists, params)
    sweeps = st.run_sweeps(lists, params, operating)
    evaluation = st.evaluate(lists, truth, operating, sweeps, params)
    example = st.example_slate(lists, truth, operating["before"], operating["parity"],
                               st.example_row(lists, operating["before"], operating["parity"]))
    return {"operating": operating, "evaluation": evaluation, "example": example,
            "timing": st.timing_table(operating, lists.n_lists, lists.n_candidates, 10)}


def test_every_figure_returns_its_table_and_saves(results: dict, tmp_path: Path) -> None:
    evaluation = results["evaluation"]
    figures = {
        "diversity": plots.diversity_tradeoff(evaluation.sweep),
        "exposure": plots.exposure_tradeoff(evaluation.sweep, (0.8, 1.25)),
        "pareto": plots.pareto_fronts(evaluation.sweep),
        "summary": plots.policy_summary(evaluation.headline),
        "parity": plots.parity_path(results["operating"]["parity"].report),
        "example": plots.example_slate(results["example"], "independent"),
        "timing": plots.timing(results["timing"], st.BENCHMARK_LISTS),
        "movielens": plots.movielens_points(evaluation.headline),
    }
    # one row per drawn point: all sweep rows; the exposure figure leaves MMR out
    assert len(figures["diversity"][1]) == len(evaluation.sweep)
    assert len(figures["exposure"][1]) == int((evaluation.sweep["policy"] != "mmr").sum())
    assert len(figures["example"][1]) == 10 and len(figures["timing"][1]) == 4
    for name, (figure, data) in figures.items():
        assert not data.empty, name
        assert save_figure(figure, data, tmp_path, name).is_file()
        plt.close(figure)
