"""What the stage leaves on disk: embeddings by item id, the index with its rows, the reloadable tower."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch

from hermes_core.encode import outputs
from hermes_core.index.faiss_index import load_index


def test_saved_outputs_reload_to_the_same_index_and_tower(world_run: dict[str, Any], tmp_path: Any) -> None:
    inputs, encoded, report, towers, params = (
        world_run[k] for k in ("inputs", "encoded", "report", "towers", "params"))
    written = outputs.save_outputs(tmp_path / "encode", inputs, encoded, report, towers, params.encode)
    table = pq.read_table(written["embeddings"])
    assert table.column("item_id").to_pylist() == inputs.items.item_ids.tolist()
    assert table.column("has_image").to_pylist() == encoded.image_mask.tolist()
    rows = pq.read_table(written["rows"])
    assert load_index(written["index"]).ntotal == len(rows) == len(report.stacked.item_rows)
    manifest = json.loads((tmp_path / "encode" / "index" / "manifest.json").read_text())
    assert manifest["tower"] == "gated" and manifest["feature_centering"] is True
    users = world_run["evaluation"].users.vectors[:2]
    reloaded = outputs.load_tower(written["tower"])
    np.testing.assert_allclose(
        reloaded.index_queries(torch.as_tensor(users)).detach().numpy(),
        towers["gated"].model.index_queries(torch.as_tensor(users)).detach().numpy(), rtol=1e-6)
