"""The training set and the four towers trained on it on equal footing.

:func:`build_training_set`: leave-one-out user pairs on warm clicks, training text-query pairs
(world only) and the pseudo-cold validation items (:func:`~.splits.validation_items`) that choose
each tower's epoch. :func:`train_towers`: the text-only, image-only, concat and cross-attention
towers of :mod:`.fusion`, trained on the same pairs with the same seed and settings, each kept at
its epoch of best validation NDCG (observed positives only, never the world's truth).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.device import resolve_device
from hermes_core.encode.catalogue import EncodedItems, embed_query_texts
from hermes_core.encode.fusion import FusionTower, score_items, train_fusion
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.profiles import QuerySet, leave_one_out_pairs, positive_labels, text_query_pairs, user_profiles
from hermes_core.encode.splits import split_queries, validation_items
from hermes_core.evaluation.ranking import ndcg_at_k

MODEL_LABELS: dict[str, str] = {
    "text_only": "text",
    "image_only": "image",
    "concat": "concat",
    "cross_attention": "fused",
}
"""Name of each tower in the tables and in ``metrics/encode.json``."""

NEEDS_IMAGES = frozenset({"image_only", "concat", "cross_attention"})
NEEDS_TEXT = frozenset({"text_only", "concat", "cross_attention"})


@dataclass(frozen=True)
class TrainingSet:
    """Training pairs, the pseudo-cold validation items and the text queries split."""

    user_pairs: QuerySet
    query_pairs: QuerySet
    queries: pd.DataFrame  # query_id, text, kind, world_index, is_test (visual/content only)
    query_text: np.ndarray  # (n_queries, d_t) prepared MiniLM embeddings of ``queries.text``
    query_grades: np.ndarray  # (n_queries, n_items) world query relevance 0..3
    validation_rows: np.ndarray  # (n_val,) warm items held out of training
    validation_users: QuerySet  # profiles (training positives only) of users with a validation positive
    validation_labels: np.ndarray  # (n_val_users, n_val) bool: the user's observed positives

    @property
    def vectors(self) -> np.ndarray:
        """Query vectors of every training pair: user pairs, then text-query pairs."""
        return np.concatenate([self.user_pairs.vectors, self.query_pairs.vectors])

    @property
    def positive_rows(self) -> np.ndarray:
        """Positive item row of every training pair, in the order of :attr:`vectors`."""
        return np.concatenate([self.user_pairs.positive_rows, self.query_pairs.positive_rows])

    def summary(self) -> pd.DataFrame:
        """Pairs and distinct queries of each part of the training set, for display."""
        rows = {
            "user pairs (leave-one-out)": (len(self.user_pairs.keys), len(set(self.user_pairs.keys.tolist()))),
            "text-query pairs": (len(self.query_pairs.keys), len(set(self.query_pairs.keys.tolist()))),
            "validation (user, held-out item) positives": (
                int(self.validation_labels.sum()), len(self.validation_users.keys)
            ),
        }
        return pd.DataFrame(rows, index=["pairs", "distinct queries"]).T


def build_training_set(
    inputs: EncodeInputs,
    encoded: EncodedItems,
    params: EncodeParams,
    cache_dir: Path,
    text_encoder: Any | None = None,
) -> TrainingSet:
    """Leave-one-out user pairs on warm positives, plus training text queries (world only).

    A seeded share ``encode.split.validation_item_share`` of the clicked warm items is held out
    (:func:`~.splits.validation_items`): none of their positives is a training target or
    part of a training profile, so they stand in for cold items when each tower's epoch is
    chosen (on observed positives only, never on the world's truth).

    Text queries: kinds ``visual`` and ``content``, split by :func:`~.splits.split_queries`;
    a training query's positives are warm, non-validation items of query relevance
    ``>= encode.split.query_positive_grade`` (at most ``encode.split.max_positives_per_query``).
    """
    is_cold = inputs.items.is_cold
    split = params.split
    validation_rows = validation_items(inputs.positives, is_cold, split.validation_item_share, params.seed)
    held = np.isin(inputs.positives["item_row"].to_numpy(), validation_rows)
    train_positives, validation_positives = inputs.positives[~held], inputs.positives[held]
    user_pairs = leave_one_out_pairs(
        train_positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask
    )
    profiles = user_profiles(
        train_positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask, split.min_user_clicks
    )
    keep = np.isin(profiles.keys, validation_positives["user_id"].unique())
    validation_users = QuerySet(
        profiles.vectors[keep], profiles.keys[keep], profiles.positive_rows[keep], profiles.n_positives[keep]
    )
    validation_labels = positive_labels(validation_positives, validation_users.keys, validation_rows)
    validation = {"validation_rows": validation_rows, "validation_users": validation_users,
                  "validation_labels": validation_labels}
    empty = QuerySet(
        np.zeros((0, encoded.text_dim + encoded.image_dim), np.float32),
        np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64),
    )
    if inputs.world is None or inputs.queries.empty:
        return TrainingSet(user_pairs, empty, pd.DataFrame(), np.zeros((0, encoded.text_dim), np.float32),
                           np.zeros((0, len(inputs.items)), np.int8), **validation)
    world, item_index = inputs.world, inputs.world_item_index
    queries = inputs.queries[inputs.queries["kind"].isin(["visual", "content"])].reset_index(drop=True)
    queries = queries.assign(is_test=split_queries(queries["kind"].to_numpy(), split.query_test_share, params.seed))
    grades = np.stack([world.query_relevance(int(q))[item_index] for q in queries["world_index"]])
    query_text = embed_query_texts(queries["text"].tolist(), params, cache_dir, encoded, text_encoder)
    train = ~queries["is_test"].to_numpy()
    query_pairs = text_query_pairs(
        query_text[train], queries["query_id"].to_numpy(dtype=object)[train], grades[train],
        ~is_cold & ~np.isin(np.arange(len(is_cold)), validation_rows), encoded.image_dim,
        split.query_positive_grade, split.max_positives_per_query, params.seed,
    )
    return TrainingSet(user_pairs, query_pairs, queries, query_text, grades, **validation)


@dataclass
class TrainedTower:
    """One trained tower, kept at its epoch of best validation NDCG, with its training history."""

    kind: str
    model: FusionTower  # weights of ``best_epoch``
    history: list[dict[str, float]]  # per epoch: loss, alpha_vision, alpha_text, validation_ndcg
    seconds: float
    best_epoch: int

    @property
    def label(self) -> str:
        """The tower's name in tables and metrics (:data:`MODEL_LABELS`)."""
        return MODEL_LABELS[self.kind]


def trainable_kinds(encoded: EncodedItems, kinds: tuple[str, ...]) -> list[str]:
    """The towers of ``kinds`` whose modalities exist in the catalogue (text-only for MovieLens)."""
    has_images, has_text = bool(encoded.image_mask.any()), bool(encoded.text_mask.any())
    return [
        kind for kind in kinds
        if (has_images or kind not in NEEDS_IMAGES) and (has_text or kind not in NEEDS_TEXT)
    ]


def train_towers(training: TrainingSet, encoded: EncodedItems, params: EncodeParams) -> dict[str, TrainedTower]:
    """Train every comparable tower on the same pairs with the same seed and settings.

    After each epoch the validation users rank the validation items (full ranking, binary
    gains from their observed positives); with ``encode.fusion.early_stopping`` each tower keeps the
    weights of its best epoch by that NDCG@``encode.eval.ndcg_k`` (the earliest on ties).
    """
    device = resolve_device(params.device)
    rows = training.validation_rows
    towers: dict[str, TrainedTower] = {}
    for kind in trainable_kinds(encoded, params.fusion.compare):
        best: dict[str, Any] = {"ndcg": -np.inf, "epoch": 0, "state": None}

        def validate(epoch: int, model: FusionTower) -> dict[str, float]:
            scores = score_items(model, training.validation_users.vectors, encoded.image[rows],
                                 encoded.text[rows], encoded.masks[rows])
            ndcg = ndcg_at_k(scores, training.validation_labels.astype(np.int64), params.eval.ndcg_k).mean
            if ndcg > best["ndcg"]:
                best.update(ndcg=ndcg, epoch=epoch,
                            state={key: value.detach().clone() for key, value in model.state_dict().items()})
            return {"validation_ndcg": ndcg}

        start = time.perf_counter()
        model, history = train_fusion(
            training.vectors, encoded.image, encoded.text, encoded.masks, training.positive_rows,
            params.fusion, params.seed, device, kind=kind, on_epoch=validate,  # type: ignore[arg-type]
        )
        best_epoch = len(history)
        if params.fusion.early_stopping and best["state"] is not None:
            model.load_state_dict(best["state"])
            best_epoch = int(best["epoch"])
        towers[kind] = TrainedTower(kind, model.eval(), history, time.perf_counter() - start, best_epoch)
    return towers


def history_frame(towers: dict[str, TrainedTower]) -> pd.DataFrame:
    """One row per tower and epoch: loss, mean attention and validation NDCG, with the tower's label."""
    return pd.concat(
        [pd.DataFrame(t.history).assign(model=t.label) for t in towers.values()], ignore_index=True
    )


def score(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> np.ndarray:
    """Exact scores of ``queries`` against the items ``rows``: ``(n_queries, len(rows))``."""
    return score_items(tower.model, queries, encoded.image[rows], encoded.text[rows], encoded.masks[rows])


def training_table(towers: dict[str, TrainedTower]) -> pd.DataFrame:
    """Per tower: the kept epoch, its validation NDCG, the last epoch's loss, the training seconds
    and, for the fused tower (the only one whose attention is free), the mean ``alpha_vision`` of
    its training positives at the kept and at the last epoch (NaN for the other towers)."""
    rows = {}
    for t in towers.values():
        free = t.kind == "cross_attention"
        rows[t.label] = {
            "best epoch": t.best_epoch, "validation NDCG": t.history[t.best_epoch - 1]["validation_ndcg"],
            "final loss": t.history[-1]["loss"], "seconds": t.seconds,
            "alpha_vision (kept epoch)": t.history[t.best_epoch - 1]["alpha_vision"] if free else np.nan,
            "alpha_vision (last epoch)": t.history[-1]["alpha_vision"] if free else np.nan,
        }
    return pd.DataFrame(rows).T.astype({"best epoch": int})
