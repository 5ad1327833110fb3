"""The OPE stage's glue: where the Open Bandit sample is looked for, what a missing one does,
the headline metrics and the tables the notebook shows.

The world study is replaced by a hand-built :class:`WorldStudy` (four logs of one target whose
truth is 0.2), so every expected number below is worked out by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hermes_core.data.readers.open_bandit import OpenBanditExperimentResult
from hermes_core.ope.gate import GateDecision
from hermes_core.ope.params import OpeParams, OpenBanditParams
from hermes_core.ope.shadow import GateReport
from hermes_core.ope.stage import (
    GateRun,
    headline_metrics,
    headline_table,
    in_display_units,
    locate_obd,
    logging_check_summary,
    obd_needed_files,
    obd_root,
    obd_skip_note,
    stage_diagnostics,
)
from hermes_core.ope.world_experiments import WorldStudy
from hermes_core.workspace import (
    SHARED_DATA_ENV,
    MissingDataError,
    Workspace,
    repository_root,
    write_diagnostics,
    write_metrics,
)

TRUTH = 0.2
ESTIMATES: dict[str, list[float]] = {
    "dm": [0.15, 0.15, 0.15, 0.15],  # relative error 0.25 on every log
    "ipw": [0.22, 0.18, 0.22, 0.18],  # 0.10
    "snipw": [0.21, 0.19, 0.21, 0.19],  # 0.05
    "dr": [0.202, 0.198, 0.202, 0.198],  # 0.01
}
HALF_WIDTH: dict[str, float] = {"dm": 0.01, "ipw": 0.03, "snipw": 0.03, "dr": 0.01}
"""Intervals estimate ± half width: DM's [0.14, 0.16] never holds 0.2; IPS's hold it except on
log 0, where the interval is shifted to [0.21, 0.23]; SNIPS's and DR's always hold it."""


def hand_study(target: str = "greedy-true") -> WorldStudy:
    rows = []
    for name, values in ESTIMATES.items():
        for resample, estimate in enumerate(values):
            low, high = estimate - HALF_WIDTH[name], estimate + HALF_WIDTH[name]
            if name == "ipw" and resample == 0:
                low, high = 0.21, 0.23
            rows.append({"resample": resample, "target": target, "estimator": name, "estimate": estimate,
                         "truth": TRUTH, "low": low, "high": high})  # fmt: skip
    diagnostics = pd.DataFrame([{"resample": r, "target": target, "truth": TRUTH, "mean_weight": 1.0} for r in range(4)])
    return WorldStudy(pd.DataFrame(rows), diagnostics, n_requests=100, interval_method="bootstrap", ci_level=0.95)


def obd_result(errors: dict[str, list[float]]) -> OpenBanditExperimentResult:
    arrays = {name: np.asarray(values) for name, values in errors.items()}
    return OpenBanditExperimentResult("bts-from-random", "all", "bts", "random", 0.0042, arrays, arrays,
                                      "logistic", 2, 0)  # fmt: skip


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


# ----------------------------------------------------------------------------- Open Bandit location
def write_sample(root: Path, campaign: str = "all") -> None:
    for path in obd_needed_files(root, campaign):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("header\n", encoding="utf-8")


def test_obd_enabled_by_default() -> None:
    assert OpenBanditParams().enabled is True
    assert OpeParams().obd.enabled is True


def test_missing_sample_is_an_error_naming_file_folder_and_parameters(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    root = tmp_path / "obd"
    write_sample(root)
    (root / "bts" / "all" / "item_context.csv").unlink()  # one of the four files is missing
    params = OpeParams(obd=OpenBanditParams(path=str(root)))
    with pytest.raises(MissingDataError) as caught:
        locate_obd(params)
    message = str(caught.value)
    assert str(root / "bts" / "all" / "item_context.csv") in message
    assert str(root / "random" / "all" / "all.csv") not in message  # present files are not listed
    assert f"the folder {root}" in message
    for way_out in ("ope.obd.path", f"${SHARED_DATA_ENV}", "ope.obd.enabled: false"):
        assert way_out in message
    assert isinstance(caught.value, FileNotFoundError)


def test_disabled_skips_even_when_the_sample_is_missing(tmp_path: Path) -> None:
    params = OpeParams(obd=OpenBanditParams(enabled=False, path=str(tmp_path / "nowhere")))
    assert locate_obd(params) is None
    assert "ope.obd.enabled: false" in obd_skip_note(params)


def test_present_sample_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    write_sample(tmp_path / "obd", "men")
    params = OpeParams(obd=OpenBanditParams(path=str(tmp_path / "obd"), campaign="men"))
    assert locate_obd(params) == tmp_path / "obd"


def test_shared_data_variable_overrides_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    write_sample(tmp_path / "open_bandit_dataset")
    params = OpeParams(obd=OpenBanditParams(path="/does/not/exist"))
    assert obd_root(params) == tmp_path / "open_bandit_dataset"
    assert locate_obd(params) == tmp_path / "open_bandit_dataset"
    (tmp_path / "open_bandit_dataset" / "random" / "all" / "all.csv").unlink()
    with pytest.raises(MissingDataError, match=f"\\${SHARED_DATA_ENV}/open_bandit_dataset"):
        locate_obd(params)


def test_relative_path_is_resolved_against_the_repository_not_the_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """From tests/ (any folder below params.yaml) ``../shared/data/...`` still starts at the
    repository root, not at the working directory."""
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    tests_folder = Path(__file__).resolve().parent
    monkeypatch.chdir(tests_folder)
    assert obd_root(OpeParams()) == (tests_folder.parents[1] / "../shared/data/open_bandit_dataset").resolve()


def test_relative_path_from_a_dvc_experiment_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``dvc exp run --queue`` runs in ``<repo>/.dvc/tmp/exps/<run>``: the sample is looked for
    beside the original repository (``<repo>/../shared/data``), not beside the copy."""
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    repo = tmp_path / "repo"
    copy = repo / ".dvc" / "tmp" / "exps" / "run1"
    copy.mkdir(parents=True)
    (copy / "params.yaml").write_text("profile: default\n", encoding="utf-8")
    monkeypatch.chdir(copy)
    assert repository_root() == repo.resolve()
    expected = (tmp_path / "shared" / "data" / "open_bandit_dataset").resolve()
    assert obd_root(OpeParams()) == expected
    write_sample(expected)
    assert locate_obd(OpeParams()) == expected


