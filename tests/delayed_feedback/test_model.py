"""The conversion model: seeded initialisation, the starting bias, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hermes_core.delayed_feedback.features import click_features
from hermes_core.delayed_feedback.model import ConversionModel, ModelShape, model_shape, predict_outputs, predict_probability
from tests.delayed_feedback.synthetic import synthetic_stream

FEATURES = click_features(synthetic_stream(n=50))


def test_a_wide_model_starts_at_its_bias() -> None:
    # wide weights and numeric weights start at 0, so every click's outputs are the biases
    model = ConversionModel(model_shape(FEATURES, 4, 0, n_outputs=2), seed=1, initial_bias=(-1.5, 0.25))
    outputs = predict_outputs(model, FEATURES)
    assert outputs.shape == (50, 2)
    assert np.all(outputs[:, 0] == -1.5) and np.all(outputs[:, 1] == 0.25)
    assert predict_probability(model, FEATURES) == pytest.approx(np.full(50, 1 / (1 + np.exp(1.5))))


def test_the_seed_fixes_the_initialisation() -> None:
    shape = model_shape(FEATURES, 4, 8)
    first, again, other = (ConversionModel(shape, s, (-1.0,)).state_dict() for s in (3, 3, 4))
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["embedding.weight"], other["embedding.weight"])


def test_shape_checks() -> None:
    with pytest.raises(ValueError, match="n_outputs"):
        ModelShape(10, 2, 1, 4, 8, n_outputs=0)
    with pytest.raises(ValueError, match="embedding_dim"):
        ModelShape(10, 2, 1, 0, 8)
    with pytest.raises(ValueError, match="initial_bias"):
        ConversionModel(model_shape(FEATURES, 4, 0), 0, (0.0, 1.0))
    empty = predict_outputs(ConversionModel(model_shape(FEATURES, 4, 8), 0), FEATURES.take(np.array([], dtype=np.int64)))
    assert empty.shape == (0, 1)
