"""What the OPE notebook may conclude: paired verdicts over logs and runs, ties of difficulty
measures, the Open Bandit agreement check and the gate's coverage of the true uplift."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from hermes_core.ope.conclusions import (
    compare_on_logs,
    compare_runs,
    comparison_sentence,
    counts_sentence,
    difficulty_sentence,
    gate_sentence,
    largest_row_sentence,
    obd_agreement,
    obd_conclusions,
    per_log_relative_errors,
    slope_choice_sentence,
    spearman_step,
    strongest_measures,
    verdict_counts,
)
from hermes_core.ope.gate import GateDecision
from hermes_core.ope.open_bandit import OpenBanditExperimentResult, largest_row_influence
from hermes_core.ope.shadow import GateReport
from hermes_core.ope.tables import obd_table
from hermes_core.ope.world_experiments import WorldStudy

KW = {"level": 0.95, "n_resamples": 1000, "seed": 0}


def study_with(errors: dict[str, list[float]], targets: tuple[str, ...] = ("t",)) -> WorldStudy:
    """Logs of truth 0.2 whose estimate is 0.2 * (1 + e): relative error |e| on each log."""
    rows = [{"resample": r, "target": target, "estimator": name, "estimate": 0.2 * (1 + e), "truth": 0.2,
             "low": 0.0, "high": 1.0}
            for target in targets for name, values in errors.items() for r, e in enumerate(values)]  # fmt: skip
    return WorldStudy(pd.DataFrame(rows), pd.DataFrame(), n_requests=10, interval_method="bootstrap", ci_level=0.95)


def report(challenger: str, decision: str, low: float, high: float, true_uplift: float) -> GateReport:
    """A gate report with interval [low, high] and a champion whose true value is 0.1."""
    gate = GateDecision(uplift=(low + high) / 2, ci_low=low, ci_high=high, decision=decision,  # type: ignore[arg-type]
                        level=0.95, n_rounds=500, method="bootstrap", champion_value=0.1,
                        challenger_value=0.1 + (low + high) / 2)  # fmt: skip
    return GateReport("logging", challenger, gate, 0.1, 0.1 + true_uplift, "dr", 100)


def test_per_log_relative_errors_are_ordered_by_log() -> None:
    study = study_with({"ipw": [0.1, -0.2, 0.3], "dr": [0.0, 0.0, 0.0]})
    shuffled = WorldStudy(study.estimates.sample(frac=1.0, random_state=1), study.diagnostics, 10, "bootstrap", 0.95)
    errors = per_log_relative_errors(shuffled, "t", "ipw")
    assert errors.index.tolist() == [0, 1, 2]
    assert errors.to_numpy() == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(KeyError, match="'sndr' on target 't'"):
        per_log_relative_errors(study, "t", "sndr")


def test_dr_beats_ips_when_lower_on_every_log() -> None:
    """DR's error 0.01 against IPS's 0.10 on all four logs: every resampled mean difference is
    -0.09, so the interval is [-0.09, -0.09], below 0: DR beats IPS (lower error is better)."""
    study = study_with({"dr": [0.01, -0.01, 0.01, -0.01], "ipw": [0.1, -0.1, 0.1, -0.1]})
    comparison = compare_on_logs(study, "t", "dr", "ipw", **KW)
    assert comparison is not None
    assert comparison.verdict == "beats"
    assert (comparison.difference, comparison.ci_low, comparison.ci_high) == pytest.approx((-0.09, -0.09, -0.09))
    assert comparison_sentence(comparison, "DR", "IPS", "relative error").startswith(
        "DR beats IPS on relative error: difference -9.00 pp [-9.00, -9.00]")


def test_alternating_differences_tie() -> None:
    """Errors 0.00 and 0.10 alternating against a constant 0.05: differences -0.05, +0.05, ...
    average 0 and the interval contains 0, whatever the point estimates say."""
    study = study_with({"a": [0.0, 0.1, 0.0, 0.1, 0.0, 0.1], "b": [0.05] * 6})
    comparison = compare_on_logs(study, "t", "a", "b", **KW)
    assert comparison is not None and comparison.verdict == "ties with"
    assert comparison.ci_low < 0 < comparison.ci_high


def test_one_log_gives_no_verdict() -> None:
    study = study_with({"a": [0.1], "b": [0.2]})
    assert compare_on_logs(study, "t", "a", "b", **KW) is None
    assert comparison_sentence(None, "A", "B", "relative error").startswith("no verdict between A and B")
    assert compare_runs(np.array([0.1]), np.array([0.2]), **KW) is None


def test_verdict_counts_by_target() -> None:
    """On target t1 A is better on every log, on t2 the two alternate: one beat, one tie."""
    rows = study_with({"a": [0.01] * 4, "b": [0.1] * 4}, targets=("t1",)).estimates
    tie = study_with({"a": [0.0, 0.1, 0.0, 0.1], "b": [0.05] * 4}, targets=("t2",)).estimates
    study = WorldStudy(pd.concat([rows, tie], ignore_index=True), pd.DataFrame(), 10, "bootstrap", 0.95)
    counts = verdict_counts(study, ["t1", "t2"], "a", "b", **KW)
    assert counts == {"beats": ["t1"], "ties with": ["t2"], "loses to": []}
    assert counts_sentence(counts, "A", "B") == "A beats B on 1, ties with it on 1 and loses to it on 0 of 2 targets"


# ----------------------------------------------------------------------------- difficulty measures
def test_spearman_step_is_the_grid_of_rho() -> None:
    """12 / (n(n²-1)): 12/336 for 7 targets; every permutation's rho lies on that grid."""
    assert spearman_step(7) == pytest.approx(12 / 336)
    rng = np.random.default_rng(0)
    for _ in range(50):
        rho = spearmanr(np.arange(7), rng.permutation(7)).statistic
        steps = (1 - rho) / spearman_step(7)
        assert steps == pytest.approx(round(steps), abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        spearman_step(1)


def test_opposite_perfect_correlations_tie() -> None:
    """The case of the issue: KL +1.00 and the effective sample share -1.00 have the same |rho|,
    so neither ranks difficulty better."""
    rho = {"KL divergence": 1.0, "1% propensity quantile": 0.5, "effective sample share": -1.0}
    assert strongest_measures(rho, 7) == ["KL divergence", "effective sample share"]
    sentence = difficulty_sentence(rho, 7)
    assert "tie for ranking" in sentence and "ranks the targets' difficulty best" not in sentence


def test_one_step_apart_ties_two_steps_apart_does_not() -> None:
    step = spearman_step(7)
    assert strongest_measures({"a": 1.0, "b": -(1.0 - step)}, 7) == ["a", "b"]
    assert strongest_measures({"a": 1.0, "b": 1.0 - 2 * step}, 7) == ["a"]
    assert "The a ranks the targets' difficulty best" in difficulty_sentence({"a": 1.0, "b": 1.0 - 2 * step}, 7)


def test_nan_correlation_never_wins() -> None:
    assert strongest_measures({"constant": math.nan, "b": 0.3}, 5) == ["b"]
    assert strongest_measures({"constant": math.nan}, 5) == []


# ----------------------------------------------------------------------------- Open Bandit
def test_agreement_uses_standard_errors_of_the_means() -> None:
    """Ours: mean 0.4, sd 0.3 over 9 runs -> SE 0.1; OBP: mean 0.3, sd 0.4 over 16 runs -> SE 0.1.
    SE of the difference sqrt(0.01 + 0.01) = 0.1414; |0.1| <= 0.283: agree. A second estimator
    at 0.9 differs by 0.6 > 0.283. With the run-to-run spread instead (0.3 and 0.4) both would
    pass, which is the mistake this check replaces."""
    names = ["x", "y", "z"]
    agreement = obd_agreement(pd.Series([0.4, 0.9, 0.5], index=names), pd.Series([0.3, 0.3, 0.3], index=names), 9,
                              pd.Series([0.3, 0.3, math.nan], index=names), pd.Series([0.4, 0.4, math.nan], index=names),
                              published_runs=16)  # fmt: skip
    assert agreement.index.tolist() == ["x", "y"]  # no published value for z
    assert agreement.loc["x", "ours_se"] == pytest.approx(0.1)
    assert agreement.loc["x", "published_se"] == pytest.approx(0.1)
    assert agreement.loc["x", "difference_se"] == pytest.approx(math.sqrt(0.02))
    assert agreement["within_2_se"].tolist() == [True, False]


# ----------------------------------------------------------------------------- gate
def test_gate_sentence_says_when_the_interval_misses_the_truth() -> None:
    """The issue's case: promote on [0.0381, 0.0461] is right (the challenger is truly better),
    but the interval misses the true uplift 0.0475."""
    sentence = gate_sentence("softmax-true@0.5", report("softmax-true@0.5", "promote", 0.0381, 0.0461, 0.0475))
    assert "the decision was right" in sentence
    assert "MISSES the true uplift +0.0475" in sentence
    covered = gate_sentence("uniform", report("uniform", "keep champion", -0.04, -0.02, -0.03))
    assert "contains the true uplift -0.0300" in covered
    wrong = gate_sentence("learned", report("learned", "promote", 0.001, 0.01, -0.002))
    assert "the decision was WRONG" in wrong


def test_obd_conclusions_phrase_run_to_run_noise_as_ties() -> None:
    """DR's and IPS's errors alternate above and below each other over four paired runs: their
    difference averages 0, so the sentence says "ties with", never "beats"; the lowest error of
    experiment 1 (DM's, 0.1 on every run against IPS's 0.3) beats the runner-up."""
    def result(experiment: str, errors: dict[str, list[float]]) -> OpenBanditExperimentResult:
        arrays = {name: np.asarray(values) for name, values in errors.items()}
        return OpenBanditExperimentResult(experiment, "all", "bts", "random", 0.004, arrays, arrays, "logistic", 2, 0)

    results = {
        "random-from-bts": result("random-from-bts", {"dm": [0.1] * 4, "ipw": [0.3] * 4, "dr": [0.5] * 4}),
        "bts-from-random": result("bts-from-random", {"dm": [0.2] * 4, "ipw": [0.2, 0.4, 0.2, 0.4],
                                                      "dr": [0.4, 0.2, 0.4, 0.2]}),
    }  # fmt: skip
    lines = obd_conclusions(results, obd_table(results, slope_tuning=True), ci_level=0.95, seed=0)
    assert "DR ties with IPS on relative error: difference +0.00 pp" in lines[0]
    assert "within two standard errors of their difference for" in lines[0]
    assert "DM beats IPS on relative error: difference -20.00 pp [-20.00, -20.00]" in lines[1]
    assert "Monte-Carlo standard error of at most 0.058" in lines[0]  # sd sqrt(0.04/3) = 0.1155 over sqrt(4) runs
    assert not any(line.startswith("One row's influence") for line in lines)  # no largest_row, no sentence


def test_largest_row_sentence_by_hand() -> None:
    """The hand-made log of ``test_open_bandit``: round 1 (item 1, position 1, weight 1.6) carries
    1.6 / 2.6 = 61.5% of IPS; one extra copy moves it by 0.19 = 38% of the truth 0.5. It closes
    the Open Bandit conclusions when the experiment carries it."""
    largest = largest_row_influence([1, 1, 0, 0], [0, 1, 0, 1], [0, 1, 1, 0], [0.5] * 4,
                                    np.array([[0.5, 0.2], [0.5, 0.8]]), truth=0.5)  # fmt: skip
    sentence = largest_row_sentence(largest)
    assert sentence == ("One row's influence (IPS on the full random log, 4 rounds): the largest round term (item 1 at "
                        "position 1, weight 1.60) carries 61.5% of the estimate; one extra copy of that row moves "
                        "the IPS estimate by 38.00% of the truth V.")
    arrays = {name: np.asarray([0.2, 0.4]) for name in ("dm", "ipw", "dr")}
    result = OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.5, arrays, arrays, "logistic", 2,
                                        0, {}, largest)  # fmt: skip
    results = {"random-from-bts": result, "bts-from-random": result}
    lines = obd_conclusions(results, obd_table(results, slope_tuning=True), ci_level=0.95, seed=0)
    assert lines[-1] == sentence


