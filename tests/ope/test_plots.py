"""The OPE figures (``hermes_core.ope.plots``) return the tidy table they draw, value for value."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hermes_core.ope import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_world_errors_data_is_the_plotted_columns() -> None:
    table = pd.DataFrame({"relative_ee_mean": [0.1, 0.3], "relative_ee_std": [0.01, 0.02], "coverage": [0.9, 0.5],
                          "n_resamples": [4, 4]}, index=pd.Index(["dr", "ipw"], name="estimator"))  # fmt: skip
    fig, data = plots.world_errors(table, "greedy-true", 0.95)
    bars = [patch.get_height() for patch in fig.axes[0].patches]
    assert bars == pytest.approx([0.1, 0.3]) and data["relative_ee_mean"].tolist() == bars
    assert data.to_dict("list") == {"estimator": ["dr", "ipw"], "relative_ee_mean": [0.1, 0.3],
                                    "relative_ee_std": [0.01, 0.02], "coverage": [0.9, 0.5],
                                    "target": ["greedy-true", "greedy-true"]}  # fmt: skip


def test_coverage_heatmap_data_has_one_row_per_cell() -> None:
    coverage = pd.DataFrame([[1.0, 0.5], [0.25, 0.0]], index=["uniform", "greedy-true"], columns=["dr", "ipw"])
    _, data = plots.coverage_heatmap(coverage, 0.95)
    assert list(data.columns) == ["target", "estimator", "coverage"]
    assert list(data.itertuples(index=False, name=None)) == [
        ("uniform", "dr", 1.0), ("uniform", "ipw", 0.5), ("greedy-true", "dr", 0.25), ("greedy-true", "ipw", 0.0)]


def test_error_vs_divergence_data_has_one_point_per_target_and_estimator() -> None:
    sweep = pd.DataFrame({"kl": [0.1, 0.5], "pscore_p01_played": [0.02, 0.001],
                          "relative_ee_mean[ipw]": [0.05, 0.4], "relative_ee_mean[dr]": [0.04, 0.2]},
                         index=["softmax-true@2", "greedy-true"])  # fmt: skip
    _, data = plots.error_vs_divergence(sweep, ("ipw", "dr"))
    assert len(data) == 4
    row = data.set_index(["target", "estimator"]).loc[("greedy-true", "dr")]
    assert (row["kl"], row["pscore_p01_played"], row["relative_ee_mean"]) == (0.5, 0.001, 0.2)


def test_clipping_data_holds_both_panels() -> None:
    """Left: |bias| (|-0.02| = 0.02), std and RMSE on the main target; right: each variant's
    RMSE over IPS's on every target (0.01 / 0.04 = 0.25)."""
    table = pd.DataFrame({"bias": [-0.02, 0.001], "std": [0.03, 0.01], "rmse": [0.036, 0.01]},
                         index=["ipw", "snipw"])  # fmt: skip
    rmse = pd.DataFrame({"ipw": [0.04, 0.02], "snipw": [0.01, 0.02]}, index=["greedy-true", "uniform"])
    _, data = plots.clipping_and_normalisation(table, "greedy-true", rmse)
    values = data.set_index(["panel", "target", "estimator", "measure"])["value"]
    assert values[("left", "greedy-true", "ipw", "abs_bias")] == pytest.approx(0.02)
    assert values[("right", "greedy-true", "snipw", "rmse_over_ipw")] == pytest.approx(0.25)
    assert values[("right", "uniform", "snipw", "rmse_over_ipw")] == pytest.approx(1.0)
    assert len(data) == 2 * 3 + 2 * 1


def test_obd_comparison_and_gate_data() -> None:
    agreement = pd.DataFrame({"ours": [0.3], "ours_se": [0.1], "published": [0.31], "published_se": [0.05],
                              "difference": [-0.01], "difference_se": [0.11], "within_2_se": [True]},
                             index=["ipw"])  # fmt: skip
    _, obd = plots.obd_comparison(agreement)
    assert obd.to_dict("records") == [{"estimator": "ipw", "ours": 0.3, "ours_se": 0.1, "published": 0.31,
                                       "published_se": 0.05, "within_2_se": True}]  # fmt: skip
    table = pd.DataFrame({"uplift": [0.04, -0.03], "ci_low": [0.038, -0.04], "ci_high": [0.046, -0.02],
                          "true_uplift": [0.0475, -0.03], "decision": ["promote", "keep champion"]},
                         index=["softmax-true@0.5", "uniform"], dtype=object)  # fmt: skip
    _, gate = plots.gate_intervals(table)
    assert gate["interval_holds_truth"].tolist() == [False, True]  # 0.0475 > 0.046
    assert gate["challenger"].tolist() == ["softmax-true@0.5", "uniform"]



def test_reliability_slate_and_gate_error_figures_return_their_data() -> None:
    import matplotlib.pyplot as plt

    from hermes_core.ope.calibration import calibration_report

    predicted = np.linspace(0.01, 0.2, 200)
    observed = (np.arange(200) % 10 == 0).astype(float)
    fig, data = plots.reliability(calibration_report(predicted, observed, n_bins=5), "hand")
    assert list(data.columns) == ["bin", "count", "mean_predicted", "observed_rate"] and len(data) == 5
    plt.close(fig)
    index = pd.MultiIndex.from_product([["position-based", "cascade"], ["uniform", "greedy-true"], ["iips", "rips"]],
                                       names=["click_model", "target", "estimator"])  # fmt: skip
    summary = pd.DataFrame({"kl": 0.5, "relative_rmse": 0.1, "bias": 0.0, "coverage": 1.0}, index=index)
    fig, data = plots.slate_errors(summary)
    assert len(data) == 8 and {"click_model", "target", "estimator", "relative_rmse"} <= set(data.columns)
    plt.close(fig)
    errors = pd.DataFrame({"true_uplift_mean": [0.01, -0.01], "promote_rate": [0.6, 0.0],
                           "promote_rate_low": [0.5, 0.0], "promote_rate_high": [0.7, 0.04]},
                          index=pd.Index(["better", "worse"], name="challenger"))  # fmt: skip
    fig, data = plots.gate_error_rates(errors)
    assert data["challenger"].tolist() == ["better", "worse"]
    plt.close(fig)


def test_coverage_heatmap_marks_variance_only_intervals() -> None:
    import matplotlib.pyplot as plt

    coverage = pd.DataFrame({"ipw": [0.9, 0.95], "dm": [0.0, 0.1]}, index=["uniform", "greedy-true"])
    fig, data = plots.coverage_heatmap(coverage, 0.95, {"ipw": "sampling error", "dm": "variance only"})
    labels = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
    assert labels == ["ipw", f"dm {plots.VARIANCE_ONLY_MARK}"]
    assert set(data["interval_scope"]) == {"sampling error", "variance only"}
    plt.close(fig)
