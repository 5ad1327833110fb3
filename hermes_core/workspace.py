"""Where a stage reads and writes: data, metrics and figures, relocatable for tests.

By default everything lives under the project root (the folder holding ``params.yaml``).
Setting ``HERMES_OUTPUT_ROOT`` (the notebook tests do) sends every stage's outputs to
another folder (data, metrics, figures, diagnostics and the rendered reports), so running a
notebook never touches the committed ``metrics/`` or the pipeline's ``data/``.
``HERMES_SHARED_DATA`` points at the real datasets (default ``<project root>/../shared/data``).

Relative paths in ``params.yaml`` (``data.shared_data_dir``, ``ope.obd.path``) are resolved
against the *original* repository (:func:`repository_root`): DVC runs queued and temporary
experiments in a copy under ``<repo>/.dvc/tmp/exps/``, from where ``../shared/data`` would
point nowhere.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes_core.params import find_params_file

OUTPUT_ROOT_ENV = "HERMES_OUTPUT_ROOT"
SHARED_DATA_ENV = "HERMES_SHARED_DATA"


def project_root() -> Path:
    return find_params_file().parent


def repository_root(root: Path | None = None) -> Path:
    """The repository a project root belongs to, seen through DVC's experiment copies.

    ``dvc exp run --queue`` and ``--temp`` execute in ``<repo>/.dvc/tmp/exps/<tmpdir>``; for
    such a root this returns ``<repo>``, for any other root the root itself.
    """
    root = (root or project_root()).resolve()
    for folder in root.parents:
        if folder.name == "exps" and folder.parent.name == "tmp" and folder.parent.parent.name == ".dvc":
            return folder.parent.parent.parent
    return root


def resolve_project_path(configured: str | Path, root: Path | None = None) -> Path:
    """An absolute path as is; a relative one against :func:`repository_root`."""
    path = Path(configured)
    return path if path.is_absolute() else (repository_root(root) / path).resolve()


def shared_data_dir(configured: str | None = None) -> Path:
    """The real-data folder: ``$HERMES_SHARED_DATA``, else ``configured`` (relative paths
    against the original repository, see :func:`repository_root`)."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV])
    return resolve_project_path(configured or "../shared/data")


def shared_dataset_dir(folder: str, configured: str | Path, parameter: str) -> tuple[Path, str]:
    """One real dataset's folder and where it came from, for error messages.

    ``$HERMES_SHARED_DATA/<folder>`` when that variable is set (:func:`shared_data_dir`), with the
    origin ``"$HERMES_SHARED_DATA/<folder>"``; else the ``params.yaml`` value ``configured`` of the
    key ``parameter`` (relative paths against the original repository,
    :func:`resolve_project_path`), with the origin ``"<parameter> = '<configured>'"``.
    """
    if os.environ.get(SHARED_DATA_ENV):
        return shared_data_dir() / folder, f"${SHARED_DATA_ENV}/{folder}"
    return resolve_project_path(configured), f"{parameter} = {str(configured)!r}"


class MissingDataError(FileNotFoundError):
    """Configured real data are absent: names the path and the parameter that points at it."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls) -> Workspace:
        override = os.environ.get(OUTPUT_ROOT_ENV)
        return cls(Path(override).resolve() if override else project_root())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def world(self) -> Path:
        return self.data / "world"

    @property
    def store(self) -> Path:
        return self.data / "store"

    def stage_data(self, stage: str) -> Path:
        return self.data / stage

    def metrics_file(self, stage: str) -> Path:
        return self.root / "metrics" / f"{stage}.json"

    def figures(self, stage: str) -> Path:
        folder = self.root / "reports" / "figures" / stage
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def diagnostics_file(self, stage: str) -> Path:
        return self.root / "reports" / "diagnostics" / f"{stage}.json"

    def report(self, stem: str) -> Path:
        """The executed notebook ``reports/<stem>.ipynb``."""
        return self.root / "reports" / f"{stem}.ipynb"

    def report_html(self, stem: str) -> Path:
        return self.root / "reports" / "html" / f"{stem}.html"


def _clean(value: Any, digits: int) -> Any:
    """JSON-safe copy: numpy scalars to Python, floats rounded, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, digits)
    return value


def _write_json(path: Path, payload: dict[str, Any], digits: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload, digits), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


MAX_HEADLINE_METRICS = 24
"""Most numbers one stage's ``metrics/<stage>.json`` may hold, so ``dvc exp show`` stays readable
(ingest's ten data counts plus the world's twelve headline signals, ``world_signals``, are the most)."""


def _count_leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_leaves(v) for v in value.values())
    return 1


def write_metrics(workspace: Workspace, stage: str, metrics: dict[str, Any], digits: int = 6) -> Path:
    """Write ``metrics/<stage>.json``: the headline numbers a researcher compares across experiments.

    Only numbers (or ``None``) at most two levels deep, and at most :data:`MAX_HEADLINE_METRICS`
    of them: notes, tables, timings and diagnostics go to :func:`write_diagnostics`, which DVC
    does not diff as metrics. Sorted keys and rounded floats keep the diffs stable.
    """
    leaves = _count_leaves(metrics)
    if leaves > MAX_HEADLINE_METRICS:
        raise ValueError(f"metrics/{stage}.json would hold {leaves} numbers; keep at most "
                         f"{MAX_HEADLINE_METRICS} headline metrics and send the rest to write_diagnostics")
    def check(value: Any, key: str, depth: int) -> None:
        if isinstance(value, dict):
            if depth >= 2:
                raise ValueError(f"metrics/{stage}.json: '{key}' nests deeper than two levels")
            for child, item in value.items():
                check(item, f"{key}.{child}" if key else str(child), depth + 1)
        elif value is not None and (isinstance(value, (str, bytes, list, tuple)) or not isinstance(
                value.item() if hasattr(value, "item") else value, (int, float))):
            raise ValueError(f"metrics/{stage}.json: '{key}' is {type(value).__name__}, not a number; "
                             "put notes and tables in write_diagnostics")
    check(metrics, "", 0)
    return _write_json(workspace.metrics_file(stage), metrics, digits)


def write_diagnostics(workspace: Workspace, stage: str, diagnostics: dict[str, Any], digits: int = 6) -> Path:
    """Write ``reports/diagnostics/<stage>.json``: tables, notes and timings behind the metrics.

    A DVC output of the stage but not a metric, so timing noise never shows in ``dvc metrics diff``;
    nothing downstream depends on it.
    """
    return _write_json(workspace.diagnostics_file(stage), diagnostics, digits)
