"""Embedding cache: content keys, parquet parts, and encoding only what is missing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from hermes_core.encode.cache import EmbeddingCache, content_key, encode_with_cache, item_content


class CountingTextEncoder:
    """Deterministic fake encoder: a text's vector is derived from its sha256; counts calls."""

    modality = "text"
    dim = 4

    def __init__(self, model_id: str = "fake-text-v1") -> None:
        self.model_id = model_id
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(list(texts))  # type: ignore[arg-type]
        mask = np.array([bool(text and text.strip()) for text in texts])
        rows = [
            np.frombuffer(hashlib.sha256(text.encode()).digest()[:4], dtype=np.uint8) / 255.0
            if keep
            else np.zeros(4, np.float32)
            for text, keep in zip(texts, mask)
        ]
        return np.stack(rows).astype(np.float32), mask

    @property
    def n_encoded(self) -> int:
        return sum(len(call) for call in self.calls)


def test_key_is_sha256_of_model_modality_and_content() -> None:
    expected = hashlib.sha256(b"m1\0text\0hello").hexdigest()
    assert content_key("m1", "text", b"hello") == expected
    assert content_key("m2", "text", b"hello") != expected
    assert content_key("m1", "image", b"hello") != expected
    assert item_content("text", "hello") == b"hello"
    assert item_content("text", "  ") is None and item_content("text", None) is None
    assert item_content("image", "/no/such/file.jpg") is None


def test_second_run_encodes_only_new_items(tmp_path: Path) -> None:
    encoder = CountingTextEncoder()
    first_items = ["red dress", "blue jeans", "green hat"]
    first = encode_with_cache(encoder, first_items, tmp_path)
    assert encoder.n_encoded == 3 and first.n_encoded == 3 and first.n_cached == 0

    again = encode_with_cache(encoder, first_items, tmp_path)
    assert encoder.n_encoded == 3 and again.n_cached == 3
    np.testing.assert_array_equal(again.embeddings, first.embeddings)

    grown = first_items + ["yellow scarf", "black boots"]
    third = encode_with_cache(encoder, grown, tmp_path)
    assert encoder.calls[-1] == ["yellow scarf", "black boots"]
    assert encoder.n_encoded == 5 and third.n_encoded == 2 and third.n_cached == 3
    direct, _ = CountingTextEncoder().encode(grown)
    np.testing.assert_array_equal(third.embeddings, direct)


def test_cache_persists_across_instances_as_parquet(tmp_path: Path) -> None:
    encoder = CountingTextEncoder()
    encode_with_cache(encoder, ["a", "b"], tmp_path)
    parts = list(tmp_path.glob("*/part-*.parquet"))
    assert len(parts) == 1
    reopened = EmbeddingCache(tmp_path, encoder.model_id, "text", 4)
    assert len(reopened) == 2
    fresh_encoder = CountingTextEncoder()
    result = encode_with_cache(fresh_encoder, ["b", "a"], reopened)
    assert fresh_encoder.n_encoded == 0 and result.mask.all()


def test_duplicates_are_encoded_once_and_empty_items_never(tmp_path: Path) -> None:
    encoder = CountingTextEncoder()
    result = encode_with_cache(encoder, ["x", None, "x", "", "y", "x"], tmp_path)
    assert encoder.calls == [["x", "y"]]
    assert result.mask.tolist() == [True, False, True, False, True, True]
    # the repeats of "x" were not in the cache before the call, so nothing counts as cached
    assert result.n_without_content == 2 and result.n_encoded == 2 and result.n_cached == 0
    assert not result.embeddings[[1, 3]].any()
    np.testing.assert_array_equal(result.embeddings[0], result.embeddings[5])


def test_another_model_id_does_not_reuse_embeddings(tmp_path: Path) -> None:
    encode_with_cache(CountingTextEncoder("fake-text-v1"), ["a"], tmp_path)
    other = CountingTextEncoder("fake-text-v2")
    encode_with_cache(other, ["a"], tmp_path)
    assert other.n_encoded == 1
    assert len(list(tmp_path.iterdir())) == 2  # one folder a model


def test_a_folder_written_with_another_dimension_is_rejected(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, "fake-text-v1", "text", 4)
    with pytest.raises(ValueError, match="meta.json"):
        EmbeddingCache(tmp_path, "fake-text-v1", "text", 8)


def test_put_checks_shapes(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "m", "text", 4)
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        cache.put(["a", "b"], np.zeros((2, 3)), np.ones(2, bool))
    with pytest.raises(KeyError):
        cache.get(["never-stored"])
