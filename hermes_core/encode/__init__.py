"""The encode stage: content embeddings, query-conditioned fusion, ANN retrieval, metrics.

Modules (imported on use, so ``import hermes_core.encode`` pulls in neither torch nor FAISS):

* :mod:`~hermes_core.encode.params`: ``EncodeParams`` (the ``encode:`` block of params.yaml);
* :mod:`~hermes_core.encode.text`: ``TextEncoder``, sentence-transformers, offline, 384-d MiniLM;
* :mod:`~hermes_core.encode.image`: ``EfficientNetLite0Encoder`` (1280-d), the ``ImageEncoder``
  protocol and ``register_image_encoder`` / ``make_image_encoder``;
* :mod:`~hermes_core.encode.cache`: ``EmbeddingCache`` and ``encode_with_cache``;
* :mod:`~hermes_core.encode.fusion`: cross-attention fusion, baselines, ``train_fusion``,
  ``score_items``;
* :mod:`~hermes_core.encode.retrieval`: two-stage ANN + exact fused rescoring;
* :mod:`~hermes_core.index.faiss_index`: FAISS inner-product indexes, recall, QPS, sweeps;
* :mod:`~hermes_core.encode.metrics`: ``ndcg_at_k``, ``recall_at_k``;
* :mod:`~hermes_core.device`: ``resolve_device``;
* :mod:`~hermes_core.encode.world_data`: the stage's inputs (store, world truth, MovieLens cold split);
* :mod:`~hermes_core.encode.coldstart`: query vectors, leave-one-out pairs, baselines, cold-start evaluation;
* :mod:`~hermes_core.encode.stage`: the steps the notebook ``02_encode`` runs, outputs and metrics.
"""

from __future__ import annotations

__all__ = [
    "ann", "cache", "coldstart", "device", "fusion", "image", "metrics", "params", "retrieval", "stage", "text",
    "world_data",
]
