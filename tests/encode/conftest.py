"""Shared fixtures of the encode tests: stand-in encoders and one tiny run of the stage.

The stage runs once per test session of this package on the shared tiny world
(``tests/conftest.py``), with hash-based stand-in encoders so that no test loads MiniLM or
EfficientNet: :func:`world_stage` holds the inputs, the encoded catalogue and the training set,
:func:`world_run` adds the towers, the cold-start and text-query evaluations, the user attention
and the index. Tests read them and never change them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

STAND_IN_IMAGE_ENCODER = "test-mean-colour"


class HashTextEncoder:
    """Deterministic 16-d vectors from each text's SHA-256 (same text, same vector)."""

    modality = "text"
    model_id = "test:hash-text-16"
    dim = 16

    def encode(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        mask = np.array([isinstance(t, str) and bool(t.strip()) for t in texts])
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8) if m else np.zeros(16)
                for t, m in zip(texts, mask)]
        return np.asarray(rows, dtype=np.float32), mask


class MeanColourImageEncoder:
    """3-d mean RGB of each decodable image (a corrupt file gets mask False)."""

    modality = "image"
    model_id = "test:mean-colour"
    dim = 3

    def encode(self, paths: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        from hermes_core.encode.image import load_rgb_image

        images = [load_rgb_image(p) for p in paths]
        mask = np.array([image is not None for image in images])
        rows = [np.asarray(image, np.float32).mean(axis=(0, 1)) if image is not None else np.zeros(3)
                for image in images]
        return np.asarray(rows, dtype=np.float32), mask


def oracle_and_recovery(params: Any, inputs: Any, encoded: Any, towers: Any, evaluation: Any,
                        users_alpha: Any) -> tuple[Any, Any, Any, Any]:
    """The oracle table, the truth-chosen gates' correlation and the profile's predictability of the
    weight, as the notebook computes them."""
    from hermes_core.encode import stage as st

    table, best_alpha, shares = st.oracle_table(inputs, evaluation.users, evaluation.cold_rows, encoded, towers,
                                                evaluation.grades, params.encode.eval.ndcg_k, params.encode.seed)
    return (table, st.best_gate_recovery(users_alpha, best_alpha, params.encode),
            st.profile_reveals_weight(evaluation.users, users_alpha["true_visual_affinity"].to_numpy(),
                                      encoded.text_dim, params.encode.seed), shares)


@pytest.fixture(scope="package", autouse=True)
def single_torch_thread() -> Iterator[None]:
    """The towers here are tiny: one thread is faster than two and avoids stalls on shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@contextmanager
def stand_in_image_registry() -> Iterator[str]:
    """The stand-in image encoder registered while the block runs (the registry is global, and
    ``tests/encode/test_image.py`` checks what it holds)."""
    from hermes_core.encode import image as image_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(image_module, "_REGISTRY", dict(image_module._REGISTRY))
        image_module.register_image_encoder(STAND_IN_IMAGE_ENCODER, lambda **_: MeanColourImageEncoder())
        yield STAND_IN_IMAGE_ENCODER


@pytest.fixture
def stand_in_image_encoder() -> Iterator[str]:
    """The stand-in image encoder registered for one test."""
    with stand_in_image_registry() as name:
        yield name


def stage_params(world: Any = None, **encode_overrides: Any) -> Any:
    """The tiny profile with the stand-in image encoder and two short epochs of small towers."""
    from hermes_core.params import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml", profile="tiny")
    encode = params.encode.model_dump()
    encode["image"].update(encoder=STAND_IN_IMAGE_ENCODER)
    encode.update(encode_overrides)
    encode["fusion"].update(epochs=2, output_dim=8, d_k=4, show_progress=False)
    update: dict[str, Any] = {"encode": type(params.encode).model_validate(encode)}
    if world is not None:
        update["world"] = world
    return params.model_copy(update=update)


@pytest.fixture(scope="package")
def world_stage(tiny_world_params: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny world ingested, its catalogue encoded and its training set built."""
    from hermes_core.encode import stage as st
    from hermes_core.ingest.stage import run_ingest_stage
    from hermes_core.workspace import Workspace

    workspace = Workspace(tmp_path_factory.mktemp("encode_world"))
    params = stage_params(tiny_world_params)
    run_ingest_stage(params, workspace)
    inputs = st.load_inputs(params, workspace)
    encoder = HashTextEncoder()
    cache = st.cache_folder(params, workspace)
    with stand_in_image_registry():
        encoded = st.encode_catalogue(inputs.items, params.encode, cache, encoder)
    training = st.build_training_set(inputs, encoded, params.encode, cache, encoder)
    return {"params": params, "workspace": workspace, "inputs": inputs, "encoded": encoded,
            "training": training, "encoder": encoder}


@pytest.fixture(scope="package")
def world_run(world_stage: dict[str, Any]) -> dict[str, Any]:
    """The towers trained, the cold start and text queries evaluated and the index built, once."""
    from hermes_core.encode import stage as st

    params, inputs, encoded, training = (world_stage[k] for k in ("params", "inputs", "encoded", "training"))
    towers = st.train_towers(training, encoded, params.encode)
    evaluation = st.evaluate_cold_start(inputs, encoded, towers, params.encode)
    queries = st.evaluate_text_queries(training, encoded, towers, params.encode)
    users_alpha = st.user_alpha(inputs, evaluation, encoded, towers)
    report = st.build_item_index(towers, encoded, evaluation, params.encode)
    run = st.EncodeRun(params, inputs, encoded, training, towers, evaluation, queries, users_alpha, report,
                       st.model_differences(evaluation, params.encode),
                       st.purity_table(inputs.items, encoded, st.purity_label(inputs.items)),
                       st.query_differences(queries, params.encode), st.alpha_by_query_kind(queries, params.encode),
                       st.user_alpha_summary(users_alpha, params.encode),
                       st.weight_diagnostics(queries, towers, training, encoded),
                       *oracle_and_recovery(params, inputs, encoded, towers, evaluation, users_alpha))
    return {**world_stage, "towers": towers, "evaluation": evaluation, "queries": queries,
            "users_alpha": users_alpha, "report": report, "run": run}


def movielens_folder() -> Path | None:
    """``../shared/data/ml-100k`` when MovieLens 100K is there, else ``None``."""
    from hermes_core.workspace import shared_data_dir

    folder = shared_data_dir() / "ml-100k"
    return folder if (folder / "u.data").is_file() else None


@pytest.fixture(scope="package")
def movielens_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """MovieLens 100K ingested and run through the stage (text only, no queries), once; with no
    image at all, no image encoder is made."""
    folder = movielens_folder()
    if folder is None:
        pytest.skip("MovieLens 100K not in ../shared/data/ml-100k")
    from hermes_core.encode import stage as st
    from hermes_core.ingest.stage import run_ingest_stage
    from hermes_core.workspace import Workspace

    workspace = Workspace(tmp_path_factory.mktemp("encode_movielens"))
    params = stage_params()
    params = params.model_copy(update={"data": params.data.model_copy(
        update={"source": "movielens-100k", "movielens_path": str(folder)})})
    run_ingest_stage(params, workspace)
    inputs = st.load_inputs(params, workspace)
    encoder = HashTextEncoder()
    cache = st.cache_folder(params, workspace)
    encoded = st.encode_catalogue(inputs.items, params.encode, cache, encoder)
    training = st.build_training_set(inputs, encoded, params.encode, cache, encoder)
    towers = st.train_towers(training, encoded, params.encode)
    evaluation = st.evaluate_cold_start(inputs, encoded, towers, params.encode)
    report = st.build_item_index(towers, encoded, evaluation, params.encode)
    run = st.EncodeRun(params, inputs, encoded, training, towers, evaluation, None, None, report,
                       st.model_differences(evaluation, params.encode),
                       st.purity_table(inputs.items, encoded, st.purity_label(inputs.items)), None, None, None)
    return {"params": params, "workspace": workspace, "inputs": inputs, "encoded": encoded, "training": training,
            "towers": towers, "evaluation": evaluation, "report": report, "run": run}
