"""End to end, as a researcher uses Hermes: DVC on the tiny profile in a temporary copy of the repository.

One copy of the repository (its tracked and untracked-but-not-ignored files) is made beside a
link to ``../shared``, with ``profile: tiny`` in its ``params.yaml`` and a git history of its
own. In that copy, in order (each test relies on the ones before it, so they share the module):

1. ``dvc repro`` runs every stage; the rendered notebooks hold their figures inline and every
   HTML page reads offline;
2. a second ``dvc repro`` runs nothing, and ``dvc metrics diff`` is then empty;
3. ``dvc exp run -S world.n_users=200`` (a key the tiny profile also sets) takes effect;
4. ``dvc exp show --only-changed`` stays narrow: only headline numbers (at most 24 per stage),
   the changed parameter and the changed data;
5. a queued experiment (run by DVC in a copy under ``.dvc/tmp/exps/``) still reads the Open
   Bandit sample through the relative ``../shared/data``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

pytestmark = pytest.mark.slow


class Project:
    """A temporary copy of the repository and the commands run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMES_", "DVC_"))}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["MPLBACKEND"] = "Agg"

    def run(self, *command: str, check: bool = True, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(command), cwd=self.root, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

    def metrics(self, stage: str) -> dict[str, object]:
        return json.loads((self.root / "metrics" / f"{stage}.json").read_text(encoding="utf-8"))

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)


def _repository_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("e2e")
    root = base / "main"
    for name in _repository_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED, target_is_directory=True)
    params = root / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "\nprofile: default\n" in text
    text = text.replace("\nprofile: default\n", "\nprofile: tiny\n")
    if not (SHARED / "data" / "open_bandit_dataset").is_dir():
        # without the real sample the OPE stage would (rightly) stop; switch the experiments off
        assert "    enabled: true\n" in text
        text = text.replace("    enabled: true\n", "    enabled: false\n", 1)
    params.write_text(text, encoding="utf-8")
    copy = Project(root)
    copy.run("git", "init", "-q")
    copy.run("git", "config", "user.email", "e2e@hermes.invalid")
    copy.run("git", "config", "user.name", "e2e")
    copy.commit("copy of the repository, tiny profile")
    yield copy


@pytest.fixture(scope="module")
def first_repro(project: Project) -> subprocess.CompletedProcess[str]:
    result = project.dvc("repro")
    project.commit("tiny pipeline run")
    return result


def test_repro_runs_every_stage_on_the_tiny_profile(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    for stage in ("ingest", "encode", "ope"):  # report_index depends on the notebooks only: already current
        assert f"Running stage '{stage}'" in first_repro.stdout
    ingest = project.metrics("ingest")
    # the tiny world has 300 users; a few malformed user records (2% injected) are quarantined
    assert 285 <= ingest["users"] <= 300


def test_rendered_notebooks_show_their_figures_inline(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    from hermes_core.notebook_checks import cells_missing_figures

    for report in sorted((project.root / "reports").glob("[0-9][0-9]_*.ipynb")):
        assert cells_missing_figures(report) == [], f"{report.name}: figure cells without an image output"


def test_every_html_page_reads_offline(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    from hermes_core.html_report import external_resources

    pages = sorted((project.root / "reports" / "html").glob("*.html"))
    assert [page.name for page in pages] == ["01_ingest.html", "02_encode.html", "03_retrieve.html", "04_rank.html", "05_delayed_feedback.html", "06_ope.html", "07_rerank.html",
                                                "index.html"]
    for page in pages:
        assert external_resources(page.read_text(encoding="utf-8")) == [], page.name


def test_second_repro_runs_nothing_and_metrics_diff_is_empty(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    second = project.dvc("repro")
    assert "Running stage" not in second.stdout, second.stdout
    assert project.dvc("status").stdout.strip() == "Data and pipelines are up to date."
    assert project.dvc("metrics", "diff").stdout.strip() == ""
    assert project.run("git", "status", "--porcelain").stdout.strip() == ""


def test_exp_run_set_param_wins_over_the_profile(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    project.dvc("exp", "run", "-S", "world.n_users=200")
    # the tiny profile sets 300; the explicit value must take effect
    assert 190 <= project.metrics("ingest")["users"] <= 200
    shown = project.dvc("exp", "show", "--only-changed", "--csv").stdout
    header = next(csv.reader(io.StringIO(shown)))
    columns = [name for name in header if name not in ("rev", "typ")]  # the CSV's own bookkeeping
    print(f"dvc exp show --only-changed: {len(columns)} columns: {columns}")
    # Narrow means: every metric column is one of a stage's headline numbers (at most
    # MAX_HEADLINE_METRICS per stage, which write_metrics enforces), and the rest is the
    # experiment's own bookkeeping, the changed parameter and the changed data deps. A change of
    # the world reruns every stage, so the width grows with the number of stages (62 columns with
    # four stages), never with a stage's tables.
    from hermes_core.workspace import MAX_HEADLINE_METRICS

    stages_with_metrics = sorted(p.stem for p in (project.root / "metrics").glob("*.json"))
    leaves = {key for stage in stages_with_metrics for key in _leaf_keys(project.metrics(stage))}
    metric_columns = [name for name in columns if name in leaves]
    other = [name for name in columns if name not in leaves]
    assert len(metric_columns) <= MAX_HEADLINE_METRICS * len(stages_with_metrics), metric_columns
    assert len(other) <= 12, f"{len(other)} non-metric columns: {other}"
    assert all(name in ("Experiment", "Created") or name.startswith(("params.yaml:", "data/", "profiles/"))
               for name in other), other
    project.run("git", "checkout", "-q", "--", ".")  # back to the committed tiny run
    project.dvc("checkout", "-q", check=False)


def test_a_bad_key_set_through_dvc_fails_fast_and_names_it(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    result = project.dvc("exp", "run", "-S", "+world.n_user=200", check=False)
    assert result.returncode != 0
    assert "world.n_user: unknown key under 'world'; did you mean 'world.n_users'?" in result.stdout + result.stderr
    project.run("git", "checkout", "-q", "--", ".")


@pytest.mark.skipif(not (SHARED / "data" / "open_bandit_dataset").is_dir(),
                    reason="needs ../shared/data/open_bandit_dataset (the real Open Bandit sample), absent here")
def test_queued_experiment_still_reads_the_open_bandit_sample(project: Project, first_repro: subprocess.CompletedProcess[str]) -> None:
    project.dvc("exp", "run", "--queue", "-S", "ope.seed=7", "--name", "queued-ope")
    project.dvc("exp", "run", "--run-all", "--jobs", "1")
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    found = []
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            for revision in experiment.get("revs", []):
                if revision.get("name") == "queued-ope":
                    found.append(revision)
    assert found, f"no experiment named queued-ope in dvc exp show: {json.dumps(shown)[:2000]}"
    data = found[0]["data"]
    metrics = data["metrics"]["metrics/ope.json"]["data"]
    obd = metrics["obd_bts_from_random"]
    assert obd and all(value is not None for value in obd.values()), obd


def _leaf_keys(metrics: dict[str, object], prefix: str = "") -> list[str]:
    """Dotted keys of a metrics file's numbers, as ``dvc exp show`` names its columns."""
    keys: list[str] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            keys += _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys
