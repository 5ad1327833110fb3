"""The delayed_feedback block: defaults valid, bounds enforced, cross-field checks named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hermes_core.delayed_feedback.params import DelayedFeedbackParams


def test_defaults() -> None:
    params = DelayedFeedbackParams()
    assert params.seeds == (0, 1, 2) and params.device == "auto"
    assert params.protocol.n_windows is None and params.protocol.observation_cutoff_days == 0.0
    assert params.delay_comparison.distributions == ("exponential", "weibull", "lognormal")


@pytest.mark.parametrize("change, field", [
    ({"protocol": {"window_days": 0.0}}, "window_days"),
    ({"protocol": {"n_windows": 0}}, "n_windows"),
    ({"model": {"batch_size": 0}}, "batch_size"),
    ({"auxiliary": {"fsiw_max_weight": 0.5}}, "fsiw_max_weight"),
    ({"delay_comparison": {"distributions": ["gamma"]}}, "distributions"),
    ({"delay_comparison": {"distributions": ["weibull", "weibull"]}}, "distinct"),
    ({"problem": {"probabilities": [0.0]}}, "probabilities"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"seeds": [0], "delay_comparison": {"n_seeds": 2}}, "n_seeds"),
    ({"protocol": {"window": 1.0}}, "window"),
])
def test_bad_values_are_rejected(change: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        DelayedFeedbackParams.model_validate(change)
