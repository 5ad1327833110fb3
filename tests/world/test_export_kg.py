"""The knowledge graph's weighted triples and the items' tags (``hermes_core.world.export_kg``).

The tiny world's triples are checked against its latents (each tail is one of the item's two
largest loadings, each weight that loading rounded), against the schema, and in the raw file
that ``write_raw`` writes (appended after the corruption, so the injected lines stay where they were).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.schema import KnowledgeTriple, UniversalAsset
from hermes_core.world import World, index_of
from hermes_core.world.export import InjectedRecord
from hermes_core.world.export_kg import (
    TOP_STYLES,
    TOP_THEMES,
    item_tags,
    kg_loading_records,
    kg_records,
    top_loadings,
)
from hermes_core.world.vocabulary import THEME_NAMES, VISUAL_STYLE_NAMES


def test_top_loadings_by_hand() -> None:
    latent = np.array([[0.1, 0.6, 0.3], [0.4, 0.2, 0.4]])
    indices, loadings = top_loadings(latent, 2)
    # row 2 ties at 0.4: the stable sort keeps the lower coordinate first
    np.testing.assert_array_equal(indices, [[1, 2], [0, 2]])
    np.testing.assert_array_equal(loadings, [[0.6, 0.3], [0.4, 0.4]])
    with pytest.raises(ValueError, match="k must lie in 1..3"):
        top_loadings(latent, 4)


def test_each_item_has_its_strongest_themes_and_styles_weighted_by_their_loadings(tiny_world: World) -> None:
    records = kg_loading_records(tiny_world)
    assert len(records) == tiny_world.n_items * (TOP_THEMES + TOP_STYLES)
    cat = tiny_world.catalogue
    for record in records:
        KnowledgeTriple.model_validate(record)
        item = index_of(record["head"])
        kind, name = record["tail"].split(":")
        latent, names = (cat.text_latent, THEME_NAMES) if kind == "theme" else (cat.visual_latent, VISUAL_STYLE_NAMES)
        assert record["relation"] == f"has_{kind}"
        loading = latent[item, names.index(name)]
        assert record["weight"] == round(float(loading), 6)
        # a top-2 loading: at most one coordinate of the item is larger
        assert np.sum(latent[item] > loading) <= 1


def test_tags_name_the_same_themes_and_styles_strongest_first(tiny_world: World) -> None:
    tags = item_tags(tiny_world)
    by_item: dict[str, list[str]] = {}
    for record in kg_loading_records(tiny_world):
        by_item.setdefault(record["head"], []).append(record["tail"].split(":")[1])
    for i in (0, 17, tiny_world.n_items - 1):
        assert tags[i] == by_item[f"w:item:{i:06d}"]
        assert tags[i][0] == THEME_NAMES[int(np.argmax(tiny_world.catalogue.text_latent[i]))]
        assert tags[i][TOP_THEMES] == VISUAL_STYLE_NAMES[int(np.argmax(tiny_world.catalogue.visual_latent[i]))]


def test_the_raw_files_carry_the_tags_and_end_with_the_weighted_triples(
        tiny_world: World, tiny_raw_folder: tuple[Path, list[InjectedRecord]]) -> None:
    folder, injected = tiny_raw_folder
    lines = (folder / "kg_triples.jsonl").read_text(encoding="utf-8").splitlines()
    weighted = kg_loading_records(tiny_world)
    assert [json.loads(line) for line in lines[-len(weighted):]] == weighted
    bad = {i.line for i in injected if i.table == "kg_triples"}
    assert bad and max(bad) <= len(lines) - len(weighted)  # the corruption touched only the older triples
    assert len(lines) == len(kg_records(tiny_world)) + len(bad) + len(weighted)
    tags = item_tags(tiny_world)
    bad_assets = {i.line for i in injected if i.table == "assets"}
    assets = [json.loads(line) for n, line in enumerate((folder / "assets.jsonl").read_text(encoding="utf-8")
                                                        .splitlines(), start=1) if n not in bad_assets]
    assert [a["tags"] for a in assets] == tags
    assert UniversalAsset.model_validate(assets[0]).tags == tuple(tags[0])
