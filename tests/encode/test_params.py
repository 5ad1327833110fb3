"""The encode block's parameter model: defaults valid, sub-blocks as params.yaml writes them, bounds enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from hermes_core.encode.params import EncodeParams

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"
SUB_BLOCKS = ("text", "image", "cache", "split", "eval", "fusion", "ann")


def test_defaults_are_valid_and_documented() -> None:
    params = EncodeParams()
    assert params.text.model == "bundled:all-MiniLM-L6-v2"
    assert params.fusion.compare == ("gated", "cross_attention", "text_only", "image_only", "concat")
    assert params.fusion.kind == "gated" and params.fusion.n_seeds == 3
    assert (params.eval.n_bootstrap, params.eval.ci_level) == (1000, 0.95)
    for model in (EncodeParams, *(type(getattr(params, block)) for block in SUB_BLOCKS)):
        undocumented = [name for name, field in model.model_fields.items()
                        if not field.description and name not in SUB_BLOCKS]
        assert undocumented == [], f"{model.__name__} keys without a description: {undocumented}"


def test_params_yaml_encode_block_has_the_models_keys_and_defaults() -> None:
    block = yaml.safe_load(PARAMS_YAML.read_text(encoding="utf-8"))["encode"]
    assert list(block) == ["seed", "device", *SUB_BLOCKS]
    defaults = EncodeParams().model_dump(mode="json")
    for name in SUB_BLOCKS:
        model = getattr(EncodeParams(), name)
        assert isinstance(model, BaseModel) and list(block[name]) == list(type(model).model_fields), name
    assert EncodeParams.model_validate(block).model_dump(mode="json") == defaults


@pytest.mark.parametrize(
    "overrides",
    [
        {"image": {"size": 16}},
        {"device": "tpu"},
        {"fusion": {"temperature": 0.0}},
        {"fusion": {"kind": "late_fusion"}},
        {"ann": {"nlist": 8, "nprobe": 16}},
        {"ann": {"sweep_ef_search": [0, 16]}},
        {"eval": {"ndcg_k": 0}},
        {"eval": {"ci_level": 1.0}},
        {"eval": {"n_bootstrap": 10}},
        {"text": {"batchsize": 64}},  # typo of batch_size
        {"bootstrap_resamples": 1000},  # the old flat name is gone
    ],
)
def test_out_of_range_or_unknown_keys_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EncodeParams(**overrides)  # type: ignore[arg-type]
