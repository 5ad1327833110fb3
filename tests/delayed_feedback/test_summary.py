"""Seed tables and RI on a hand-made two-seed summary."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hermes_core.delayed_feedback.summary import display_table, method_table, ordering_check, over_time, per_seed_ri

# seed 0: vanilla 0.50, oracle 0.60, fnw 0.55 (RI 0.5); seed 1: 0.52, 0.62, 0.60 (RI 0.8); dfm beats the oracle
SUMMARY = pd.DataFrame({
    "seed": [0] * 4 + [1] * 4,
    "method": ["vanilla", "oracle", "fnw", "dfm"] * 2,
    "auc": [0.50, 0.60, 0.55, 0.62, 0.52, 0.62, 0.60, 0.64],
    "pr_auc": [0.10, 0.20, 0.15, 0.18, 0.10, 0.20, 0.15, 0.18],
    "nll": [0.60, 0.30, 0.45, 0.31, 0.62, 0.32, 0.40, 0.33],
})


def test_ri_of_the_means_and_per_seed() -> None:
    table = method_table(SUMMARY)
    assert list(table.index) == ["vanilla", "oracle", "dfm", "fnw"]  # the stage's method order
    assert table.loc["vanilla", "ri_auc"] == 0.0 and table.loc["oracle", "ri_auc"] == 1.0
    # means: vanilla 0.51, oracle 0.61, fnw 0.575 -> (0.575 - 0.51) / 0.10 = 0.65
    assert table.loc["fnw", "ri_auc"] == pytest.approx(0.65)
    assert (table.loc["fnw", "ri_auc_seed_min"], table.loc["fnw", "ri_auc_seed_max"]) == pytest.approx((0.5, 0.8))
    # NLL, lower is better: means 0.61, 0.31, 0.425 -> (0.425 - 0.61) / (0.31 - 0.61) = 0.61667
    assert table.loc["fnw", "ri_nll"] == pytest.approx(0.185 / 0.3)
    assert table.loc["fnw", "auc_sd"] == pytest.approx(math.sqrt(((0.55 - 0.575) ** 2 + (0.60 - 0.575) ** 2) / 1))
    seeds = per_seed_ri(SUMMARY).set_index(["seed", "method"])
    assert seeds.loc[(1, "fnw"), "ri_auc"] == pytest.approx(0.8)
    shown = display_table(table)
    assert shown.loc["fnw", "RI-AUC"] == "0.650 [0.500, 0.800]"


def test_ordering_check_finds_a_method_above_the_oracle() -> None:
    table = method_table(SUMMARY)
    ordering = ordering_check(table, SUMMARY)
    assert bool(ordering.loc["fnw", "auc_between"]) and bool(ordering.loc["fnw", "nll_between"])
    assert not bool(ordering.loc["dfm", "auc_between"])  # RI-AUC (0.63 - 0.51) / 0.10 = 1.2
    assert bool(ordering.loc["dfm", "auc_above_vanilla"])
    assert ordering.loc["dfm", "auc_seeds_between"] == 0


def test_ordering_check_needs_the_oracle_above_the_vanilla_learner() -> None:
    # vanilla and oracle swapped: fnw's RI-AUC is still in [0, 1], but oracle >= fnw >= vanilla does not hold
    swapped = SUMMARY.assign(method=SUMMARY["method"].replace({"vanilla": "oracle", "oracle": "vanilla"}))
    table = method_table(swapped)
    assert 0.0 <= table.loc["fnw", "ri_auc"] <= 1.0
    ordering = ordering_check(table, swapped)
    assert not bool(ordering.loc["fnw", "auc_between"]) and ordering.loc["fnw", "auc_seeds_between"] == 0
    assert not bool(ordering.loc["fnw", "nll_between"])
    assert not bool(ordering.loc["fnw", "auc_above_vanilla"])  # 0.575 is below the (swapped) vanilla's 0.61


def test_no_gap_gives_nan() -> None:
    flat = SUMMARY.assign(auc=0.5)
    assert math.isnan(method_table(flat).loc["fnw", "ri_auc"])


def test_over_time_means_seeds() -> None:
    windows = pd.DataFrame({"method": ["vanilla"] * 4, "seed": [0, 0, 1, 1], "window": [0, 1, 0, 1],
                            "observed_at": [7.0, 8.0, 7.0, 8.0], "auc": [0.5, 0.6, 0.7, 0.8], "pr_auc": 0.1,
                            "nll": 0.3, "train_positive_share": 0.01, "test_positive_share": 0.1})
    table = over_time(windows)
    assert table["auc"].tolist() == pytest.approx([0.6, 0.7])
    assert table["auc_min"].tolist() == pytest.approx([0.5, 0.6])
