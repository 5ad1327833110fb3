"""The ``rerank:`` block (``hermes_core.rerank.params``): bounds, sweeps and the cross-key checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hermes_core.params import deep_merge
from hermes_core.rerank.params import POLICIES, RerankParams


def build(changes: dict) -> RerankParams:
    return RerankParams.model_validate(deep_merge(RerankParams().model_dump(), changes))


def test_defaults_are_valid_and_each_operating_point_lies_inside_its_sweep() -> None:
    block = RerankParams()
    assert block.default_policy in POLICIES and block.default_policy_index == POLICIES.index(block.default_policy)
    assert min(block.mmr.lam_sweep) < block.mmr.lam < max(block.mmr.lam_sweep)
    assert min(block.parity.tolerance_sweep) < block.parity.tolerance < max(block.parity.tolerance_sweep)
    lp = block.singh_joachims
    assert min(lp.candidates_sweep) < lp.candidates < max(lp.candidates_sweep)
    assert min(block.fair.p_sweep) < block.fair.p < max(block.fair.p_sweep)


@pytest.mark.parametrize(("changes", "message"), [
    ({"mmr": {"lam": 1.5}}, "less than or equal to 1"),
    ({"mmr": {"lam_sweep": [0.5, 0.9]}}, "strictly decreasing"),
    ({"parity": {"tolerance_sweep": [0.1]}}, "2 to 32 values"),
    ({"fair": {"p_sweep": [0.3, 1.0]}}, "must lie in \\(0, 1\\)"),
    ({"singh_joachims": {"candidates_sweep": [30, 20]}}, "strictly increasing"),
    ({"slate_size": 20, "singh_joachims": {"candidates_sweep": [10, 30]}}, "smaller than rerank.slate_size"),
    ({"slate_size": 50, "max_candidates": 40}, "must not exceed rerank.max_candidates"),
    ({"default_policy": "greedy"}, "mmr"),
    ({"score_mapping": "softmax"}, "rank_percentile"),
    ({"cohorts": {"protected": "small"}}, "independent"),
])  # fmt: skip
def test_out_of_range_and_inconsistent_values_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build(changes)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        build({"mmr": {"lambda": 0.5}})
