"""The model's inputs: one shared table with a range per field, hashing, standardisation, elapsed columns."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.features import HASH_MULTIPLIER, PRODUCT, click_features, hashed
from tests.delayed_feedback.synthetic import synthetic_stream


def test_each_field_has_its_own_range_of_the_table() -> None:
    stream = synthetic_stream(n=300)
    features = click_features(stream)
    sizes = features.vocabulary_sizes
    assert sizes[:2] == (int(stream.user.max()) + 1, int(stream.item.max()) + 1)
    assert sizes[2:5] == (4, 3, 24)  # domains, devices, hours
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for f, (offset, size) in enumerate(zip(offsets, sizes)):
        column = features.categorical[:, f]
        assert column.min() >= offset and column.max() < offset + size
    np.testing.assert_array_equal(features.categorical[:, 0], stream.user)  # the first field starts at row 0
    np.testing.assert_array_equal(features.categorical[:, 2] - offsets[2], stream.domain)
    assert features.n_categories == sum(sizes)


def test_numeric_columns_are_standardised_on_the_reference_clicks() -> None:
    stream = synthetic_stream(n=400)
    reference = np.arange(200)
    numeric = click_features(stream, reference).numeric
    assert numeric[reference, 0].mean() == pytest.approx(0.0, abs=1e-6)
    assert numeric[reference, 0].std() == pytest.approx(1.0, abs=1e-5)
    assert numeric[200:, 0].mean() != pytest.approx(0.0, abs=1e-6)  # other clicks use the reference's scale
    off_product = stream.domain != PRODUCT
    assert np.all(numeric[off_product, 2] == 0.0)  # the product-only price column


def test_hashing_only_beyond_the_cap() -> None:
    ids = np.array([0, 3, 5, 9, 1_000_000_007])
    same, size = hashed(ids, 10, 10)
    assert size == 10 and same.tolist() == ids.tolist()
    buckets, size = hashed(ids, 1_000_000_008, 7)
    assert size == 7
    # exact integer arithmetic (no uint64 overflow for these ids)
    assert buckets.tolist() == [(int(i) * HASH_MULTIPLIER) % 7 for i in ids]


def test_elapsed_columns() -> None:
    features = click_features(synthetic_stream(n=5))
    extended = features.with_elapsed(np.array([0.0, 1.0, 2.0, 5.0, 10.0]), 5.0)
    assert extended.n_numeric == features.n_numeric + 2
    assert extended.numeric[:, -2] == pytest.approx([0.0, 0.2, 0.4, 1.0, 2.0])
    assert extended.numeric[0, -1] == pytest.approx(np.log(0.01))  # finite at E = 0
    assert extended.numeric[3, -1] == pytest.approx(np.log(1.01))
    with pytest.raises(ValueError, match="elapsed_days"):
        features.with_elapsed(np.array([0.0, -1.0, 0.0, 0.0, 0.0]), 5.0)
    taken = features.take(np.array([4, 4, 0]))
    assert taken.n_rows == 3 and np.array_equal(taken.categorical[0], taken.categorical[1])
