"""What the stage leaves on disk for the next stages: embeddings, the FAISS index and the tower.

:func:`save_outputs` writes ``data/encode/embeddings.parquet`` and ``data/encode/index/``
(``index.faiss``, ``rows.parquet``, ``tower.pt``, ``query_side.npz``, ``manifest.json``);
:func:`load_tower` rebuilds the saved tower, and :class:`~hermes_core.index.query_side.QuerySide`
reads its query side without the encode stage's code (what the retrieve stage searches with).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.fusion import FusionTower, make_fusion_model
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.item_index import IndexReport
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.training import TrainedTower
from hermes_core.index.query_side import QuerySide


def save_outputs(
    folder: Path, inputs: EncodeInputs, encoded: EncodedItems, report: IndexReport, towers: dict[str, TrainedTower],
    params: EncodeParams,
) -> dict[str, Path]:
    """Write ``embeddings.parquet`` and ``index/`` (``index.faiss``, ``rows.parquet``,
    ``tower.pt``, ``query_side.npz``, ``manifest.json``) under ``folder`` (``data/encode``)."""
    from hermes_core.index.faiss_index import save_index

    folder.mkdir(parents=True, exist_ok=True)
    items = inputs.items

    def fixed(vectors: np.ndarray) -> pa.Array:
        width = max(int(vectors.shape[1]), 1)
        flat = np.ascontiguousarray(vectors if vectors.shape[1] else np.zeros((len(vectors), 1)), dtype=np.float32)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), width)

    columns: dict[str, Any] = {
        "item_id": pa.array(items.item_ids.tolist(), pa.string()),
        "domain": pa.array(items.domain.tolist(), pa.string()),
        "is_cold": pa.array(items.is_cold),
        "has_text": pa.array(encoded.text_mask),
        "has_image": pa.array(encoded.image_mask),
        "text_embedding": fixed(encoded.text_raw),
    }
    if encoded.image_dim:
        columns["image_embedding"] = fixed(encoded.image_raw)
    tower = towers[report.tower_kind]
    for name in sorted(set(report.stacked.modality.tolist())):
        vectors = np.zeros((len(items), report.stacked.vectors.shape[1]), dtype=np.float32)
        chosen = report.stacked.modality == name
        vectors[report.stacked.item_rows[chosen]] = report.stacked.vectors[chosen]
        columns[f"{tower.label}_{name}_vector"] = fixed(vectors)
    embeddings_path = folder / "embeddings.parquet"
    pq.write_table(pa.table(columns), embeddings_path)
    index_folder = folder / "index"
    index_folder.mkdir(parents=True, exist_ok=True)
    save_index(report.index, index_folder / "index.faiss")
    pq.write_table(pa.table({
        "row": pa.array(np.arange(len(report.stacked.item_rows))),
        "item_id": pa.array(items.item_ids[report.stacked.item_rows].tolist(), pa.string()),
        "modality": pa.array(report.stacked.modality.tolist(), pa.string()),
    }), index_folder / "rows.parquet")
    model = tower.model
    torch.save({
        "kind": tower.kind, "d_q": model.d_q, "d_v": model.d_v, "d_t": model.d_t,
        "d_k": getattr(model, "d_k", params.fusion.d_k), "output_dim": model.output_dim,
        "state_dict": {key: value.cpu() for key, value in model.state_dict().items()},
    }, index_folder / "tower.pt")
    query_side_of(model).save(index_folder / "query_side.npz")
    manifest = {
        "tower": tower.kind, "index_type": report.index_type, "knobs": report.knobs,
        "metric": "inner product", "n_rows": int(len(report.stacked.item_rows)),
        "dim": int(report.stacked.vectors.shape[1]),
        "query": "tower.index_queries([text profile; image profile]) (see hermes_core.encode.profiles); "
                 "query_side.npz holds it as arrays (hermes_core.index.query_side.QuerySide)",
        "rows": "rows.parquet maps each index row to its item_id and modality",
        "text_model": encoded.text_model_id, "image_model": encoded.image_model_id,
        "feature_centering": params.fusion.feature_centering,
    }
    (index_folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return {"embeddings": embeddings_path, "index": index_folder / "index.faiss", "rows": index_folder / "rows.parquet",
            "tower": index_folder / "tower.pt", "query_side": index_folder / "query_side.npz"}


def query_side_of(model: FusionTower) -> QuerySide:
    """The query side of an indexable tower as arrays (:class:`~hermes_core.index.query_side.QuerySide`):
    its projection :math:`P` and, for the gated tower, its gate layer; ``index_queries`` of the two
    agree (``tests/encode/test_query_side_export.py``)."""
    projection = model.query_projection.weight.detach().cpu().double().numpy().T  # (d_q, D)
    gate = getattr(model, "gate", None) if model.kind == "gated" else None
    return QuerySide(
        kind=model.kind, projection=projection, d_text=model.d_t, d_image=model.d_q - model.d_t,
        gate_weight=None if gate is None else gate.weight.detach().cpu().double().numpy(),
        gate_bias=None if gate is None else gate.bias.detach().cpu().double().numpy(),
    )  # fmt: skip


def load_tower(path: str | Path) -> FusionTower:
    """Rebuild a tower saved by :func:`save_outputs` (``index/tower.pt``), in eval mode."""
    saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    model = make_fusion_model(saved["kind"], saved["d_q"], saved["d_v"], saved["d_t"],
                              d_k=saved["d_k"], output_dim=saved["output_dim"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()
