"""Content-addressed embedding cache: encode an item once per model.

Key of an item::

    sha256( model_id ␀ modality ␀ content )

where ``content`` is the UTF-8 text for the text modality and the file's bytes for images
(so renaming a file keeps its key, editing it changes the key), and ``model_id`` names the
weights and every setting that changes the vectors (see the encoders' ``model_id``).

Layout: one folder per (model, modality), ``<cache_dir>/<sha256(model_id ␀ modality)[:16]>/``,
holding ``meta.json`` (model id, modality, dim) and append-only parquet parts
``part-<uuid>.parquet`` with columns ``key`` (string), ``mask`` (bool) and ``embedding``
(fixed-size list of float32). Each write goes to a temporary file that is renamed into place,
so a crash never leaves a half-written part and readers never see one.

Items with no content (``None`` text, blank text, missing image file) get no key: they are
never cached and never sent to the encoder; their row is zero and their mask False, which is
what every encoder returns for them. A corrupt image file does have bytes, so it is keyed and
cached with ``mask = False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class Encoder(Protocol):
    """Any text or image encoder of this package."""

    modality: str
    model_id: str
    dim: int

    def encode(self, items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]: ...


def item_content(modality: str, item: Any) -> bytes | None:
    """Bytes that identify ``item``'s content, or ``None`` when there is nothing to encode.

    ``text``: the UTF-8 string (``None``/blank → ``None``). ``image``: the file's bytes
    (``None``, empty path or missing file → ``None``). Other modalities: ``bytes`` as is,
    ``str`` as UTF-8.
    """
    if item is None:
        return None
    if modality == "text":
        if not isinstance(item, str):
            raise TypeError(f"text items must be str or None, got {type(item).__name__}")
        return item.encode("utf-8") if item.strip() else None
    if modality == "image":
        if isinstance(item, bytes):
            return item
        if str(item) == "":
            return None
        path = Path(item)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    raise TypeError(f"cannot key a {type(item).__name__} item of modality {modality!r}")


def content_key(model_id: str, modality: str, content: bytes) -> str:
    """``sha256(model_id ␀ modality ␀ content)`` as 64 hex digits."""
    digest = hashlib.sha256()
    digest.update(model_id.encode("utf-8"))
    digest.update(b"\0")
    digest.update(modality.encode("utf-8"))
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


class EmbeddingCache:
    """Parquet-backed store of ``key → (embedding, mask)`` for one model and modality.

    Parameters
    ----------
    directory:
        The cache root (``encode.cache.dir``); created if needed.
    model_id, modality, dim:
        Which encoder the embeddings come from; a folder written by another dimension
        raises ``ValueError``.
    """

    def __init__(self, directory: str | Path, model_id: str, modality: str, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be at least 1, got {dim}")
        self.model_id = model_id
        self.modality = modality
        self.dim = dim
        folder_hash = hashlib.sha256(f"{model_id}\0{modality}".encode()).hexdigest()[:16]
        self.folder = Path(directory) / folder_hash
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path = self.folder / "meta.json"
        meta = {"model_id": model_id, "modality": modality, "dim": dim}
        if meta_path.is_file():
            stored = json.loads(meta_path.read_text())
            if stored != meta:
                raise ValueError(f"{meta_path} describes {stored}, expected {meta}")
        else:
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        self._rows: dict[str, int] = {}
        self._embeddings = np.zeros((0, dim), dtype=np.float32)
        self._mask = np.zeros(0, dtype=bool)
        self._load()

    @classmethod
    def for_encoder(cls, directory: str | Path, encoder: Encoder) -> EmbeddingCache:
        """The cache folder of ``encoder`` under ``directory``."""
        return cls(directory, encoder.model_id, encoder.modality, encoder.dim)

    def _load(self) -> None:
        parts = sorted(self.folder.glob("part-*.parquet"))
        if not parts:
            return
        tables = [pq.read_table(part) for part in parts]
        keys: list[str] = []
        vectors: list[np.ndarray] = []
        masks: list[np.ndarray] = []
        for part, table in zip(parts, tables):
            embedding_type = table.schema.field("embedding").type
            if not pa.types.is_fixed_size_list(embedding_type) or embedding_type.list_size != self.dim:
                raise ValueError(f"{part}: embedding column is {embedding_type}, expected {self.dim} floats")
            keys.extend(table.column("key").to_pylist())
            flat = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            vectors.append(flat.astype(np.float32).reshape(-1, self.dim))
            masks.append(table.column("mask").to_numpy(zero_copy_only=False).astype(bool))
        self._embeddings = np.concatenate(vectors)
        self._mask = np.concatenate(masks)
        # a key written twice (two concurrent runs) keeps its last row; both rows are equal
        self._rows = {key: row for row, key in enumerate(keys)}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def get(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(len(keys), dim)`` and masks of cached ``keys`` (KeyError if one is absent)."""
        missing = [key for key in keys if key not in self._rows]
        if missing:
            raise KeyError(f"{len(missing)} keys not in {self.folder}, e.g. {missing[0]}")
        rows = np.fromiter((self._rows[key] for key in keys), dtype=np.int64, count=len(keys))
        return self._embeddings[rows], self._mask[rows]

    def put(self, keys: Sequence[str], embeddings: np.ndarray, mask: np.ndarray) -> None:
        """Append ``keys`` with their ``embeddings`` ``(n, dim)`` and ``mask`` ``(n,)`` as one part."""
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        flags = np.asarray(mask, dtype=bool)
        if vectors.shape != (len(keys), self.dim) or flags.shape != (len(keys),):
            raise ValueError(
                f"put expects ({len(keys)}, {self.dim}) embeddings and ({len(keys)},) mask, "
                f"got {vectors.shape} and {flags.shape}"
            )
        if not keys:
            return
        table = pa.table(
            {
                "key": pa.array(list(keys), type=pa.string()),
                "mask": pa.array(flags),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dim),
            }
        )
        name = f"part-{uuid.uuid4().hex}.parquet"
        temporary = self.folder / f".{name}.tmp"
        pq.write_table(table, temporary)
        os.replace(temporary, self.folder / name)
        start = len(self._embeddings)
        self._embeddings = np.concatenate([self._embeddings, vectors])
        self._mask = np.concatenate([self._mask, flags])
        for offset, key in enumerate(keys):
            self._rows[key] = start + offset


