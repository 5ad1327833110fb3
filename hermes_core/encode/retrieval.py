r"""Two-stage retrieval for query-conditioned fusion: ANN candidates, exact fused rescoring.

Why two stages: the fused item vector :math:`Z(q, j)` depends on the query, so no single
vector per item can be indexed. But :math:`Z` is a convex combination of per-modality values
(:mod:`hermes_core.encode.fusion`), hence for every query :math:`q` and item :math:`j`

.. math:: s(q, j) = \sum_m \alpha_m(q, j)\, \langle qP, m_j W_m \rangle \le \max_m \langle qP, m_j W_m \rangle

(a missing modality contributes the zero vector, whose score 0 only loosens the bound).

Stage 1 searches one maximum-inner-product index per modality vector
(:meth:`~hermes_core.encode.fusion.FusionTower.modality_item_vectors`) with the projected
query :math:`qP` and takes the union of the ``n_candidates`` best of each. Stage 2 computes
the exact fused score of the candidates (:meth:`FusionTower.forward` on the pairs) and keeps
the top ``k``.

Certificate: let :math:`\theta_m` be the ``n_candidates``-th score returned by modality
:math:`m`'s index (:math:`-\infty` when the index holds fewer items). An item outside every
candidate list has :math:`\langle qP, m_j W_m\rangle \le \theta_m` for all :math:`m`, so its
fused score is at most :math:`\max_m \theta_m`. If the ``k``-th rescored candidate scores at
least that, the returned top-``k`` is the exact one (``certified = True``). The argument
needs each stage-1 list to be the exact top list, i.e. ``flat`` indexes; with approximate
indexes the flag only certifies relative to what the index returned. Single-vector towers
(text-only, image-only, concat, and the gated tower, whose one item vector
:math:`[v W_v; t W_t]` is searched with :math:`[g_v(q) qP; g_t(q) qP]`) have one "modality" and
need no rescoring in principle; they go through the same code, searched with
:meth:`~hermes_core.encode.fusion.FusionTower.index_queries`.

One file for all modalities: :func:`stacked_modality_vectors` stacks the present rows of
every query-free vector into one matrix (row ``r`` belongs to item ``row_items[r]``), so a
single index serves stage 1; :func:`two_stage_topk` maps its rows back to items with
``row_items``. The certificate holds unchanged (an item outside the candidates has every
row below the index's ``n_candidates``-th score), with one addition: an item with no
indexed row (no modality present) has fused score 0, so 0 joins the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np
import torch

from hermes_core.index.faiss_index import IndexType, build_index, search
from hermes_core.encode.fusion import FusionTower, as_fusion_data


@dataclass(frozen=True)
class TwoStageResult:
    """Top-``k`` of each query after exact rescoring."""

    ids: np.ndarray  # (n_queries, k) item rows, best first; -1 where fewer than k candidates
    scores: np.ndarray  # (n_queries, k) exact fused scores; -inf where ids == -1
    n_candidates: np.ndarray  # (n_queries,) distinct candidates rescored
    certified: np.ndarray  # (n_queries,) bool: top-k provably exact (see module docstring)


@torch.no_grad()
def modality_vectors(
    model: FusionTower, vision: np.ndarray, text: np.ndarray, masks: np.ndarray, chunk: int = 65_536
) -> dict[str, np.ndarray]:
    """The model's query-free item vectors ``{name: (n_items, output_dim) float32}``."""
    device = next(model.parameters()).device
    model.eval()
    n_items = len(vision)
    empty_queries = np.zeros((0, model.d_q), dtype=np.float32)
    blocks: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_items, chunk):
        block = slice(start, start + chunk)
        data = as_fusion_data(empty_queries, vision[block], text[block], masks[block], device)
        for name, vectors in model.modality_item_vectors(data.vision, data.text, data.masks).items():
            blocks.setdefault(name, []).append(vectors.float().cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in blocks.items()}


@dataclass(frozen=True)
class StackedVectors:
    """Query-free item vectors of every modality in one matrix (rows of present modalities)."""

    vectors: np.ndarray  # (n_rows, width) float32: output_dim, or 2 output_dim for the gated tower
    item_rows: np.ndarray  # (n_rows,) item of each row
    modality: np.ndarray  # (n_rows,) name of each row's vector ("vision", "text", "item")


_PRESENT_COLUMNS = {"vision": (0,), "text": (1,), "item": (0, 1)}  # mask columns a vector needs


def stacked_modality_vectors(
    model: FusionTower, vision: np.ndarray, text: np.ndarray, masks: np.ndarray
) -> StackedVectors:
    """Stack :func:`modality_vectors` over modalities, keeping rows whose modality is present.

    A ``vision`` row exists where the image is present, a ``text`` row where the text is,
    an ``item`` row (single-vector towers) where either is. Rows are grouped by modality in
    the model's order, items ascending within a group.
    """
    present = np.asarray(masks, dtype=bool)
    vectors, items, names = [], [], []
    for name, block in modality_vectors(model, vision, text, present).items():
        rows = np.flatnonzero(present[:, list(_PRESENT_COLUMNS.get(name, (0, 1)))].any(axis=1))
        vectors.append(block[rows])
        items.append(rows)
        names.append(np.full(len(rows), name, dtype=object))
    return StackedVectors(
        vectors=np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32),
        item_rows=np.concatenate(items).astype(np.int64),
        modality=np.concatenate(names),
    )


