"""Where a stage reads and writes: data, metrics and figures, relocatable for tests.

By default everything lives under the project root (the folder holding ``params.yaml``).
Setting ``HERMES_OUTPUT_ROOT`` (the notebook tests do) sends every stage's outputs to
another folder, so running a notebook never touches the committed ``metrics/`` or the
pipeline's ``data/``. ``HERMES_SHARED_DATA`` points at the real datasets
(default ``<project root>/../shared/data``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes_core.config import find_params_file

OUTPUT_ROOT_ENV = "HERMES_OUTPUT_ROOT"
SHARED_DATA_ENV = "HERMES_SHARED_DATA"


def project_root() -> Path:
    return find_params_file().parent


def shared_data_dir(configured: str | None = None) -> Path:
    """The real-data folder: ``$HERMES_SHARED_DATA``, else ``configured`` relative to the root."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV])
    path = Path(configured or "../shared/data")
    return path if path.is_absolute() else (project_root() / path).resolve()


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

    def plot_data(self, stage: str) -> Path:
        folder = self.root / "metrics" / "plots" / stage
        folder.mkdir(parents=True, exist_ok=True)
        return folder


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


def write_metrics(workspace: Workspace, stage: str, metrics: dict[str, Any], digits: int = 6) -> Path:
    """Write ``metrics/<stage>.json`` (sorted keys, rounded floats: stable diffs)."""
    path = workspace.metrics_file(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(metrics, digits), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
