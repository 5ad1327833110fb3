"""The ``ope:`` block of ``params.yaml`` (``hermes_core.ope.params``): sub-blocks, one vocabulary, bounds."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from hermes_core.ope.params import OpeParams

ROOT = Path(__file__).resolve().parents[2]


def test_params_yaml_block_is_the_model_defaults() -> None:
    """``params.yaml``'s ``ope:`` block, read as YAML, validates to exactly the model's defaults."""
    block = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["ope"]
    assert set(block) == {"seed", "intervals", "estimators", "world", "slate", "gate", "obd"}
    assert OpeParams(**block) == OpeParams()


def test_tiny_profile_changes_only_counts() -> None:
    """The tiny overlay names keys of the sub-blocks (an old flat key would be rejected here)."""
    overlay = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text(encoding="utf-8"))["ope"]
    tiny = OpeParams(**overlay)
    assert (tiny.intervals.n_bootstrap, tiny.estimators.n_folds) == (200, 2)
    assert (tiny.world.n_log_resamples, tiny.world.n_requests, tiny.gate.shadow_batch_size) == (4, 1000, 250)
    assert tiny.obd.n_bootstrap == 3


def test_derived_values() -> None:
    """alpha = 1 - 0.95; no clipping is lambda = inf; DR-clip's and Switch-DR's defaults are 5 (below the Open Bandit weights' maximum); SLOPE's grid is
    built from the weights by default (no fixed grid) and a listed grid ends with inf (plain DR);
    the world's 8 targets are 3 fixed ones and one softmax per temperature; the gate's main
    challenger is softmax-true at its temperature, printed with :g."""
    params = OpeParams(gate={"challenger_temperature": 0.25})
    assert params.intervals.alpha == pytest.approx(0.05)
    assert params.estimators.clip_lambda == math.inf
    assert params.estimators.dr_clip == 5.0 and params.estimators.switch_tau == 5.0
    assert OpeParams(estimators={"dr_clip_lambda": None}).estimators.dr_clip == math.inf
    assert params.estimators.tuning_grid == "quantiles" and params.estimators.slope_grid is None
    assert params.estimators.tuning_quantiles == (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
    assert params.estimators.tuning_small_values == (1.0, 2.0, 5.0)
    listed = OpeParams(estimators={"tuning_grid": [10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0]})
    assert listed.estimators.slope_grid == (10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, math.inf)
    assert params.world.target_names == ("uniform", "logging", "greedy-true", "softmax-true@0.25",
                                         "softmax-true@0.5", "softmax-true@1", "softmax-true@2", "softmax-true@4")
    assert params.gate.main_challenger == "softmax-true@0.25"


def test_main_target_must_be_a_world_target() -> None:
    assert OpeParams(world={"main_target": "softmax-true@0.5"}).world.main_target == "softmax-true@0.5"
    with pytest.raises(ValidationError, match="softmax-true@3"):
        OpeParams(world={"main_target": "softmax-true@3"})


@pytest.mark.parametrize("bad", [
    {"estimators": {"n_folds": 1}}, {"intervals": {"ci_level": 1.0}}, {"intervals": {"n_bootstrap": 5}},
    {"estimators": {"reward_model": "forest"}}, {"estimators": {"switch_tau": 0.0}},
    {"estimators": {"tuning_grid": (10.0, 5.0)}}, {"world": {"target_temperatures": (0.0,)}},
    {"estimators": {"tuning_grid": "deciles"}}, {"estimators": {"tuning_quantiles": (0.9, 0.5)}},
    {"estimators": {"tuning_quantiles": (0.0, 0.5)}}, {"estimators": {"tuning_small_values": (0.0, 1.0)}},
    {"estimators": {"subgauss_lambda": 1.5}}, {"estimators": {"dr_clip_lambda": 0.0}},
    {"gate": {"method": "exact"}}, {"unknown_key": 1}, {"obd": {"campaign": "kids"}},
])  # fmt: skip
def test_out_of_range_values_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OpeParams(**bad)


@pytest.mark.parametrize("old", ["n_bootstrap", "ci_level", "interval_method", "gate_level", "gate_method",
                                 "n_world_log_resamples", "world_n_requests", "world_main_target"])  # fmt: skip
def test_the_old_flat_keys_are_rejected(old: str) -> None:
    """Renamed keys (``gate_level`` -> ``gate.ci_level`` ...) fail loudly instead of being ignored."""
    with pytest.raises(ValidationError, match=old):
        OpeParams(**{old: 1})


def test_old_obd_run_count_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="n_bootstrap_runs"):
        OpeParams(obd={"n_bootstrap_runs": 3})
