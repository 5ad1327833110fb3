"""What the OPE notebook calls (``hermes_core.ope.stage``): where the Open Bandit sample is
looked for, what a missing one does, how BTS's target is obtained, and the experiments' wiring."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hermes_core.ope.open_bandit import evaluate_bts_from_random
from hermes_core.ope.params import OpeParams, OpenBanditParams
from hermes_core.ope.registry import configured_estimators
from hermes_core.ope.stage import (
    bts_target,
    locate_obd,
    obd_needed_files,
    obd_note,
    obd_root,
    obd_skip_note,
    run_obd_experiments,
)
from hermes_core.workspace import SHARED_DATA_ENV, MissingDataError, repository_root

SHARED = Path(os.environ.get(SHARED_DATA_ENV, Path(__file__).resolve().parents[3] / "shared" / "data"))
OBD_ROOT = SHARED / "open_bandit_dataset"
needs_obd = pytest.mark.skipif(
    not (OBD_ROOT / "random" / "all" / "all.csv").is_file(),
    reason=f"Open Bandit sample not found at {OBD_ROOT} (set {SHARED_DATA_ENV})",
)


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
    assert f"the folder {root} (resolved from ope.obd.path = {str(root)!r})" in message
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



# ----------------------------------------------------------------------------- BTS's target and the run
def test_bts_target_defaults_to_the_logged_share_and_says_so() -> None:
    params = OpeParams()
    assert bts_target(params) is None  # evaluate_bts_from_random then uses BTS's logged action share
    assert obd_note(params) == ("campaign all; protocol hermes; reward model logistic-cv; BTS action distribution: "
                                "BTS's logged action share per slot (context-free; OBP's production prior not "
                                "supplied)")  # fmt: skip
    assert "protocol obp" in obd_note(OpeParams(obd={"protocol": "obp"}))


def test_bts_target_simulates_the_prior_file(tmp_path: Path) -> None:
    """A prior so concentrated that every draw ranks item 1 > item 2 > item 0 (posterior means
    0.9, 0.5 and 1e-6): BTS's distribution is exactly item 1 at slot 0, item 2 at slot 1, item 0
    at slot 2, and the note names the file and the number of draws."""
    prior = tmp_path / "prior_bts.yaml"
    prior.write_text("all:\n  alpha: [1.0, 900000.0, 500000.0]\n  beta: [1000000.0, 100000.0, 500000.0]\n",
                     encoding="utf-8")  # fmt: skip
    params = OpeParams(obd=OpenBanditParams(bts_prior_yaml=str(prior), n_sim_bts=2000))
    np.testing.assert_array_equal(bts_target(params), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert obd_note(params).endswith("BTS action distribution: Bernoulli TS simulated from prior_bts.yaml "
                                     "(2,000 draws), as published")  # fmt: skip


@needs_obd
@pytest.mark.shared_data
def test_run_obd_experiments_wires_the_ope_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both experiments run with ``ope.obd.n_bootstrap`` runs, seed ``ope.seed``, the configured
    estimators and the folds of ``ope.estimators``: experiment 2 equals a direct call of
    :func:`evaluate_bts_from_random` with those settings, number for number."""
    monkeypatch.setenv(SHARED_DATA_ENV, str(SHARED))
    params = OpeParams(seed=4, estimators={"n_folds": 2, "slope_tuning": False}, obd={"n_bootstrap": 2})
    results = run_obd_experiments(params, locate_obd(params))
    assert list(results) == ["random-from-bts", "bts-from-random"]
    # each experiment's truth is the on-policy click rate of the evaluated policy's own logs
    assert results["random-from-bts"].ground_truth == pytest.approx(38 / 10_000)
    assert results["bts-from-random"].ground_truth == pytest.approx(42 / 10_000)
    configured = list(configured_estimators(params.estimators))
    for result in results.values():
        assert (result.n_runs, result.seed, result.n_folds) == (2, 4, 2)
    # MIPS needs the known uniform behaviour policy: experiment 2 only
    assert list(results["random-from-bts"].estimates) == configured
    assert list(results["bts-from-random"].estimates) == [*configured, "mips", "snmips"]
    e = params.estimators
    direct = evaluate_bts_from_random(OBD_ROOT, "all", n_runs=2, seed=4, n_folds=2, reward_model=e.reward_model,
                                      cv_grid=e.reward_model_cv_grid, cv_folds=e.reward_model_cv_folds,
                                      estimators=configured_estimators(params.estimators))  # fmt: skip
    for name, values in direct.estimates.items():
        np.testing.assert_array_equal(results["bts-from-random"].estimates[name], values, err_msg=name)


# ----------------------------------------------------------------------------- the world's click model
def test_load_world_gives_the_study_the_configured_similarity_fatigue(tiny_world, tmp_path: Path) -> None:  # noqa: ANN001
    from hermes_core.ope.stage import load_world
    from hermes_core.workspace import Workspace
    from hermes_core.world.policies import click_probabilities, resimulate

    workspace = Workspace(tmp_path)
    tiny_world.save(workspace.world)
    assert tiny_world.params.similarity_fatigue == 0.5
    # default: position-based fresh logs, so their clicks average the marginal-based truth q exactly
    world, note = load_world(workspace, OpeParams())
    assert world.params.similarity_fatigue == 0.0 and "position-based" in note
    np.testing.assert_array_equal(world.logs.clicks, tiny_world.logs.clicks)  # the ingested log is kept as is
    logs = resimulate(world, 3, 2000)
    q = click_probabilities(world, logs)  # (n, C, K), the position-based truth
    shown_q = q[np.arange(len(logs.slate))[:, None], logs.slate, np.arange(logs.slate.shape[1])[None, :]]
    # E[click] = q at every shown slot: the click rate matches the truth within 4 standard errors
    error = np.sqrt((shown_q * (1 - shown_q)).sum()) / shown_q.size
    assert abs(logs.clicks.mean() - shown_q.mean()) < 4 * error
    # null keeps the world's own fatigue; no params: the world as saved
    own, note = load_world(workspace, OpeParams.model_validate({"world": {"similarity_fatigue": None}}))
    assert own.params.similarity_fatigue == 0.5 and "similarity fatigue" not in note
    assert load_world(workspace)[0].params.similarity_fatigue == 0.5