@dataclass(frozen=True)
class CachedEncoding:
    """Result of :func:`encode_with_cache`."""

    embeddings: np.ndarray  # (n_items, dim) float32
    mask: np.ndarray  # (n_items,) bool
    n_cached: int  # items whose key was in the cache before the call
    n_encoded: int  # distinct contents sent to the encoder
    n_without_content: int  # items with nothing to encode (zero row, mask False)


def encode_with_cache(encoder: Encoder, items: Sequence[Any], cache: EmbeddingCache | str | Path) -> CachedEncoding:
    """Embed ``items``, calling ``encoder.encode`` only on contents whose key is not cached.

    Duplicate contents within ``items`` are encoded once. New embeddings are appended to the
    cache before returning, so a second call with the same items encodes nothing and a call
    with added items encodes only those. ``cache`` may be a root folder, in which case the
    encoder's own sub-folder is used.
    """
    store = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache.for_encoder(cache, encoder)
    if (store.model_id, store.modality, store.dim) != (encoder.model_id, encoder.modality, encoder.dim):
        raise ValueError(
            f"cache {store.folder} holds {store.modality} embeddings of {store.model_id!r} "
            f"(dim {store.dim}), the encoder is {encoder.modality} {encoder.model_id!r} (dim {encoder.dim})"
        )
    items = list(items)
    keys: list[str | None] = []
    to_encode: dict[str, Any] = {}  # first item of each missing key, in order of appearance
    for item in items:
        content = item_content(encoder.modality, item)
        key = None if content is None else content_key(encoder.model_id, encoder.modality, content)
        keys.append(key)
        if key is not None and key not in store and key not in to_encode:
            to_encode[key] = item
    if to_encode:
        new_embeddings, new_mask = encoder.encode(list(to_encode.values()))
        store.put(list(to_encode), new_embeddings, new_mask)
    embeddings = np.zeros((len(items), encoder.dim), dtype=np.float32)
    mask = np.zeros(len(items), dtype=bool)
    keyed_rows = [row for row, key in enumerate(keys) if key is not None]
    if keyed_rows:
        cached_embeddings, cached_mask = store.get([keys[row] for row in keyed_rows])  # type: ignore[misc]
        embeddings[keyed_rows] = cached_embeddings
        mask[keyed_rows] = cached_mask
    return CachedEncoding(
        embeddings=embeddings,
        mask=mask,
        n_cached=len(keyed_rows) - sum(1 for key in keys if key in to_encode),
        n_encoded=len(to_encode),
        n_without_content=len(items) - len(keyed_rows),
    )
