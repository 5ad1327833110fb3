"""The training set (leave-one-out, validation items held out) and the towers trained on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hermes_core.encode import training as tr
from hermes_core.encode.profiles import unique_positives


def test_training_pairs_are_leave_one_out_and_exclude_validation_and_cold_items(world_stage: dict[str, Any]) -> None:
    training, inputs, encoded = world_stage["training"], world_stage["inputs"], world_stage["encoded"]
    rows = training.positive_rows
    assert not np.isin(rows, training.validation_rows).any()
    assert not inputs.items.is_cold[rows].any()
    assert not inputs.items.is_cold[training.validation_rows].any()
    # each user pair's query equals the profile of the user's other (non-validation) clicks
    train_clicks = unique_positives(inputs.positives)
    train_clicks = train_clicks[~train_clicks["item_row"].isin(training.validation_rows)]
    d_t = encoded.text_dim
    for position in (0, len(training.user_pairs.keys) // 2, len(training.user_pairs.keys) - 1):
        user, item = training.user_pairs.keys[position], training.user_pairs.positive_rows[position]
        others = train_clicks.loc[(train_clicks["user_id"] == user) & (train_clicks["item_row"] != item), "item_row"]
        others = others[encoded.text_mask[others.to_numpy()]].to_numpy()
        np.testing.assert_allclose(training.user_pairs.vectors[position, :d_t], encoded.text[others].mean(axis=0),
                                   atol=1e-6)
    # every validation user has at least one observed positive among the validation items
    assert training.validation_labels.any(axis=1).all()
    summary = training.summary()
    assert summary.loc["user pairs (leave-one-out)", "pairs"] == len(training.user_pairs.keys)


def test_text_query_pairs_come_from_training_queries_only(world_stage: dict[str, Any]) -> None:
    training = world_stage["training"]
    train_ids = set(training.queries.loc[~training.queries["is_test"], "query_id"])
    assert set(training.query_pairs.keys.tolist()) <= train_ids
    assert set(training.queries["kind"]) == {"visual", "content"}
    assert len(training.vectors) == len(training.positive_rows) == (
        len(training.user_pairs.keys) + len(training.query_pairs.keys))


def test_world_towers_keep_their_best_validation_epoch(world_run: dict[str, Any]) -> None:
    towers, params = world_run["towers"], world_run["params"]
    assert list(towers) == list(params.encode.fusion.compare)
    n_seeds = params.encode.fusion.n_seeds
    for tower in towers.values():
        assert tower.seeds == [params.encode.seed + s for s in range(n_seeds)] and len(tower.models) == n_seeds
        for history, best in zip(tower.histories, tower.best_epochs):
            assert len(history) == params.encode.fusion.epochs
            # the selection score is the mean of the users' and the validation queries' NDCG
            for row in history:
                assert row["validation_score"] == pytest.approx(
                    0.5 * (row["validation_ndcg"] + row["validation_query_ndcg"]), abs=1e-12)
            # early stopping keeps the first epoch of highest validation score
            assert best == int(np.argmax([row["validation_score"] for row in history])) + 1, tower.kind
    table = tr.training_table(towers)
    kept = towers["gated"].best_epochs
    assert table.loc["fused", "kept epoch"] == pytest.approx(np.mean(kept))
    assert table.loc["fused", "kept epoch sd"] == pytest.approx(np.std(kept, ddof=1))
    assert np.isnan(table.loc["text", "alpha_vision (kept epoch)"])
    history = tr.history_frame(towers)
    assert len(history) == len(towers) * n_seeds * params.encode.fusion.epochs
    assert set(history["model"]) == set(table.index)


def test_trainable_kinds_drop_towers_whose_modality_is_absent(world_stage: dict[str, Any]) -> None:
    encoded = world_stage["encoded"]
    kinds = ("gated", "cross_attention", "text_only", "image_only", "concat")
    assert tr.trainable_kinds(encoded, kinds) == list(kinds)
    no_images = type(encoded)(encoded.text_raw, encoded.image_raw[:, :0], encoded.text_mask,
                              np.zeros_like(encoded.image_mask), encoded.text, encoded.image[:, :0],
                              encoded.text_model_id, None, {}, {})
    # MovieLens: no image at all leaves the text tower only
    assert tr.trainable_kinds(no_images, kinds) == ["text_only"]
