"""Fixtures of the ingest tests: two hand-built sets of accepted tables and two stage runs.

* ``logged_tables``: shaped like the world's (impressions, clicks, a conversion), counts
  worked out by hand in its docstring;
* ``rating_tables``: shaped like MovieLens' (ratings only, no cohorts);
* ``world_stage``: the stage run end to end on the shared tiny world (``tests/conftest.py``);
* ``movielens_stage``: the stage run on the MovieLens 100K fixture (``tests/fixtures/movielens/100k``).

The stage runs are read-only for the tests that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

if TYPE_CHECKING:
    from hermes_core.ingest.stage import IngestStageResult
    from hermes_core.params import HermesParams
    from hermes_core.workspace import Workspace
    from hermes_core.world.params import WorldParams

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_100K = ROOT / "tests" / "fixtures" / "movielens" / "100k"


def stamp(day: str) -> pd.Timestamp:
    """Noon UTC of ``2025-<day>``."""
    return pd.Timestamp(f"2025-{day}T12:00:00Z")


@pytest.fixture
def logged_tables() -> dict[str, pd.DataFrame]:
    """4 users, 5 items; impressions u1: i1 i1 i2 i3, u2: i1 i2, u3: i1, u4: none; 2 clicks, 1 conversion.

    i3 is created (02-10) after its impression (02-01); i5 is created (06-01) after the last
    impression (02-20). Domains: i1, i2 movie; i3 music; i4, i5 news.
    """
    users = pd.DataFrame({"user_id": ["u1", "u2", "u3", "u4"]})
    assets = pd.DataFrame({
        "asset_id": ["i1", "i2", "i3", "i4", "i5"],
        "domain": ["movie", "movie", "music", "news", "news"],
        "creator_cohort": ["mainstream", "mainstream", "independent", "independent", "independent"],
        "created_at": [stamp("01-01"), stamp("01-01"), stamp("02-10"), stamp("01-01"), stamp("06-01")],
    })
    rows = [
        ("impression", "u1", "i1", "02-01"), ("impression", "u1", "i1", "02-02"), ("impression", "u1", "i2", "02-01"),
        ("impression", "u1", "i3", "02-01"), ("impression", "u2", "i1", "02-01"), ("impression", "u2", "i2", "02-01"),
        ("impression", "u3", "i1", "02-20"),
        ("click", "u1", "i1", "02-01"), ("click", "u2", "i2", "02-01"), ("conversion", "u1", "i1", "02-03"),
    ]
    interactions = pd.DataFrame([{"event_type": kind, "user_id": user, "item_id": item, "timestamp": stamp(day),
                                  "value": None} for kind, user, item, day in rows])
    return {"users": users, "assets": assets, "interactions": interactions}


@pytest.fixture
def rating_tables() -> dict[str, pd.DataFrame]:
    """3 users, 2 movies; ratings r1: m1=4 m2=5, r2: m1=4 m2=3, r3: none."""
    users = pd.DataFrame({"user_id": ["r1", "r2", "r3"]})
    assets = pd.DataFrame({"asset_id": ["m1", "m2"], "domain": ["movie", "movie"], "creator_cohort": [None, None],
                           "created_at": [stamp("01-01"), stamp("01-01")]})
    rows = [("r1", "m1", 4.0), ("r1", "m2", 5.0), ("r2", "m1", 4.0), ("r2", "m2", 3.0)]
    interactions = pd.DataFrame([{"event_type": "rating", "user_id": user, "item_id": item, "timestamp": stamp("03-01"),
                                  "value": value} for user, item, value in rows])
    return {"users": users, "assets": assets, "interactions": interactions}


@pytest.fixture
def make_stage() -> Callable[[dict[str, pd.DataFrame], str], IngestStageResult]:
    """A stage result around accepted tables: nothing quarantined, no store, no world (what the
    profile, metrics and conclusions read)."""
    from hermes_core.ingest.stage import IngestStageResult
    from hermes_core.ingest.validate import IngestResult

    def build(tables: dict[str, pd.DataFrame], source: str) -> IngestStageResult:
        counts = {name: {"in": len(frame), "accepted": len(frame), "quarantined": 0} for name, frame in tables.items()}
        result = IngestResult(tables=tables, quarantine=pd.DataFrame(columns=["table", "source", "reason"]),
                              counts=counts)
        return IngestStageResult(source, result, manifest=None, world=None)  # type: ignore[arg-type]

    return build


def default_params() -> HermesParams:
    from hermes_core.params import load_params

    return load_params(ROOT / "params.yaml", profile="default")


@pytest.fixture(scope="session")
def world_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Where ``world_stage`` wrote its raw files, world and store."""
    from hermes_core.workspace import Workspace

    return Workspace(root=tmp_path_factory.mktemp("world_stage"))


@pytest.fixture(scope="session")
def world_stage(tiny_world_params: WorldParams, world_workspace: Workspace) -> IngestStageResult:
    """The stage on the shared tiny world (200 users, 150 items, 2% malformed records)."""
    from hermes_core.ingest.stage import run_ingest_stage

    params = default_params().model_copy(update={"world": tiny_world_params})
    return run_ingest_stage(params, world_workspace)


@pytest.fixture(scope="session")
def movielens_stage(tmp_path_factory: pytest.TempPathFactory) -> IngestStageResult:
    """The stage on the MovieLens 100K fixture."""
    from hermes_core.ingest.stage import run_ingest_stage
    from hermes_core.workspace import Workspace

    params = default_params()
    params = params.model_copy(update={"data": params.data.model_copy(
        update={"source": "movielens-100k", "movielens_path": str(FIXTURE_100K)})})
    return run_ingest_stage(params, Workspace(root=tmp_path_factory.mktemp("movielens_stage")))
