"""The training set and the towers trained on it on equal footing, over several seeds.

:func:`build_training_set`: leave-one-out user pairs on warm clicks, training text-query pairs
(world only), the pseudo-cold validation items (:func:`~.splits.validation_items`) and the
validation text queries (:func:`~.splits.validation_queries`) that choose each tower's epoch.
:func:`train_towers`: the gated, cross-attention, text-only, image-only and concat towers of
:mod:`.fusion`, trained on the same pairs with the same settings for each of
``encode.fusion.n_seeds`` seeds, each kept at its epoch of best validation score: the mean of the
validation users' NDCG (observed positives only, never the world's truth) and the validation
queries' NDCG (their query relevance, part of the training data's labels).
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
from hermes_core.encode.profiles import (
    QuerySet,
    leave_one_out_pairs,
    positive_labels,
    query_vectors,
    text_query_pairs,
    user_profiles,
)
from hermes_core.encode.splits import split_queries, validation_items, validation_queries
from hermes_core.evaluation.ranking import ndcg_at_k

MODEL_LABELS: dict[str, str] = {
    "text_only": "text",
    "image_only": "image",
    "concat": "concat",
    "gated": "fused",
    "cross_attention": "attention",
}
"""Name of each tower in the tables and in ``metrics/encode.json`` (``fused``: the query-gated tower)."""

FREE_WEIGHT_KINDS = ("gated", "cross_attention")
"""Towers whose modality weights depend on the query (the others' are fixed)."""

NEEDS_IMAGES = frozenset({"image_only", "concat", "cross_attention", "gated"})
NEEDS_TEXT = frozenset({"text_only", "concat", "cross_attention", "gated"})


@dataclass(frozen=True)
class TrainingSet:
    """Training pairs, the pseudo-cold validation items and the text queries split."""

    user_pairs: QuerySet
    query_pairs: QuerySet
    queries: pd.DataFrame  # query_id, text, kind, world_index, is_test, is_validation (visual/content only)
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
    def user_pair_mask(self) -> np.ndarray:
        """True for the user pairs of :attr:`vectors` (the gate penalty reads them only)."""
        return np.concatenate([np.ones(len(self.user_pairs.keys), bool), np.zeros(len(self.query_pairs.keys), bool)])

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
        if not self.queries.empty:
            held = self.queries["is_validation"].to_numpy()
            rows["validation text queries"] = (int(held.sum()), int(held.sum()))
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

    Text queries: kinds ``visual`` and ``content``, one per distinct text (the world's templates repeat
    texts, with the same relevance: a repeat on both sides of a split would leak), split by
    :func:`~.splits.split_queries` into
    test and training, and a share ``encode.split.query_validation_share`` of each kind's training
    queries held out for validation (:func:`~.splits.validation_queries`); a training query's
    positives are warm, non-validation items of query relevance ``>= encode.split.query_positive_grade``
    (at most ``encode.split.max_positives_per_query``).
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
    queries = inputs.queries[inputs.queries["kind"].isin(["visual", "content"])]
    # the world's templated queries repeat texts (with identical relevance): one query per distinct text, so
    # that no held-out text is also a training or validation text
    queries = queries.drop_duplicates(["kind", "text"]).reset_index(drop=True)
    kinds = queries["kind"].to_numpy()
    is_test = split_queries(kinds, split.query_test_share, params.seed)
    queries = queries.assign(is_test=is_test,
                             is_validation=validation_queries(kinds, is_test, split.query_validation_share, params.seed))
    grades = np.stack([world.query_relevance(int(q))[item_index] for q in queries["world_index"]])
    query_text = embed_query_texts(queries["text"].tolist(), params, cache_dir, encoded, text_encoder)
    train = ~queries["is_test"].to_numpy() & ~queries["is_validation"].to_numpy()
    query_pairs = text_query_pairs(
        query_text[train], queries["query_id"].to_numpy(dtype=object)[train], grades[train],
        ~is_cold & ~np.isin(np.arange(len(is_cold)), validation_rows), encoded.image_dim,
        split.query_positive_grade, split.max_positives_per_query, params.seed,
    )
    return TrainingSet(user_pairs, query_pairs, queries, query_text, grades, **validation)


@dataclass
class TrainedTower:
    """One tower trained once per seed, each replica kept at its epoch of best validation score.

    ``model``, ``history`` and ``best_epoch`` are the first seed's (``encode.seed``): the replica
    the index serves and the alpha analyses read; ``models`` holds every seed's, in seed order.
    """

    kind: str
    models: list[FusionTower]  # weights of each seed's best epoch
    histories: list[list[dict[str, float]]]  # per seed, per epoch: loss, alpha, validation NDCGs
    seconds: float  # all seeds
    best_epochs: list[int]
    seeds: list[int]

    @property
    def label(self) -> str:
        """The tower's name in tables and metrics (:data:`MODEL_LABELS`)."""
        return MODEL_LABELS[self.kind]

    @property
    def model(self) -> FusionTower:
        return self.models[0]

    @property
    def history(self) -> list[dict[str, float]]:
        return self.histories[0]

    @property
    def best_epoch(self) -> int:
        return self.best_epochs[0]

    def kept(self, key: str) -> list[float]:
        """``key`` of the history row of each seed's kept epoch."""
        return [history[epoch - 1][key] for history, epoch in zip(self.histories, self.best_epochs)]


def trainable_kinds(encoded: EncodedItems, kinds: tuple[str, ...]) -> list[str]:
    """The towers of ``kinds`` whose modalities exist in the catalogue (text-only for MovieLens)."""
    has_images, has_text = bool(encoded.image_mask.any()), bool(encoded.text_mask.any())
    return [
        kind for kind in kinds
        if (has_images or kind not in NEEDS_IMAGES) and (has_text or kind not in NEEDS_TEXT)
    ]


def tower_seeds(params: EncodeParams) -> list[int]:
    """``encode.seed, encode.seed + 1, ...``: one per ``encode.fusion.n_seeds``."""
    return [params.seed + offset for offset in range(params.fusion.n_seeds)]


def validation_query_set(training: TrainingSet, encoded: EncodedItems) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, grades)`` of the validation text queries (empty without them)."""
    if training.queries.empty:
        return np.zeros((0, encoded.text_dim + encoded.image_dim), np.float32), np.zeros((0, 0), np.int64)
    held = training.queries["is_validation"].to_numpy()
    return query_vectors(training.query_text[held], encoded.image_dim), training.query_grades[held].astype(np.int64)


def train_towers(training: TrainingSet, encoded: EncodedItems, params: EncodeParams) -> dict[str, TrainedTower]:
    r"""Train every comparable tower on the same pairs and settings, once per seed.

    After each epoch the validation users rank the validation items (full ranking, binary gains
    from their observed positives: ``validation_ndcg``) and the validation text queries rank the
    whole catalogue (gains from their query relevance: ``validation_query_ndcg``); the selection
    score is their mean, :math:`	frac12(\mathrm{NDCG}_{users} + \mathrm{NDCG}_{queries})`, or the
    users' NDCG alone without validation queries. With ``encode.fusion.early_stopping`` each
    replica keeps the weights of its best epoch by that score (the earliest on ties).
    """
    device = resolve_device(params.device)
    rows = training.validation_rows
    query_vecs, query_grades = validation_query_set(training, encoded)
    all_rows = np.arange(len(encoded.text_mask))
    k = params.eval.ndcg_k
    towers: dict[str, TrainedTower] = {}
    for kind in trainable_kinds(encoded, params.fusion.compare):
        models, histories, best_epochs = [], [], []
        start = time.perf_counter()
        for seed in tower_seeds(params):
            best: dict[str, Any] = {"score": -np.inf, "epoch": 0, "state": None}

            def validate(epoch: int, model: FusionTower) -> dict[str, float]:
                scores = score_items(model, training.validation_users.vectors, encoded.image[rows],
                                     encoded.text[rows], encoded.masks[rows])
                users = ndcg_at_k(scores, training.validation_labels.astype(np.int64), k).mean
                row = {"validation_ndcg": users}
                selection = users
                if len(query_vecs):
                    query_scores = score_items(model, query_vecs, encoded.image, encoded.text, encoded.masks)
                    queries = ndcg_at_k(query_scores, query_grades, k).mean
                    row["validation_query_ndcg"] = queries
                    selection = 0.5 * (users + queries)
                row["validation_score"] = selection
                if selection > best["score"]:
                    best.update(score=selection, epoch=epoch,
                                state={key: value.detach().clone() for key, value in model.state_dict().items()})
                return row

            model, history = train_fusion(
                training.vectors, encoded.image, encoded.text, encoded.masks, training.positive_rows,
                params.fusion, seed, device, kind=kind, on_epoch=validate,  # type: ignore[arg-type]
                penalised=training.user_pair_mask,
            )
            best_epoch = len(history)
            if params.fusion.early_stopping and best["state"] is not None:
                model.load_state_dict(best["state"])
                best_epoch = int(best["epoch"])
            models.append(model.eval())
            histories.append(history)
            best_epochs.append(best_epoch)
        towers[kind] = TrainedTower(kind, models, histories, time.perf_counter() - start, best_epochs,
                                    tower_seeds(params))
    return towers


def history_frame(towers: dict[str, TrainedTower]) -> pd.DataFrame:
    """One row per tower, seed and epoch: loss, mean weights and validation NDCGs, with the tower's label."""
    return pd.concat(
        [pd.DataFrame(history).assign(model=t.label, seed=seed)
         for t in towers.values() for seed, history in zip(t.seeds, t.histories)],
        ignore_index=True,
    )


