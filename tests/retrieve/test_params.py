"""The ``retrieve:`` block of ``params.yaml`` (``hermes_core.retrieve.params``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from hermes_core.retrieve.params import RetrieveParams

ROOT = Path(__file__).resolve().parents[2]


def test_params_yaml_block_is_the_model_defaults() -> None:
    block = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["retrieve"]
    assert RetrieveParams(**block) == RetrieveParams()


def test_sasrec_config_carries_the_block_and_the_overrides() -> None:
    params = RetrieveParams()
    config = params.sasrec.config(seed=3, device="cpu", epochs=7)
    assert (config.max_len, config.hidden_size, config.dropout, config.epochs, config.seed) == (50, 50, 0.5, 7, 3)
    assert params.sasrec.config(seed=3, device="cpu").epochs == params.sasrec.epochs


def test_bad_values_name_the_key() -> None:
    with pytest.raises(ValidationError, match="recall_ks"):
        RetrieveParams(candidates={"recall_ks": [100, 50]})
    with pytest.raises(ValidationError, match="typo"):
        RetrieveParams(split={"typo": 1})
