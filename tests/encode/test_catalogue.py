"""Encoding the catalogue: the cache makes a rerun encode nothing, modality counts add up, queries share the centre."""

from __future__ import annotations

from typing import Any

import numpy as np

from hermes_core.encode import catalogue
from hermes_core.index.query_side import prepare_features


def test_cache_makes_a_rerun_encode_nothing(world_stage: dict[str, Any], stand_in_image_encoder: str) -> None:
    inputs, params, workspace = world_stage["inputs"], world_stage["params"], world_stage["workspace"]
    again = catalogue.encode_catalogue(inputs.items, params.encode, catalogue.cache_folder(params, workspace),
                                       world_stage["encoder"])
    assert again.cache["text"]["n_encoded"] == 0 and again.cache["image"]["n_encoded"] == 0
    assert again.cache["text"]["n_cached"] == int(again.text_mask.sum())
    np.testing.assert_array_equal(again.text_raw, world_stage["encoded"].text_raw)
    assert list(catalogue.cache_table(again).index) == ["text", "image"]


def test_modality_counts_split_every_item_once(world_stage: dict[str, Any]) -> None:
    inputs, encoded = world_stage["inputs"], world_stage["encoded"]
    counts = catalogue.modality_counts(inputs.items, encoded)
    n = len(inputs.items)
    assert counts["items"] == n
    assert counts["text_present"] + counts["text_missing"] == n
    assert counts["image_present"] + counts["image_missing"] + counts["image_corrupt"] == n
    assert counts["both"] == int((encoded.text_mask & encoded.image_mask).sum())
    table = catalogue.modality_table(inputs.items, encoded)
    assert (table["warm"] + table["cold"] == table["all"]).all()


def test_prepared_features_are_the_centred_unit_rows(world_stage: dict[str, Any]) -> None:
    encoded = world_stage["encoded"]
    np.testing.assert_array_equal(encoded.text, prepare_features(encoded.text_raw, encoded.text_mask, True))
    norms = np.linalg.norm(encoded.image[encoded.image_mask], axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    assert not encoded.image[~encoded.image_mask].any()
    assert encoded.masks.shape == (len(encoded.text_mask), 2)


def test_query_texts_are_prepared_with_the_items_centre(world_stage: dict[str, Any]) -> None:
    params, workspace, encoded = world_stage["params"], world_stage["workspace"], world_stage["encoded"]
    text = world_stage["inputs"].items.texts[0]
    assert text is not None and encoded.text_mask[0]
    # the first item's own text, embedded as a query, lands exactly on the item's prepared vector
    query = catalogue.embed_query_texts([text], params.encode, catalogue.cache_folder(params, workspace), encoded,
                                        world_stage["encoder"])
    np.testing.assert_allclose(query[0], encoded.text[0], atol=1e-6)


def test_cache_folder_is_relative_to_the_workspace_unless_absolute(world_stage: dict[str, Any]) -> None:
    params, workspace = world_stage["params"], world_stage["workspace"]
    assert catalogue.cache_folder(params, workspace) == workspace.root / "data" / "encode" / "cache"
    absolute = params.model_copy(update={"encode": params.encode.model_copy(
        update={"cache": params.encode.cache.model_copy(update={"dir": "/elsewhere/cache"})})})
    assert str(catalogue.cache_folder(absolute, workspace)) == "/elsewhere/cache"