def score(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> np.ndarray:
    """Exact scores of the first seed's replica, ``queries`` against the items ``rows``: ``(n_queries, len(rows))``."""
    return score_items(tower.model, queries, encoded.image[rows], encoded.text[rows], encoded.masks[rows])


def seed_scores(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> list[np.ndarray]:
    """:func:`score` of every seed's replica, in seed order."""
    return [score_items(model, queries, encoded.image[rows], encoded.text[rows], encoded.masks[rows])
            for model in tower.models]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else float("nan")


def training_table(towers: dict[str, TrainedTower]) -> pd.DataFrame:
    """Per tower, mean and standard deviation over seeds: the kept epoch, its validation score (and
    the users' and queries' NDCG behind it), the last epoch's loss; the training seconds of all seeds;
    for the towers with free weights (:data:`FREE_WEIGHT_KINDS`) the mean ``alpha_vision`` of the
    training positives at the kept and at the last epoch (NaN for the other towers)."""
    rows = {}
    for t in towers.values():
        free = t.kind in FREE_WEIGHT_KINDS
        row: dict[str, float] = {"seeds": len(t.seeds)}
        for name, key in (("kept epoch", None), ("validation score", "validation_score"),
                          ("validation NDCG (users)", "validation_ndcg"),
                          ("validation NDCG (queries)", "validation_query_ndcg")):
            if key is not None and key not in t.history[0]:
                continue
            values = [float(e) for e in t.best_epochs] if key is None else t.kept(key)
            row[name], row[f"{name} sd"] = _mean_sd(values)
        row["final loss"] = float(np.mean([history[-1]["loss"] for history in t.histories]))
        row["seconds (all seeds)"] = t.seconds
        row["alpha_vision (kept epoch)"] = float(np.mean(t.kept("alpha_vision"))) if free else np.nan
        row["alpha_vision (last epoch)"] = (float(np.mean([h[-1]["alpha_vision"] for h in t.histories]))
                                            if free else np.nan)
        rows[t.label] = row
    return pd.DataFrame(rows).T.astype({"seeds": int})
