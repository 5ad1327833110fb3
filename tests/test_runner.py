"""The stage runner: parameter errors before any kernel starts, untracked variables refused under DVC."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hermes_core.runner import PipelineEnvironmentError, check_pipeline_environment
from hermes_core.workspace import repository_root, resolve_project_path

ROOT = Path(__file__).resolve().parents[1]


def test_untracked_variables_are_refused_inside_a_dvc_stage() -> None:
    with pytest.raises(PipelineEnvironmentError) as error:
        check_pipeline_environment({"DVC_STAGE": "ingest", "HERMES_PROFILE": "tiny", "HERMES_OUTPUT_ROOT": "/tmp/x"})
    message = str(error.value)
    assert "stage ingest" in message
    assert "HERMES_PROFILE=tiny" in message and "HERMES_OUTPUT_ROOT=/tmp/x" in message
    assert "HERMES_SHARED_DATA" not in message  # only the variables that are set


def test_untracked_variables_are_allowed_outside_dvc() -> None:
    check_pipeline_environment({"HERMES_PROFILE": "tiny", "HERMES_OUTPUT_ROOT": "/tmp/x"})  # no error


def test_a_bad_parameter_stops_the_runner_with_one_line_per_key_before_papermill(tmp_path: Path) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    text = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    text = text.replace("  n_users: 5000", "  n_user: 200").replace("  n_items: 2000", "  n_items: lots")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMES_", "DVC_"))}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hermes_core.runner", "01_ingest"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {tmp_path / 'params.yaml'}: invalid parameters"
    assert lines[1:] == [
        "  world.n_items: Input should be a valid integer, unable to parse string as an integer (got 'lots')",
        "  world.n_user: unknown key under 'world'; did you mean 'world.n_users'?",
    ]
    assert "Traceback" not in result.stderr
    assert elapsed < 60  # generous: the point is that no notebook ran (a notebook takes far longer)
    assert not (tmp_path / "reports").exists()


def test_dvc_experiment_copies_resolve_relative_paths_against_the_original_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy = repo / ".dvc" / "tmp" / "exps" / "tmpab12cd"
    copy.mkdir(parents=True)
    assert repository_root(copy) == repo.resolve()
    assert repository_root(repo) == repo.resolve()
    assert resolve_project_path("../shared/data", copy) == (tmp_path / "shared" / "data").resolve()
    assert resolve_project_path("/abs/path", copy) == Path("/abs/path")
