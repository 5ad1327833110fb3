"""The encode block's parameter model: defaults valid, bounds and unknown keys rejected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hermes_core.encode.params import EncodeParams


def test_defaults_are_valid_and_documented() -> None:
    params = EncodeParams()
    assert params.text_model == "bundled:all-MiniLM-L6-v2"
    assert params.fusion.compare == ("cross_attention", "text_only", "image_only", "concat")
    for model in (EncodeParams, type(params.fusion), type(params.ann)):
        undocumented = [name for name, field in model.model_fields.items()
                        if not field.description and name not in ("fusion", "ann")]
        assert undocumented == [], f"{model.__name__} keys without a description: {undocumented}"


@pytest.mark.parametrize(
    "overrides",
    [
        {"image_size": 16},
        {"device": "tpu"},
        {"fusion": {"temperature": 0.0}},
        {"fusion": {"kind": "late_fusion"}},
        {"ann": {"nlist": 8, "nprobe": 16}},
        {"ann": {"sweep_ef_search": [0, 16]}},
        {"cold_start_ndcg_k": 0},
        {"text_batchsize": 64},  # typo of text_batch_size
    ],
)
def test_out_of_range_or_unknown_keys_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EncodeParams(**overrides)  # type: ignore[arg-type]
