"""The encode stage, in the order the notebook ``02_encode`` calls it.

Each step lives in the module named after its idea; this module gathers them in the notebook's
order so that a reader of the notebook finds every call here:

1. inputs: :func:`~.inputs.load_inputs` (the store's catalogue and feedback, the world's truth,
   the MovieLens cold split);
2. the catalogue: :func:`~.catalogue.encode_catalogue` (text and image embeddings through the
   cache, prepared for the towers) with its tables :func:`~.catalogue.model_provenance`,
   :func:`~.catalogue.modality_table`, :func:`~.catalogue.cache_table`;
3. the training set: :func:`~.training.build_training_set` (leave-one-out user pairs, text-query
   pairs, validation items);
4. the towers: :func:`~.training.train_towers` (gated fusion, cross-attention, text-only, image-only,
   concat on equal footing, several seeds each), :func:`~.attention.headline_fused_kind` (the tower
   whose weights the tables report), :func:`~.training.history_frame` and :func:`~.training.training_table`;
5. cold-start evaluation: :func:`~.coldstart.evaluate_cold_start` (every model and baseline on
   the same users and cold items) and :func:`~.coldstart.model_differences` (paired intervals
   and verdicts);
6. text queries: :func:`~.queries.evaluate_text_queries` and :func:`~.queries.query_differences`;
7. weight analysis: :func:`~.attention.alpha_by_query_kind`, :func:`~.attention.weight_diagnostics`
   (per-pair weights, the query's share of their variance, the effective vision share),
   :func:`~.attention.user_alpha`, :func:`~.attention.user_alpha_summary`, then what knowing the
   users' true modality weight could add: :func:`~.oracle.oracle_table`,
   :func:`~.attention.profile_reveals_weight` and :func:`~.attention.best_gate_recovery`;
8. the embedding space: :func:`~.embedding_space.projection_frame`,
   :func:`~.embedding_space.purity_table`;
9. the index and the outputs: :func:`~.item_index.build_item_index`, then
   :func:`~.outputs.save_outputs` (``data/encode/``; :func:`~.outputs.load_tower` reads the tower
   back), then the index's tables :func:`~.item_index.index_table`,
   :func:`~.item_index.index_summary`, :func:`~.item_index.sweep_table`;
10. metrics: :class:`~.metrics.EncodeRun` collects the results; :func:`~.metrics.encode_metrics`
    and :func:`~.metrics.encode_diagnostics` build the two JSON files.

The figures are :mod:`.plots`, the conclusions :mod:`.conclusions`.
"""

from __future__ import annotations

from hermes_core.encode.attention import (
    alpha_by_query_kind,
    headline_fused_kind,
    user_alpha,
    best_gate_recovery,
    profile_reveals_weight,
    user_alpha_summary,
    weight_diagnostics,
)
from hermes_core.encode.oracle import oracle_table
from hermes_core.encode.catalogue import (
    cache_folder,
    cache_table,
    encode_catalogue,
    make_text_encoder,
    modality_table,
    model_provenance,
)
from hermes_core.encode.coldstart import evaluate_cold_start, model_differences
from hermes_core.encode.embedding_space import projection_frame, purity_label, purity_table
from hermes_core.encode.inputs import load_inputs
from hermes_core.encode.item_index import build_item_index, index_summary, index_table, sweep_table
from hermes_core.encode.metrics import EncodeRun, encode_diagnostics, encode_metrics, headline_table
from hermes_core.encode.outputs import load_tower, save_outputs
from hermes_core.encode.queries import evaluate_text_queries, query_differences
from hermes_core.encode.training import build_training_set, history_frame, train_towers, training_table

__all__ = [
    # 1. inputs
    "load_inputs",
    # 2. the catalogue
    "cache_folder", "make_text_encoder", "encode_catalogue", "model_provenance", "modality_table", "cache_table",
    # 3.-4. training set and towers
    "build_training_set", "train_towers", "headline_fused_kind", "history_frame", "training_table",
    # 5. cold start
    "evaluate_cold_start", "model_differences",
    # 6. text queries
    "evaluate_text_queries", "query_differences",
    # 7. alpha analysis
    "alpha_by_query_kind", "weight_diagnostics", "user_alpha", "user_alpha_summary", "oracle_table", "profile_reveals_weight",
    "best_gate_recovery",
    # 8. the embedding space
    "projection_frame", "purity_label", "purity_table",
    # 9. the index and the outputs
    "build_item_index", "save_outputs", "load_tower", "index_table", "index_summary", "sweep_table",
    # 10. metrics
    "EncodeRun", "encode_metrics", "encode_diagnostics", "headline_table",
]  # fmt: skip
