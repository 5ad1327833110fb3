"""The tables the OPE notebook shows (``hermes_core.ope.tables``), on hand-built results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hermes_core.ope.open_bandit import PUBLISHED_BTS_FROM_RANDOM_ALL, OpenBanditExperimentResult
from hermes_core.ope.params import OpeParams
from hermes_core.ope.tables import (
    clipping_variants,
    estimator_by_target,
    headline_table,
    in_display_units,
    logging_check,
    logging_check_summary,
    main_target_table,
    obd_table,
    published_agreement,
    published_row,
    sweep_formats,
)
from hermes_core.ope.world_experiments import WorldStudy
from tests.ope.problems import hand_study


def experiment(name: str, errors: dict[str, list[float]]) -> OpenBanditExperimentResult:
    arrays = {estimator: np.asarray(values) for estimator, values in errors.items()}
    return OpenBanditExperimentResult(name, "all", "bts", "random", 0.0042, arrays, arrays, "logistic", 2, 0)


def test_logging_check_summary_in_thousandths() -> None:
    """Errors -0.004, 0.002, -0.001, -0.001 (clicks per impression): mean -0.001, sample sd
    sqrt((9+9+0+0)e-6 / 3) = sqrt(6)e-3, SE sqrt(6)/2 e-3; min -4, max +2 (10⁻³ units)."""
    check = pd.DataFrame({"mean_weight": [1.0, 1.0, 1.0, 1.0], "ipw_minus_click_rate": [0.0, 0.0, 0.0, 0.0],
                          "ipw_minus_truth": [-0.004, 0.002, -0.001, -0.001]})  # fmt: skip
    summary = logging_check_summary(check)
    row = summary.loc["IPS − truth V of the log"]
    assert row["mean"] == pytest.approx(-1.0)
    assert row["standard error"] == pytest.approx(math.sqrt(6) / 2)
    assert (row["min"], row["max"]) == pytest.approx((-4.0, 2.0))
    assert summary.loc["mean weight − 1"].abs().max() == 0.0
    assert list(summary.columns) == ["mean", "standard error", "min", "max"]


def test_logging_check_reads_the_logging_target() -> None:
    """The hand study's IPS on the logging target is 0.101, 0.099, 0.1, 0.1 with truth 0.1 and
    the same click rates: IPS - click rate is 0 and IPS - truth is +1e-3, -1e-3, 0, 0."""
    check = logging_check(hand_study())
    assert check["ipw_minus_click_rate"].tolist() == [0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(check["ipw_minus_truth"], [1e-3, -1e-3, 0.0, 0.0], atol=1e-15)


def test_display_units_scale_each_column_once() -> None:
    summary = pd.DataFrame({"relative_ee_mean": [0.0569], "bias": [3.78e-05], "coverage": [0.95], "n_resamples": [20]})
    shown = in_display_units(summary)
    assert list(shown.columns) == ["mean relative error (%)", "bias (10⁻³)", "coverage (%)"]
    assert shown.iloc[0].tolist() == pytest.approx([5.69, 0.0378, 95.0])


def test_main_target_table_keeps_the_headline_order() -> None:
    """Estimators run in a scrambled order come out as OBP's seven, then the *-slope rows; the
    clipped IPS is left out."""
    names = ["dr-os-slope", "ipw-clip@5", "dr", "dm", "switch-dr-slope", "ipw", "snipw", "sndr", "switch-dr", "dr-os"]
    estimates = pd.DataFrame([{"resample": r, "target": "greedy-true", "estimator": name, "estimate": 0.2,
                               "truth": 0.2, "low": 0.1, "high": 0.3} for name in names for r in range(2)])  # fmt: skip
    diagnostics = pd.DataFrame([{"resample": r, "target": "greedy-true", "truth": 0.2} for r in range(2)])
    study = WorldStudy(estimates, diagnostics, n_requests=10, interval_method="normal", ci_level=0.9)
    table = main_target_table(study, "greedy-true")
    assert list(table.index) == ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dr-os", "dr-os-slope",
                                 "switch-dr-slope"]  # fmt: skip


def test_estimator_by_target_keeps_the_study_order() -> None:
    coverage = estimator_by_target(hand_study(), "coverage")
    assert list(coverage.index) == ["greedy-true", "logging"]
    assert list(coverage.columns) == ["dm", "ipw", "snipw", "dr"]
    assert coverage.loc["greedy-true"].tolist() == [0.0, 0.75, 1.0, 1.0]  # see test_metrics.HALF_WIDTH


def test_clipping_variants_follow_the_sweep() -> None:
    params = OpeParams(world={"ipw_clip_sweep": (5.0, 20.0)})
    assert clipping_variants(params) == ["ipw", "ipw-clip@5", "ipw-clip@20", "snipw", "dr", "sndr"]


def test_sweep_formats_one_notation_per_column() -> None:
    formats = sweep_formats(["truth", "relative_ee_mean[ipw]", "pscore_p01_played", "other"])
    assert formats == {"truth": "{:.4f}", "relative_ee_mean[ipw]": "{:.2%}", "pscore_p01_played": "{:.1e}",
                       "other": "{:.4g}"}  # fmt: skip


def test_published_rows_match_slope_tuned_estimators() -> None:
    """OBP's published Switch-DR and DRos were tuned by SLOPE, so with tuning on they sit beside
    our *-slope rows and the fixed-hyperparameter rows get none."""
    assert published_row("dr", True) == "dr"
    assert published_row("switch-dr-slope", True) == "switch-dr"
    assert published_row("switch-dr", True) is None
    assert published_row("dr-os", False) == "dr-os"
    assert published_row("ipw-clip@5", True) is None


def test_obd_table_and_agreement_by_hand() -> None:
    """Experiment 2: IPS errors 0.2, 0.4 (mean 0.3, std sqrt(0.02)); experiment 1: 0.1, 0.1
    (std 0). Beside experiment 2, OBP's published IPS row; SE of our mean sqrt(0.02)/sqrt(2) = 0.1."""
    results = {name: experiment(name, {"ipw": ipw, "switch-dr": [0.1, 0.3]})
               for name, ipw in (("random-from-bts", [0.1, 0.1]), ("bts-from-random", [0.2, 0.4]))}
    table = obd_table(results, slope_tuning=True)
    assert table.loc["ipw", ("bts-from-random", "mean")] == pytest.approx(0.3)
    assert table.loc["ipw", ("bts-from-random", "std")] == pytest.approx(math.sqrt(0.02))
    assert table.loc["ipw", ("random-from-bts", "std")] == 0.0
    assert table.loc["ipw", ("bts-from-random", "mc_se")] == pytest.approx(0.1)  # sqrt(0.02) / sqrt(2)
    assert table.loc["ipw", ("published bts-from-random", "mean")] == PUBLISHED_BTS_FROM_RANDOM_ALL["ipw"][0]
    assert math.isnan(table.loc["switch-dr", ("published bts-from-random", "mean")])  # tuned there, fixed here
    agreement = published_agreement(results, table)
    assert list(agreement.index) == ["ipw"]  # rows without a published value are left out
    assert agreement.loc["ipw", "ours_se"] == pytest.approx(0.1)
    assert bool(agreement.loc["ipw", "within_2_se"]) is True  # |0.3 - 0.311| is far below 2 SE


def test_headline_table_turns_null_into_nan() -> None:
    table = headline_table({"world": {"dr_coverage": 0.75, "ipw_coverage": None}, "gate": {"main_promoted": 1}})
    assert table.index.tolist() == [("world", "dr_coverage"), ("world", "ipw_coverage"), ("gate", "main_promoted")]
    assert table["value"].iloc[0] == 0.75 and math.isnan(table["value"].iloc[1]) and table["value"].iloc[2] == 1.0
