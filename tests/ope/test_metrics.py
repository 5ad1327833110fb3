"""``metrics/ope.json`` and the diagnostics (``hermes_core.ope.metrics``) from one :class:`OpeResults`.

The world study is replaced by a hand-built :class:`WorldStudy` (four logs of the main target
whose truth is 0.2, and the logging target whose truth is 0.1), so every expected number below is
worked out by hand.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from hermes_core.ope.gate import GateDecision
from hermes_core.ope.metrics import OpeResults, headline_metrics, stage_diagnostics
from hermes_core.ope.open_bandit import OpenBanditExperimentResult, largest_row_influence
from hermes_core.ope.params import OpeParams
from hermes_core.ope.shadow import GateReport, GateRun
from hermes_core.workspace import Workspace, write_diagnostics, write_metrics
from tests.ope.problems import hand_study


def obd_result(errors: dict[str, list[float]], choices: dict[str, list[float]] | None = None,
               ) -> OpenBanditExperimentResult:  # fmt: skip
    arrays = {name: np.asarray(values) for name, values in errors.items()}
    chosen = {name: np.asarray(values) for name, values in (choices or {}).items()}
    return OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.0042, arrays, arrays,
                                      "logistic", 2, 0, chosen)  # fmt: skip


# the hand-made log of tests.ope.test_open_bandit.test_largest_row_influence_on_a_hand_made_log
LARGEST = largest_row_influence([1, 1, 0, 0], [0, 1, 0, 1], [0, 1, 1, 0], [0.5] * 4,
                                np.array([[0.5, 0.2], [0.5, 0.8]]), truth=0.5)  # fmt: skip
OBD = {"bts-from-random": dataclasses.replace(
    obd_result({"ipw": [0.2, 0.4], "snipw": [0.1, 0.3], "dr": [0.5, 0.7], "switch-dr-slope": [0.5, 0.6]},
               {"switch-dr-slope": [5.0, 5.0]}),
    largest_row=LARGEST)}  # fmt: skip


def report(challenger: str, decision: str, low: float, high: float, true_uplift: float) -> GateReport:
    gate = GateDecision(uplift=(low + high) / 2, ci_low=low, ci_high=high, decision=decision,  # type: ignore[arg-type]
                        level=0.95, n_rounds=500, method="bootstrap", champion_value=0.1,
                        challenger_value=0.1 + (low + high) / 2)  # fmt: skip
    return GateReport("logging", challenger, gate, 0.1, 0.1 + true_uplift, "dr", 100)


def gate_run() -> GateRun:
    """Three challengers: the main one promoted and truly better (right), uniform kept and truly
    worse (right), the learned one promoted although truly worse (wrong)."""
    reports = {
        "softmax-true@0.5": report("softmax-true@0.5", "promote", 0.0381, 0.0461, 0.0475),
        "uniform": report("uniform", "keep champion", -0.04, -0.02, -0.03),
        "reward-model@0.5": report("reward-model@0.5", "promote", 0.001, 0.01, -0.002),
    }
    return GateRun(shadows={}, reports=reports)


def full_results() -> OpeResults:
    return OpeResults(params=OpeParams(), world_note="note", study=hand_study(), obd_note="obd note",
                      obd_results=OBD, gate_run=gate_run(), timings={"world_study": 1.5})  # fmt: skip


def empty_results() -> OpeResults:
    return OpeResults(params=OpeParams(obd={"enabled": False}), world_note="no world", study=None,
                      obd_note="skipped", obd_results=None, gate_run=None)  # fmt: skip


def test_headline_metrics_by_hand() -> None:
    """Mean relative errors 0.25, 0.10, 0.05, 0.01 (see ``tests.ope.problems.ESTIMATES``); DR covers 4 of 4 logs, IPS 3
    of 4; Open Bandit means (0.2+0.4)/2, (0.1+0.3)/2, (0.5+0.7)/2; 2 of 3 gate decisions right."""
    metrics = headline_metrics(full_results())
    world = metrics["world"]
    assert world["dm_mean_relative_error"] == pytest.approx(0.25)
    assert world["ipw_mean_relative_error"] == pytest.approx(0.10)
    assert world["snipw_mean_relative_error"] == pytest.approx(0.05)
    assert world["dr_mean_relative_error"] == pytest.approx(0.01)
    assert world["dr_coverage"] == 1.0 and world["ipw_coverage"] == 0.75
    se = math.sqrt(0.02) / math.sqrt(2)  # every pair of errors is 0.2 apart: sd sqrt(0.02) over 2 runs
    obd = metrics["obd_bts_from_random"]
    assert {k: v for k, v in obd.items() if v is not None} == pytest.approx(
        {"ipw_mean_relative_error": 0.3, "snipw_mean_relative_error": 0.2, "dr_mean_relative_error": 0.6,
         "ipw_relative_ee_mc_se": se, "snipw_relative_ee_mc_se": se, "dr_relative_ee_mc_se": se})
    # no parity run, no reward-model fit, no error-rate experiment, no slate study in this fixture: null
    assert obd["ipw_parity_mean_relative_error"] is None and obd["reward_model_log_loss_skill"] is None
    assert metrics["gate"] == {"right_decision_share": pytest.approx(2 / 3), "main_promoted": 1,
                               "error_rate_promote_not_better": None, "error_rate_keep_better": None}
    assert all(value is None for value in metrics["slate"].values())


def test_main_promoted_follows_the_gate_temperature() -> None:
    """With ``ope.gate.challenger_temperature`` 2 the main challenger is softmax-true@2; it is
    promoted (1) or kept (0) as its own report says, whatever the others did."""
    reports = {"softmax-true@2": report("softmax-true@2", "keep champion", -0.01, 0.01, 0.001),
               "uniform": report("uniform", "promote", 0.01, 0.02, -0.03)}  # fmt: skip
    results = OpeResults(params=OpeParams(gate={"challenger_temperature": 2.0}), world_note="", study=None,
                         obd_note="", obd_results=None, gate_run=GateRun({}, reports))  # fmt: skip
    gate = headline_metrics(results)["gate"]
    assert (gate["right_decision_share"], gate["main_promoted"]) == (0.0, 0)


def test_headline_metrics_fit_write_metrics_with_and_without_parts(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    full = headline_metrics(full_results())
    write_metrics(workspace, "ope", full)  # at most MAX_HEADLINE_METRICS numbers, 2 levels: accepted
    assert sum(len(block) for block in full.values()) == 23
    empty = headline_metrics(empty_results())
    assert set(empty) == set(full) and all(set(empty[k]) == set(full[k]) for k in full)  # stable keys
    assert all(value is None for block in empty.values() for value in block.values())
    written = json.loads(write_metrics(workspace, "ope", empty).read_text(encoding="utf-8"))
    assert written["obd_bts_from_random"]["dr_mean_relative_error"] is None


def test_diagnostics_hold_what_the_metrics_leave_out(tmp_path: Path) -> None:
    path = write_diagnostics(Workspace(tmp_path), "ope", stage_diagnostics(full_results()))
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["world"]["summary"]["greedy-true"]["ipw"]["coverage"] == 0.75
    # 3 of 4 logs covered: Wilson 95% [0.300642, 0.954413]
    ipw_summary = loaded["world"]["summary"]["greedy-true"]["ipw"]
    assert (ipw_summary["coverage_wilson_low"], ipw_summary["coverage_wilson_high"]) == pytest.approx(
        (0.300642, 0.954413), abs=1e-6)
    assert loaded["world"]["main_target"] == "greedy-true" and loaded["world"]["n_resamples"] == 4
    assert loaded["world"]["targets"]["greedy-true"]["mean_weight"] == 1.02
    # logging check (10⁻³): errors +1, -1, 0, 0 -> mean 0, SE sqrt(2/3)/2, min -1, max +1
    check = loaded["world"]["logging_check_per_mille"]["IPS − truth V of the log"]
    assert check == pytest.approx({"mean": 0.0, "standard error": math.sqrt(2 / 3) / 2, "min": -1.0, "max": 1.0},
                                  abs=1e-6)  # fmt: skip
    assert loaded["obd"]["experiments"]["bts-from-random"]["n_runs"] == 2
    # SLOPE chose tau = 5 in both runs
    assert loaded["obd"]["experiments"]["bts-from-random"]["slope_choices"] == {"switch-dr-slope": {"5": 2}}
    # ours: IPS mean 0.3, SE 0.1414/sqrt(2) = 0.1 against OBP's 0.311 (within 2 SE); DR 0.6 against
    # 0.292, difference 0.308 > 2 sqrt(0.1^2 + (0.3155/sqrt(30))^2) = 0.231: not within
    agreement = loaded["obd"]["agreement_with_published"]
    assert agreement["ipw"]["within_2_se"] is True and agreement["dr"]["within_2_se"] is False
    assert agreement["dr"]["difference"] == pytest.approx(0.6 - 0.292464, abs=1e-6)
    assert agreement["ipw"]["ours_se"] == pytest.approx(0.1)  # standard errors of the means, not the sds
    assert agreement["ipw"]["published_se"] == pytest.approx(0.311170 / math.sqrt(30), abs=1e-6)
    assert loaded["obd"]["experiments"]["bts-from-random"]["estimators"]["ipw"]["mc_se"] == pytest.approx(0.1)
    largest = loaded["obd"]["experiments"]["bts-from-random"]["largest_row"]
    assert largest["action"] == 1 and largest["position"] == 1
    assert largest["term_share"] == pytest.approx(1.6 / 2.6)
    assert largest["one_copy_shift_over_truth"] == pytest.approx(0.38)
    # the main challenger's interval [0.0381, 0.0461] misses its true uplift 0.0475
    assert loaded["gate"]["main_challenger"] == "softmax-true@0.5"
    assert loaded["gate"]["challengers"]["softmax-true@0.5"]["true_uplift_in_interval"] is False
    assert loaded["gate"]["challengers"]["uniform"]["true_uplift_in_interval"] is True
    assert loaded["timings_seconds"] == {"world_study": 1.5}


def test_diagnostics_of_a_run_without_parts() -> None:
    diagnostics = stage_diagnostics(empty_results())
    assert diagnostics["world"] == {"note": "no world"}
    assert diagnostics["obd"] == {"enabled": False, "campaign": "all", "note": "skipped"}
    assert diagnostics["gate"] is None and diagnostics["timings_seconds"] == {}
