"""Notebook tests (nbval): run every stage notebook on the tiny profile, outputs in a temp folder.

The kernel inherits these variables, so the notebooks read ``profiles/tiny.yaml`` and write
their data, metrics, figures and reports under a throw-away folder, never into the repository.
The OPE notebook needs the Open Bandit sample (``ope.obd.enabled``) and the retrieve and rank notebooks
MovieLens 100K (``retrieve.movielens.enabled``, ``rank.movielens.enabled``); where ``../shared/data`` is absent their cells are
skipped with the reason, as every test that needs the real data is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_created: list[str] = []


def pytest_configure(config: object) -> None:
    os.environ.setdefault("HERMES_PROFILE", "tiny")
    if "HERMES_OUTPUT_ROOT" not in os.environ:
        folder = tempfile.mkdtemp(prefix="hermes-notebooks-")
        _created.append(folder)
        os.environ["HERMES_OUTPUT_ROOT"] = folder
    os.environ.setdefault("MPLBACKEND", "Agg")


def _open_bandit_missing() -> str | None:
    """Why the OPE notebook cannot run here, or ``None``: the stage's own check of the sample."""
    from hermes_core.params import load_params
    from hermes_core.ope.stage import locate_obd
    from hermes_core.workspace import MissingDataError

    try:
        locate_obd(load_params().ope)
    except MissingDataError as error:
        return str(error)
    return None


def _movielens_missing() -> str | None:
    """Why the retrieve notebook cannot run here, or ``None``: the stage's own check of MovieLens 100K."""
    from hermes_core.params import load_params
    from hermes_core.retrieve.stage import movielens_root
    from hermes_core.workspace import MissingDataError

    try:
        movielens_root(load_params().retrieve)
    except MissingDataError as error:
        return str(error)
    return None


def _rank_movielens_missing() -> str | None:
    """Why the rank notebook cannot run here, or ``None``: the stage's own check of MovieLens 100K."""
    from hermes_core.params import load_params
    from hermes_core.rank.stage import movielens_root
    from hermes_core.workspace import MissingDataError

    try:
        movielens_root(load_params().rank)
    except MissingDataError as error:
        return str(error)
    return None


def _rerank_movielens_missing() -> str | None:
    """Why the rerank notebook cannot run here, or ``None``: the stage's own checks of MovieLens 100K and its graph."""
    from hermes_core.params import load_params
    from hermes_core.rerank.movielens import kg_root, movielens_root
    from hermes_core.workspace import MissingDataError

    params = load_params().rerank
    try:
        if movielens_root(params) is not None:
            kg_root(params)
    except MissingDataError as error:
        return str(error)
    return None


NEEDS_SHARED_DATA = {"06_ope.ipynb": _open_bandit_missing, "03_retrieve.ipynb": _movielens_missing,
                     "04_rank.ipynb": _rank_movielens_missing, "07_rerank.ipynb": _rerank_movielens_missing}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for notebook, missing in NEEDS_SHARED_DATA.items():
        chosen = [item for item in items if Path(str(item.fspath)).name == notebook]
        if not chosen:
            continue
        reason = missing()
        if reason is not None:
            for item in chosen:
                item.add_marker(pytest.mark.skip(reason=f"needs ../shared/data: {reason}"))


def pytest_unconfigure(config: object) -> None:
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
