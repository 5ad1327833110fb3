"""The stage's inputs read from the store: cold items free of interactions, the MovieLens cold split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hermes_core.data.store import FeatureStore
from hermes_core.encode.inputs import load_inputs


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
