"""The conclusions' wording follows the numbers: a claim that holds reads differently from one that fails."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.delayed_feedback.conclusions import (
    auxiliary_sentence,
    comparison_sentences,
    elapsed_weight_sentence,
    goal_sentences,
    ordering_sentence,
    weight_claim_sentence,
)

CHECK = {"share_w0_below_threshold": 0.0, "threshold": 0.1, "max_abs_w0_minus_prior": 0.0, "w_0h_min": 0.6,
         "w_0h_max": 0.99, "w_0h_median": 0.9, "w_1d_median": 0.93, "w_7d_median": 0.98}


def table(ri_fnw: float, ri_esdfm: float) -> pd.DataFrame:
    rows = {"vanilla": (0.5, 0.0), "oracle": (0.6, 1.0), "fnw": (0.5 + 0.1 * ri_fnw, ri_fnw),
            "esdfm": (0.5 + 0.1 * ri_esdfm, ri_esdfm)}
    frame = pd.DataFrame({"auc_mean": {k: v[0] for k, v in rows.items()}, "ri_auc": {k: v[1] for k, v in rows.items()}})
    frame["ri_auc_seed_min"] = frame["ri_auc"] - 0.05
    frame["ri_auc_seed_max"] = frame["ri_auc"] + 0.05
    frame["n_seeds"] = 3
    frame["nll_mean"] = 0.6 - 0.3 * frame["ri_auc"]  # vanilla 0.6, oracle 0.3
    return frame


def with_seed_spread(frame: pd.DataFrame, method: str, low: float, high: float) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[method, ["ri_auc_seed_min", "ri_auc_seed_max"]] = low, high
    return frame


def test_weight_claim_wording() -> None:
    assert "does not hold for any click" in weight_claim_sentence(CHECK)
    holds = weight_claim_sentence({**CHECK, "share_w0_below_threshold": 0.2})
    assert "holds only for 20.00% of the clicks" in holds and "does not hold" not in holds


def test_goal_wording() -> None:
    met = goal_sentences(table(0.3, 0.6))
    assert "ES-DFM, closes RI-AUC 0.600 (seeds 0.550 to 0.650)" in met[0]
    assert "which meets the goal of 0.5 in every seed" in met[0]
    assert "for context only, its paper reports 0.356 on Criteo" in met[1] and "above" not in met[1]
    missed = goal_sentences(table(0.2, 0.3))
    assert "which misses the goal of 0.5 in every seed" in missed[0] and "below" not in missed[1]
    assert "reach at least" not in missed[1]  # no stream method is near the oracle


def test_goal_needs_every_seed() -> None:
    # (a) the mean meets the goal, one seed does not
    split = goal_sentences(with_seed_spread(table(0.3, 0.55), "esdfm", 0.45, 0.65))
    assert "meets the goal of 0.5 on the mean but not in every seed" in split[0]
    below = goal_sentences(with_seed_spread(table(0.3, 0.45), "esdfm", 0.4, 0.55))
    assert "misses the goal of 0.5 on the mean, though some seeds reach it" in below[0]


def test_goal_without_a_gap() -> None:
    # (b) the oracle is not above the vanilla learner: no "closes", no verdict
    frame = table(0.3, 0.6)
    frame.loc["oracle", "auc_mean"] = 0.49
    lines = goal_sentences(frame)
    assert lines == [lines[0]] and "no gap to close" in lines[0]
    assert "closes" not in lines[0] and "meets" not in lines[0] and "misses" not in lines[0]


def test_ordering_wording() -> None:
    frame = table(1.2, 0.5).assign(ri_nll=[0.0, 1.0, 0.9, 0.5])
    for metric in ("nll",):
        frame[f"ri_{metric}_seed_min"] = frame[f"ri_{metric}"]
        frame[f"ri_{metric}_seed_max"] = frame[f"ri_{metric}"]
    ordering = pd.DataFrame({"auc_between": [False, True], "nll_between": [True, True]}, index=["fnw", "esdfm"])
    text = ordering_sentence(ordering, frame)
    assert text.startswith("Oracle >= correction >= vanilla on both AUC and NLL (seed means) holds for 1 of 2")
    assert "FNW (RI-AUC 1.200 (seeds 1.150 to 1.250), beyond the oracle)" in text


def test_ordering_wording_of_an_undefined_ri_and_no_gap() -> None:
    frame = table(0.5, 0.5).assign(ri_nll=[0.0, 1.0, 0.5, 0.5])
    frame.loc["fnw", ["ri_auc", "ri_auc_seed_min", "ri_auc_seed_max"]] = np.nan
    ordering = pd.DataFrame({"auc_between": [False, True], "nll_between": [True, True]}, index=["fnw", "esdfm"])
    text = ordering_sentence(ordering, frame)  # (c) NaN is not "below the vanilla learner"
    assert "FNW (RI-AUC undefined)" in text and "below the vanilla learner" not in text
    frame = table(0.5, 0.5).assign(ri_nll=[0.0, 1.0, 0.5, 0.5])
    frame.loc["oracle", "auc_mean"] = 0.45  # (b) RI-AUC 0.5, but the oracle is below the vanilla learner
    text = ordering_sentence(ordering, frame)
    assert ("FNW (RI-AUC 0.500 (seeds 0.450 to 0.550), no gap: the oracle is not better than the vanilla "
            "learner)") in text


def test_elapsed_weight_wording_follows_the_sign() -> None:
    frame = table(0.5, 0.5).reindex(["vanilla", "oracle", "elapsed_weight"])
    frame.loc["elapsed_weight"] = frame.loc["oracle"]
    frame["auc_mean"], frame["nll_mean"] = [0.5, 0.6, 0.5], [0.6, 0.3, 0.6]
    shares = pd.DataFrame({"method": ["vanilla", "oracle"], "train_positive_share": [0.01, 0.02]})
    near = elapsed_weight_sentence(frame.assign(ri_auc=[0.0, 1.0, 0.1], ri_nll=[0.0, 1.0, 0.05]), shares)
    assert "closes RI-AUC 0.100 and RI-NLL 0.050 of the gap, hardly more than the vanilla learner" in near
    worse = elapsed_weight_sentence(frame.assign(ri_auc=[0.0, 1.0, -0.1], ri_nll=[0.0, 1.0, 0.05]), shares)
    assert "worse than the vanilla learner on AUC, if only slightly" in worse  # (d)
    assert "closes" not in worse and "hardly more" not in worse
    much_worse = elapsed_weight_sentence(frame.assign(ri_auc=[0.0, 1.0, -0.8], ri_nll=[0.0, 1.0, -0.5]), shares)
    assert "worse than the vanilla learner on AUC and NLL: " in much_worse
    no_gap = frame.assign(ri_auc=[0.0, 1.0, 0.1], ri_nll=[0.0, 1.0, 0.05])
    no_gap.loc["oracle", "nll_mean"] = 0.7
    text = elapsed_weight_sentence(no_gap, shares)
    assert "not better than the vanilla learner on NLL: there is no gap" in text and "closes" not in text


def test_dfm_loses_ground_only_beyond_the_seed_spread() -> None:
    def comparison(low: float, high: float) -> dict[str, pd.DataFrame]:
        base = pd.DataFrame({"ri_auc": [0.6], "ri_auc_seed_min": [0.5], "ri_auc_seed_max": [0.7], "n_seeds": [3]},
                            index=["dfm"])
        other = base.assign(ri_auc=(low + high) / 2, ri_auc_seed_min=low, ri_auc_seed_max=high)
        return {"exponential": base, "weibull": other}

    assert "DFM, whose likelihood assumes an exponential delay, loses ground" in comparison_sentences(
        comparison(0.3, 0.45))[-1]
    overlap = comparison_sentences(comparison(0.4, 0.55))[-1]  # (e) 0.475 < 0.6, but the ranges overlap
    assert "shows no clear difference (the seed ranges overlap)" in overlap and "loses" not in overlap
    assert "does not lose ground" in comparison_sentences(comparison(0.75, 0.9))[-1]


def test_auxiliary_wording() -> None:
    frame = pd.DataFrame({"model": ["ES-DFM", "FSIW"], "quantity": ["f_rn: never converts", "P(S=1|Y=1,x,E), E < 1 d"],
                          "predicted": [0.91, 0.16], "realised": [0.90, 0.08], "n": [10, 10]})
    text = auxiliary_sentence(frame)
    assert "FSIW's P(S=1|Y=1,x,E), E < 1 d (100%)" in text and "FSIW under-corrects" in text
    calibrated = auxiliary_sentence(frame.assign(predicted=[0.8, 0.081]))
    assert "ES-DFM's f_rn: never converts (11%)" in calibrated and "under-corrects" not in calibrated
    zero = auxiliary_sentence(frame.assign(realised=[0.90, 0.0]))  # a realised share of 0: no "inf%"
    assert "inf" not in zero and "ES-DFM's f_rn: never converts (1%)" in zero
    assert "no relative error" in auxiliary_sentence(frame.assign(realised=0.0))