def test_slope_choice_sentence_counts_each_value() -> None:
    """Switch-DR (SLOPE) chose tau 2 twice and inf once over 3 runs; no tuned estimator, no sentence."""
    arrays = {"switch-dr-slope": np.array([0.1, 0.2, 0.3])}
    tuned = OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.004, arrays, arrays, "logistic",
                                       2, 0, {"switch-dr-slope": np.array([2.0, np.inf, 2.0])})  # fmt: skip
    assert slope_choice_sentence(tuned) == (
        "SLOPE's choice of the hyperparameter over the 3 runs of bts-from-random (all values in the diagnostics): "
        "Switch-DR (SLOPE): median 2 (range 2 to inf; most often 2 in 2, inf in 1).")
    # many distinct values: median and range, and only the three most frequent named
    spread = {"switch-dr-slope": np.array([1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0])}
    arrays8 = {"switch-dr-slope": np.zeros(8)}
    many = OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.004, arrays8, arrays8, "logistic",
                                      2, 0, spread)  # fmt: skip
    assert slope_choice_sentence(many).endswith("median 2 (range 1 to 5; most often 1 in 3, 2 in 2, 3 in 1).")
    untuned = OpenBanditExperimentResult("x", "all", "bts", "random", 0.004, arrays, arrays, "logistic", 2, 0)
    assert slope_choice_sentence(untuned) is None
