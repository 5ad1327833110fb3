"""The FAISS index over the indexed tower's query-free vectors, compared with exact search.

:func:`build_item_index` indexes the vectors of :func:`~.retrieval.stacked_modality_vectors`
(one row per item and modality) with ``encode.ann``, measures its search recall and QPS against
exact search on the evaluated users' projected profiles, sweeps its search knob, and measures
two-stage retrieval (index, then exact fused rescoring) against exact fused scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.coldstart import ColdStartEvaluation
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.training import MODEL_LABELS, TrainedTower, score


@dataclass
class IndexReport:
    """The saved FAISS index and how it compares with exact search."""

    tower_kind: str
    stacked: Any  # retrieval.StackedVectors
    index: Any  # faiss.Index
    index_type: str
    search_recall_at_k: float  # share of the exact search's top k the index returns
    k: int
    qps: float
    exact_qps: float
    sweep: pd.DataFrame
    two_stage_recall: float  # share of the exact fused top k that index + exact rescoring returns
    two_stage_certified: float  # share certified exact; NaN for approximate indexes (no certificate)
    n_queries: int
    knobs: dict[str, int]

    @property
    def relevant_knobs(self) -> dict[str, int]:
        """The knobs the index family reads (``knobs`` lists every ``encode.ann`` knob)."""
        names = INDEX_KNOBS.get(self.index_type, ())
        return {name: self.knobs[name] for name in names if name in self.knobs}


INDEX_KNOBS: dict[str, tuple[str, ...]] = {
    "flat": (),
    "ivf_flat": ("nlist", "nprobe"),
    "hnsw": ("hnsw_m", "ef_construction", "ef_search"),
    "ivf_pq": ("nlist", "nprobe", "pq_m", "pq_nbits"),
}
"""The ``encode.ann`` knobs each FAISS index family uses."""


def _index_knobs(params: EncodeParams, n_rows: int) -> dict[str, Any]:
    ann = params.ann
    if ann.index_type in ("ivf_flat", "ivf_pq") and ann.nlist > n_rows:
        raise ValueError(
            f"encode.ann.nlist={ann.nlist} exceeds the {n_rows} vectors to index; lower it (about 4 sqrt(n) "
            f"= {int(4 * np.sqrt(n_rows))} is FAISS's usual guideline)"
        )
    return {
        "nlist": ann.nlist, "nprobe": ann.nprobe, "hnsw_m": ann.hnsw_m, "ef_search": ann.ef_search,
        "ef_construction": ann.ef_construction, "pq_m": ann.pq_m, "pq_nbits": ann.pq_nbits, "seed": params.seed,
    }


def build_item_index(
    towers: dict[str, TrainedTower], encoded: EncodedItems, evaluation: ColdStartEvaluation, params: EncodeParams
) -> IndexReport:
    """Index the indexed tower's query-free vectors; compare with exact search on the users.

    The indexed tower is ``encode.fusion.kind`` when it was trained, else the text tower.
    Queries: the evaluated users' index queries (:meth:`~.fusion.FusionTower.index_queries`: :math:`qP`,
    or :math:`[g_v qP; g_t qP]` for the gated tower, whose one vector per item makes the index exact
    up to the ANN's own approximation). The HNSW graph is built
    with one thread so that the same parameters give the same graph (and recall).
    """
    import faiss

    from hermes_core.index import faiss_index as ann
    from hermes_core.encode.retrieval import stacked_modality_vectors, two_stage_topk

    kind = params.fusion.kind if params.fusion.kind in towers else "text_only"
    tower = towers[kind]
    stacked = stacked_modality_vectors(tower.model, encoded.image, encoded.text, encoded.masks)
    knobs = _index_knobs(params, len(stacked.vectors))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index = ann.build_index(stacked.vectors, params.ann.index_type, **knobs)
    finally:
        faiss.omp_set_num_threads(threads)
    with torch.no_grad():
        model = tower.model
        queries = model.index_queries(
            torch.as_tensor(evaluation.users.vectors, device=next(model.parameters()).device)
        ).float().cpu().numpy()
    k = params.ann.recall_k
    flat = ann.build_index(stacked.vectors, "flat")
    _, exact_ids = ann.search(flat, queries, k)
    _, approx_ids = ann.search(index, queries, k)
    recall = ann.search_recall_at_k(approx_ids, exact_ids, k)
    exact_qps = ann.measure_qps(flat, queries, k)
    qps = ann.measure_qps(index, queries, k)
    if params.ann.index_type == "hnsw":
        sweep_rows = ann.sweep(index, queries, exact_ids, "ef_search", params.ann.sweep_ef_search, k=k)
        ann.set_search_knob(index, "ef_search", params.ann.ef_search)
    elif params.ann.index_type in ("ivf_flat", "ivf_pq"):
        values = [v for v in params.ann.sweep_nprobe if v <= params.ann.nlist]
        sweep_rows = ann.sweep(index, queries, exact_ids, "nprobe", values, k=k)
        ann.set_search_knob(index, "nprobe", params.ann.nprobe)
    else:
        sweep_rows = []
    sweep = pd.DataFrame(sweep_rows)
    # two-stage retrieval (stage 1: this index; stage 2: exact fused rescoring) vs exact fused top-k
    all_rows = np.arange(len(encoded.text_mask))
    exact_fused = score(tower, evaluation.users.vectors, encoded, all_rows)
    exact_top = np.argsort(-exact_fused, axis=1, kind="stable")[:, :k]
    two_stage = two_stage_topk(
        tower.model, evaluation.users.vectors, encoded.image, encoded.text, encoded.masks,
        {"stacked": index}, k=k, n_candidates=min(params.ann.n_candidates, len(stacked.vectors)),
        row_items={"stacked": stacked.item_rows}, exact_index=params.ann.index_type == "flat",
    )
    return IndexReport(
        tower_kind=kind, stacked=stacked, index=index, index_type=params.ann.index_type,
        search_recall_at_k=recall, k=k, qps=qps, exact_qps=exact_qps, sweep=sweep,
        two_stage_recall=ann.search_recall_at_k(two_stage.ids, exact_top, k),
        two_stage_certified=(float(two_stage.certified.mean()) if params.ann.index_type == "flat" else float("nan")),
        n_queries=len(queries),
        knobs={key: value for key, value in knobs.items() if key != "seed"},
    )


def index_table(report: IndexReport) -> pd.DataFrame:
    """The index against exact search: search recall@k and thousands of queries a second."""
    knobs = ", ".join(f"{name}={value}" for name, value in report.relevant_knobs.items())
    return pd.DataFrame({
        "index": [f"{report.index_type} ({knobs})", "exact (IndexFlatIP)"],
        f"recall@{report.k} vs exact": [report.search_recall_at_k, 1.0],
        "thousand queries/s": [report.qps / 1e3, report.exact_qps / 1e3],
    }).set_index("index")


def index_summary(report: IndexReport) -> str:
    """One line: the index's size, and two-stage retrieval against exact scoring of the tower."""
    certified = (f"certified exact for {report.two_stage_certified:.1%} of the queries"
                 if np.isfinite(report.two_stage_certified) else
                 f"no certificate ({report.index_type} is approximate: its last returned score bounds nothing it missed)")
    return (f"{len(report.stacked.item_rows)} vectors of width {report.stacked.vectors.shape[1]}, "
            f"{report.n_queries} queries; two-stage top-{report.k} vs exact scoring of the "
            f"{MODEL_LABELS[report.tower_kind]} tower: recall {report.two_stage_recall:.4f}, {certified}")


def sweep_table(report: IndexReport) -> pd.DataFrame:
    """The knob sweep by (knob, value): search recall@k and thousands of queries a second."""
    k = report.k
    return (report.sweep.assign(qps=report.sweep["qps"] / 1e3)
            .rename(columns={"search_recall_at_k": f"recall@{k}", "qps": "thousand queries/s"})
            .set_index(["knob", "value"])[[f"recall@{k}", "thousand queries/s"]])
