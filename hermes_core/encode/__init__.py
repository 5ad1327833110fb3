"""The encode stage: content embeddings, query-conditioned fusion, cold start, ANN retrieval, metrics.

Modules (imported on use, so ``import hermes_core.encode`` pulls in neither torch nor FAISS):

* faces: :mod:`~.params` (``EncodeParams``, the ``encode:`` block of params.yaml),
  :mod:`~.stage` (the steps notebook ``02_encode`` calls, in its order), :mod:`~.metrics`
  (``EncodeRun``; the whole ``metrics/encode.json`` and the diagnostics), :mod:`~.plots` (the
  figures), :mod:`~.conclusions` (the sentences of the conclusions);
* inputs and splits: :mod:`~.inputs` (the store's catalogue and feedback, the world's truth),
  :mod:`~.splits` (MovieLens cold items, validation items, held-out text queries);
* encoders: :mod:`~.text` (``TextEncoder``, offline MiniLM), :mod:`~.image`
  (``EfficientNetLite0Encoder`` and the image-encoder registry), :mod:`~.cache` (the
  content-addressed embedding cache), :mod:`~.catalogue` (encoding and preparing the catalogue);
* towers: :mod:`~.profiles` (query vectors, leave-one-out and text-query pairs), :mod:`~.fusion`
  (cross-attention fusion, the baseline towers, ``train_fusion``, ``score_items``),
  :mod:`~.training` (the training set and the towers trained on equal footing);
* evaluation: :mod:`~.baselines` (popularity, random), :mod:`~.coldstart` (the cold-start
  protocol and paired model differences), :mod:`~.queries` (held-out text queries),
  :mod:`~.attention` (alpha by query kind and by user), :mod:`~.embedding_space` (projection,
  neighbour purity);
* retrieval: :mod:`~.retrieval` (two-stage ANN + exact fused rescoring), :mod:`~.item_index`
  (the FAISS index of the stage and its comparison with exact search), :mod:`~.outputs`
  (``data/encode/``).

Shared layers it uses: :mod:`hermes_core.evaluation.ranking` (NDCG@k, recall@k),
:mod:`hermes_core.evaluation.bootstrap` and :mod:`~hermes_core.evaluation.verdict` (intervals and
verdicts), :mod:`hermes_core.losses` (the sampled softmax), :mod:`hermes_core.index.faiss_index`.
"""

from __future__ import annotations

__all__ = [
    "attention", "baselines", "cache", "catalogue", "coldstart", "conclusions", "embedding_space", "fusion", "image",
    "inputs", "item_index", "metrics", "outputs", "params", "plots", "profiles", "queries", "retrieval", "splits",
    "stage", "text", "training",
]
