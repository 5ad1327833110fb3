"""Notebook tests (nbval): run every stage notebook on the tiny profile, outputs in a temp folder.

The kernel inherits these variables, so the notebooks read ``profiles/tiny.yaml`` and write
their data, metrics and figures under a throw-away folder, never into the repository.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_created: list[str] = []


def pytest_configure(config: object) -> None:
    os.environ.setdefault("HERMES_PROFILE", "tiny")
    if "HERMES_OUTPUT_ROOT" not in os.environ:
        folder = tempfile.mkdtemp(prefix="hermes-notebooks-")
        _created.append(folder)
        os.environ["HERMES_OUTPUT_ROOT"] = folder
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_unconfigure(config: object) -> None:
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
