"""Input validation of hermes_core.ope: every error names the array and the first bad row."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope import DirectMethod, DoublyRobust, InverseProbabilityWeighting, OPEInputError


def valid() -> dict[str, np.ndarray]:
    n, n_actions, len_list = 6, 3, 2
    return {
        "reward": np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0]),
        "action": np.array([0, 1, 2, 0, 1, 2]),
        "position": np.array([0, 1, 0, 1, 0, 1]),
        "pscore": np.full(n, 1 / 3),
        "action_dist": np.full((n, n_actions, len_list), 1 / 3),
        "estimated_rewards_by_reg_model": np.full((n, n_actions, len_list), 0.5),
    }


def assert_names(error: pytest.ExceptionInfo[OPEInputError], array: str, row: int | None) -> None:
    assert error.value.array == array
    assert error.value.row == row
    assert str(error.value).startswith(array if row is None else f"{array}, row {row}")


def test_valid_input_passes() -> None:
    assert DoublyRobust().estimate_policy_value(**valid()) == pytest.approx(0.5)


@pytest.mark.parametrize("bad_value", [0.0, -0.1, 1.5, np.nan])
def test_pscore_outside_unit_interval(bad_value: float) -> None:
    data = valid()
    data["pscore"][4] = bad_value
    with pytest.raises(OPEInputError) as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, "pscore", 4)


def test_pscore_of_exactly_one_is_allowed() -> None:
    data = valid()
    data["pscore"][0] = 1.0
    InverseProbabilityWeighting().estimate_policy_value(**data)


def test_action_dist_not_summing_to_one_names_row_and_slot() -> None:
    data = valid()
    data["action_dist"][3, 0, 1] += 0.01
    with pytest.raises(OPEInputError, match="position 1 sum to 1.01") as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, "action_dist", 3)


def test_action_dist_within_tolerance_passes_and_negative_fails() -> None:
    data = valid()
    data["action_dist"][2, 0, 0] += 1e-9
    InverseProbabilityWeighting().estimate_policy_value(**data)
    data = valid()
    data["action_dist"][5, :, 0] = [1.2, -0.2, 0.0]
    with pytest.raises(OPEInputError, match="negative") as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, "action_dist", 5)


@pytest.mark.parametrize(
    ("array", "row", "value"),
    [("action", 2, 3), ("action", 1, -1), ("action", 5, 1.5), ("position", 3, 2)],
)
def test_index_out_of_range_or_not_integral(array: str, row: int, value: float) -> None:
    data = valid()
    data[array] = data[array].astype(float)
    data[array][row] = value
    with pytest.raises(OPEInputError) as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, array, row)


@pytest.mark.parametrize("array", ["reward", "estimated_rewards_by_reg_model", "action_dist"])
def test_nan_names_array_and_row(array: str) -> None:
    data = valid()
    data[array][(4,) + (0,) * (data[array].ndim - 1)] = np.nan
    with pytest.raises(OPEInputError, match="NaN") as error:
        DoublyRobust().estimate_policy_value(**data)
    assert_names(error, array, 4)


def test_shape_mismatches() -> None:
    data = valid()
    data["pscore"] = data["pscore"][:5]
    with pytest.raises(OPEInputError, match="5 rounds but reward has 6") as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, "pscore", None)

    data = valid()
    data["estimated_rewards_by_reg_model"] = np.zeros((6, 4, 2))
    with pytest.raises(OPEInputError, match=r"shape \(6, 4, 2\)") as error:
        DoublyRobust().estimate_policy_value(**data)
    assert_names(error, "estimated_rewards_by_reg_model", None)

    data = valid()
    data["action_dist"] = data["action_dist"][:, :, 0]
    with pytest.raises(OPEInputError, match="3-dimensional") as error:
        InverseProbabilityWeighting().estimate_policy_value(**data)
    assert_names(error, "action_dist", None)


def test_missing_reward_model_is_named() -> None:
    data = valid()
    del data["estimated_rewards_by_reg_model"]
    with pytest.raises(OPEInputError, match="required by estimator 'dm'") as error:
        DirectMethod().estimate_policy_value(**data)
    assert_names(error, "estimated_rewards_by_reg_model", None)