# ----------------------------------------------------------------------------- metrics
def test_headline_metrics_by_hand() -> None:
    """Mean relative errors 0.25, 0.10, 0.05, 0.01 (see ESTIMATES); DR covers 4 of 4 logs, IPS 3
    of 4; Open Bandit means (0.2+0.4)/2, (0.1+0.3)/2, (0.5+0.7)/2; 2 of 3 gate decisions right."""
    obd = {"bts-from-random": obd_result({"ipw": [0.2, 0.4], "snipw": [0.1, 0.3], "dr": [0.5, 0.7]})}
    metrics = headline_metrics(hand_study(), obd, gate_run(), OpeParams())
    world = metrics["world"]
    assert world["dm_mean_relative_error"] == pytest.approx(0.25)
    assert world["ipw_mean_relative_error"] == pytest.approx(0.10)
    assert world["snipw_mean_relative_error"] == pytest.approx(0.05)
    assert world["dr_mean_relative_error"] == pytest.approx(0.01)
    assert world["dr_coverage"] == 1.0 and world["ipw_coverage"] == 0.75
    assert metrics["obd_bts_from_random"] == pytest.approx(
        {"ipw_mean_relative_error": 0.3, "snipw_mean_relative_error": 0.2, "dr_mean_relative_error": 0.6})
    assert metrics["gate"] == {"right_decision_share": pytest.approx(2 / 3), "main_promoted": 1}


def test_headline_metrics_fit_write_metrics_with_and_without_parts(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    full = headline_metrics(hand_study(), {"bts-from-random": obd_result(
        {"ipw": [0.2, 0.4], "snipw": [0.1, 0.3], "dr": [0.5, 0.7]})}, gate_run(), OpeParams())
    write_metrics(workspace, "ope", full)  # at most 12 numbers, 2 levels: accepted
    assert sum(len(block) for block in full.values()) == 11
    empty = headline_metrics(None, None, None, OpeParams())
    assert set(empty) == set(full) and all(set(empty[k]) == set(full[k]) for k in full)  # stable keys
    assert all(value is None for block in empty.values() for value in block.values())
    written = json.loads(write_metrics(workspace, "ope", empty).read_text(encoding="utf-8"))
    assert written["obd_bts_from_random"]["dr_mean_relative_error"] is None
    table = headline_table(empty)
    assert table.shape == (11, 1) and table["value"].isna().all()


def test_diagnostics_hold_what_the_metrics_leave_out(tmp_path: Path) -> None:
    study = hand_study()
    obd = {"bts-from-random": obd_result({"ipw": [0.2, 0.4], "snipw": [0.1, 0.3], "dr": [0.5, 0.7]})}
    diagnostics = stage_diagnostics(OpeParams(), world_note="note", study=study, logging_summary=None,
                                    obd_note="obd note", obd_results=obd, obd_summary=None,
                                    gate_run=gate_run(), timings={"world_study": 1.5})  # fmt: skip
    path = write_diagnostics(Workspace(tmp_path), "ope", diagnostics)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["world"]["summary"]["greedy-true"]["ipw"]["coverage"] == 0.75
    assert loaded["obd"]["experiments"]["bts-from-random"]["n_runs"] == 2
    # the main challenger's interval [0.0381, 0.0461] misses its true uplift 0.0475
    assert loaded["gate"]["challengers"]["softmax-true@0.5"]["true_uplift_in_interval"] is False
    assert loaded["gate"]["challengers"]["uniform"]["true_uplift_in_interval"] is True
    assert loaded["timings_seconds"] == {"world_study": 1.5}


# ----------------------------------------------------------------------------- tables
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


def test_display_units_scale_each_column_once() -> None:
    summary = pd.DataFrame({"relative_ee_mean": [0.0569], "bias": [3.78e-05], "coverage": [0.95], "n_resamples": [20]})
    shown = in_display_units(summary)
    assert list(shown.columns) == ["mean relative error (%)", "bias (10⁻³)", "coverage (%)"]
    assert shown.iloc[0].tolist() == pytest.approx([5.69, 0.0378, 95.0])
