"""The embedding space: neighbour purity by hand, its chance level, the PCA projection."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hermes_core.encode import embedding_space as es


def test_neighbour_purity_by_hand() -> None:
    # two tight clusters on the axes, labelled a and b; item 4 (label b) sits in cluster a
    features = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.95, 0.05]])
    labels = np.array(["a", "a", "b", "b", "b"], dtype=object)
    mask = np.ones(5, bool)
    # nearest neighbour by inner product: 0 -> 4 (0.95 > 0.9, label b: miss), 1 -> 0 (0.9 > 0.86: hit),
    # 2 -> 3 (0.9: hit), 3 -> 2 (0.9: hit), 4 -> 0 (0.95, label a: miss): purity 3/5
    assert es.neighbour_purity(features, mask, labels, k=1) == pytest.approx(0.6)
    # k = 2: 0 -> {4, 1}: 1 of 2; 1 -> {0, 4}: 1; 2 -> {3, 1}: 1; 3 -> {2, 1}: 1; 4 -> {0, 1}: 0 -> 4/10
    assert es.neighbour_purity(features, mask, labels, k=2) == pytest.approx(0.4)
    # too few items with the modality for k neighbours: undefined
    assert np.isnan(es.neighbour_purity(features, np.array([True, True, False, False, False]), labels, k=2))


def test_purity_table_chance_is_the_sum_of_squared_shares(world_stage: dict[str, Any]) -> None:
    inputs, encoded = world_stage["inputs"], world_stage["encoded"]
    label = es.purity_label(inputs.items)
    assert label == "domain"  # the world has four domains
    table = es.purity_table(inputs.items, encoded, label)
    shares = np.unique(inputs.items.domain, return_counts=True)[1] / len(inputs.items)
    assert table["chance"].tolist() == pytest.approx([float((shares ** 2).sum())] * 2)
    assert list(table.index) == ["text", "image"]


def test_projection_frame_has_two_coordinates_per_present_item(world_stage: dict[str, Any]) -> None:
    inputs, encoded = world_stage["inputs"], world_stage["encoded"]
    frame = es.projection_frame(inputs.items, encoded, seed=0)
    counts = frame["modality"].value_counts()
    assert counts["text"] == encoded.text_mask.sum() and counts["image"] == encoded.image_mask.sum()
    # the explained share is that of the covariance's two largest eigenvalues, computed independently
    image = frame[frame["modality"] == "image"]
    eigenvalues = np.linalg.eigvalsh(np.cov(encoded.image[encoded.image_mask], rowvar=False))[::-1]
    assert image["explained"].iloc[0] == pytest.approx(eigenvalues[:2].sum() / eigenvalues.sum(), rel=1e-6)
    # the projected points are centred (PCA subtracts the mean)
    assert image[["x", "y"]].mean().abs().max() < 1e-6
