"""The stage's inputs read from the store: cold items free of interactions, the MovieLens cold split,
and exactly the store version the ingest stage wrote."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hermes_core.data.store import FeatureStore
from hermes_core.encode.inputs import load_inputs
from hermes_core.workspace import Workspace


def test_world_inputs_keep_cold_items_free_of_interactions(world_stage: dict[str, Any]) -> None:
    inputs = world_stage["inputs"]
    world = inputs.world
    assert inputs.items.is_cold.sum() == world.catalogue.is_cold[inputs.world_item_index].sum() > 0
    # clicks and impressions before the cut-off, on warm items only
    assert not inputs.items.is_cold[inputs.positives["item_row"]].any()
    assert not inputs.items.is_cold[inputs.exposures["item_row"]].any()
    assert (inputs.positives["timestamp"] < pd.Timestamp(world.log_end)).all()
    # every positive is a click the store holds, every exposure an impression
    store_events = FeatureStore(world_stage["workspace"].store).read_table("interactions")
    assert len(inputs.positives) == int((store_events["event_type"] == "click").sum())
    assert len(inputs.exposures) == int((store_events["event_type"] == "impression").sum())
    # item rows follow the sorted asset ids
    assert inputs.items.item_ids.tolist() == sorted(inputs.items.item_ids.tolist())


def test_movielens_inputs_are_text_only_with_a_seeded_cold_split(movielens_run: dict[str, Any]) -> None:
    inputs, params, workspace = movielens_run["inputs"], movielens_run["params"], movielens_run["workspace"]
    assert inputs.world is None and all(p is None for p in inputs.items.image_paths)
    n_rated = inputs.items.is_cold.sum() + len(np.unique(inputs.exposures["item_row"]))
    assert inputs.items.is_cold.sum() == round(params.encode.split.movielens_cold_share * n_rated)
    # no training event touches a cold movie; every held-out rating does
    assert not inputs.items.is_cold[inputs.positives["item_row"]].any()
    assert inputs.items.is_cold[inputs.heldout_ratings["item_row"]].all()
    assert load_inputs(params, workspace).items.is_cold.tolist() == inputs.items.is_cold.tolist()  # seeded


def test_inputs_come_from_the_version_ingest_wrote_not_the_newest(world_stage: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    params, ingested = world_stage["params"], world_stage["workspace"]
    workspace = Workspace(tmp_path)
    for folder in ("store", "world"):
        shutil.copytree(ingested.data / folder, workspace.data / folder)
    store = FeatureStore(workspace.store)
    pinned = store.current()  # data/store/CURRENT, written by the ingest stage
    # a version written after it, without a single click, whose name also sorts after it
    tables = {name: store.read_table(name, pinned) for name in store.manifest(pinned).tables}
    tables["interactions"] = tables["interactions"][tables["interactions"]["event_type"] != "click"]
    store.write_snapshot(tables, version="v-zzzz-written-later")
    (workspace.store / "CURRENT").write_text(f"{pinned}\n", encoding="ascii")  # what ingest recorded
    positives = load_inputs(params, workspace).positives
    assert len(positives) == len(world_stage["inputs"].positives) > 0  # the clicks of the pinned version
    (workspace.store / "CURRENT").unlink()
    with pytest.raises(FileNotFoundError, match=f"{workspace.store / 'CURRENT'} does not name a stored version"):
        load_inputs(params, workspace)