def build_modality_indexes(
    model: FusionTower,
    vision: np.ndarray,
    text: np.ndarray,
    masks: np.ndarray,
    index_type: IndexType = "flat",
    **index_kwargs: Any,
) -> dict[str, faiss.Index]:
    """One FAISS inner-product index per query-free item vector of ``model``.

    ``index_kwargs`` go to :func:`hermes_core.index.faiss_index.build_index` (``nlist``, ``seed`` ...).
    """
    return {
        name: build_index(vectors, index_type, **index_kwargs)
        for name, vectors in modality_vectors(model, vision, text, masks).items()
    }


@torch.no_grad()
def two_stage_topk(
    model: FusionTower,
    query_vecs: np.ndarray,
    vision: np.ndarray,
    text: np.ndarray,
    masks: np.ndarray,
    indexes: dict[str, faiss.Index],
    k: int = 10,
    n_candidates: int = 200,
    chunk: int = 65_536,
    row_items: Mapping[str, np.ndarray] | None = None,
    exact_index: bool = True,
) -> TwoStageResult:
    """Top-``k`` items by exact fused score among the union of per-modality ANN candidates.

    ``indexes`` come from :func:`build_modality_indexes` on the same model and catalogue, or
    are one index over :func:`stacked_modality_vectors`, with ``row_items`` mapping the index's
    name to ``StackedVectors.item_rows`` (its row ids are then translated to item rows).
    ``chunk`` bounds the (query, candidate) pairs rescored at once. ``exact_index=False`` (HNSW, IVF:
    an approximate index's last returned score bounds nothing it failed to return) sets every
    ``certified`` to False.
    """
    if k < 1 or n_candidates < 1:
        raise ValueError(f"k and n_candidates must be at least 1, got {k} and {n_candidates}")
    device = next(model.parameters()).device
    model.eval()
    data = as_fusion_data(query_vecs, vision, text, masks, device)
    n_queries = data.queries.shape[0]
    projected = model.index_queries(data.queries).float().cpu().numpy()  # (n_q, index width)
    candidate_lists, thresholds = [], []
    for name, index in indexes.items():
        scores, ids = search(index, projected, n_candidates)
        if row_items is not None and name in row_items:
            ids = np.where(ids >= 0, np.asarray(row_items[name])[np.maximum(ids, 0)], -1)
        candidate_lists.append(ids)
        thresholds.append(scores[:, -1])  # -inf when the index holds < n_candidates items
    if row_items is not None:
        covered = np.zeros(len(vision), dtype=bool)
        for rows in row_items.values():
            covered[np.asarray(rows)] = True
        if not covered.all():  # unindexed items (no modality) have fused score exactly 0
            thresholds.append(np.zeros(n_queries, dtype=np.float32))
    candidates = np.concatenate(candidate_lists, axis=1)  # (n_q, n_modalities * n_candidates)
    candidates = np.sort(candidates, axis=1)
    duplicate = np.zeros_like(candidates, dtype=bool)
    duplicate[:, 1:] = candidates[:, 1:] == candidates[:, :-1]
    valid = (candidates >= 0) & ~duplicate
    # exact fused scores of every valid (query, candidate) pair, in chunks of pairs
    rescored = np.full(candidates.shape, -np.inf, dtype=np.float32)
    query_rows, columns = np.nonzero(valid)
    for start in range(0, len(query_rows), chunk):
        rows = query_rows[start : start + chunk]
        cols = columns[start : start + chunk]
        items = torch.as_tensor(candidates[rows, cols], device=device)
        queries = data.queries[torch.as_tensor(rows, device=device)]
        fused, _ = model(queries, data.vision[items], data.text[items], data.masks[items])
        pair_scores = (model.encode_queries(queries) * fused).sum(dim=-1)
        rescored[rows, cols] = pair_scores.float().cpu().numpy()
    order = np.argsort(-rescored, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(rescored, order, axis=1)
    top_ids = np.where(np.isfinite(top_scores), np.take_along_axis(candidates, order, axis=1), -1)
    if top_ids.shape[1] < k:  # fewer candidate slots than k
        pad = k - top_ids.shape[1]
        top_ids = np.pad(top_ids, ((0, 0), (0, pad)), constant_values=-1)
        top_scores = np.pad(top_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    bound_outside = np.max(np.stack(thresholds, axis=1), axis=1)  # (n_q,)
    n_valid = valid.sum(axis=1)
    complete = n_valid >= min(k, len(vision))
    certified = complete & ((top_scores[:, min(k, len(vision)) - 1] >= bound_outside) | ~np.isfinite(bound_outside))
    if not exact_index:
        certified = np.zeros_like(certified)
    return TwoStageResult(ids=top_ids, scores=top_scores, n_candidates=n_valid, certified=certified)
