"""SlateInputs validation: every error names the array and the first offending request."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope.inputs import OPEInputError
from hermes_core.ope.slate import SlateInputs
from tests.ope.slate.hand_dataset import (
    LOGGING_MARGINAL,
    LOGGING_PREFIX,
    MODEL,
    REWARD,
    SLATE,
    TARGET_CONDITIONAL,
    TARGET_MARGINAL,
    TARGET_PREFIX,
)


def arrays(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        reward=REWARD, slate=SLATE, logging_marginal=LOGGING_MARGINAL, logging_prefix=LOGGING_PREFIX,
        target_marginal=TARGET_MARGINAL, target_prefix=TARGET_PREFIX, target_conditional=TARGET_CONDITIONAL,
        estimated_rewards=MODEL,
    )  # fmt: skip
    base.update(overrides)
    return base


def with_row(name: str, row: int, value: object) -> dict[str, object]:
    """The valid arrays with row ``row`` of ``name`` replaced by ``value``."""
    array = np.array(arrays()[name], dtype=float if name != "slate" else int)
    array[row] = value
    return arrays(**{name: array})


def test_valid_inputs_keep_their_values_and_default_to_reward_per_impression() -> None:
    inputs = SlateInputs.from_arrays(**arrays())
    assert (inputs.n_rounds, inputs.len_list, inputs.n_candidates) == (2, 2, 3)
    np.testing.assert_array_equal(inputs.position_weights, [0.5, 0.5])
    np.testing.assert_array_equal(inputs.slate, SLATE)
    assert inputs.slate.dtype == np.int64
    np.testing.assert_allclose(inputs.slate_reward, [0.5, 0.5])
    np.testing.assert_allclose(inputs.prefix_weight, [[0.4, 0.5], [1.0, 0.8]])
    np.testing.assert_allclose(inputs.marginal_weight, [[0.4, 4 / 3], [1.0, 0.75]])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(reward=[1.0, 0.0]), "reward: must be a non-empty \\(n, K\\) array"),
        (dict(reward=np.zeros((0, 2))), "reward: must be a non-empty"),
        (dict(reward=[[1.0, 0.0], [np.nan, 1.0]]), "reward, row 1: is NaN"),
        (dict(reward=[[np.inf, 0.0], [0.0, 1.0]]), "reward, row 0: is infinite"),
        (dict(slate=[[0, 2, 1], [1, 0, 2]]), "slate: must have shape \\(n, K\\) = \\(2, 2\\)"),
        (dict(slate=[[0, 2], [1, 1]]), "slate, row 1: shows a candidate twice: \\[1, 1\\]"),
        (dict(slate=[[0, 3], [1, 0]]), "slate, row 0: candidate 3 is outside \\[0, n_candidates\\)"),
        (dict(slate=[[0, 2], [-1, 0]]), "slate, row 1: candidate -1 is outside"),
        (dict(slate=[[0, 2], [1.5, 0]]), "slate, row 1: must hold integer candidate indices"),
        (dict(logging_marginal=[[0.5, 0.3], [0.3, 0.0]]), "logging_marginal, row 1: value 0 is outside \\(0, 1\\]"),
        (dict(logging_prefix=[[0.5, 1.2], [0.3, 0.15]]), "logging_prefix, row 0: value 1.2 is outside \\(0, 1\\]"),
        (dict(target_marginal=[[0.2, 0.4], [-0.1, 0.3]]), "target_marginal, row 1: value -0.1 is outside \\[0, 1\\]"),
        (dict(target_marginal=[[0.2, 0.4]]), "target_marginal: must have shape \\(n, K\\) = \\(2, 2\\)"),
        (dict(logging_prefix=[[0.5, 0.2], [0.25, 0.15]]), "logging_prefix, row 1: prefix of length 1 is 0.25"),
        (dict(logging_prefix=[[0.5, 0.2], [0.3, 0.35]]), "logging_prefix, row 1: prefix probability grows"),
        (dict(target_marginal=[[0.2, 0.15], [0.3, 0.3]], target_prefix=[[0.2, 0.19], [0.3, 0.12]], target_conditional=None),
         "target_prefix, row 0: prefix probability 0.19 at position 1 exceeds target_marginal 0.15"),
        (dict(target_conditional=np.zeros((2, 2))), "target_conditional: must have shape \\(n, K, C\\)"),
        (dict(estimated_rewards=np.zeros((2, 4, 2))), "estimated_rewards: has 4 candidates but n_candidates is 3"),
        (dict(estimated_rewards=np.zeros((2, 3, 3))), "estimated_rewards: must have shape \\(n, C, K\\)"),
        (dict(estimated_rewards=[[[0.0, 0.0]] * 3, [[0.0, np.nan]] * 3]), "estimated_rewards, row 1: is NaN"),
        (dict(position_weights=[1.0, 0.5, 0.25]), "position_weights: must have shape \\(K,\\)"),
        (dict(position_weights=[1.0, np.nan]), "position_weights, row 0: is NaN"),
        (dict(pseudo_inverse_weight=[1.0]), "pseudo_inverse_weight: must have shape \\(n,\\)"),
        (dict(pseudo_inverse_weight=[1.0, np.inf]), "pseudo_inverse_weight, row 1: is infinite"),
        (dict(target_conditional=None, estimated_rewards=None, n_candidates=1), "slate: has 2 positions but only 1 candidates"),
    ],
)  # fmt: skip
def test_errors_name_the_array_and_the_first_bad_row(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(OPEInputError, match=message):
        SlateInputs.from_arrays(**arrays(**overrides))


def test_target_conditional_must_be_a_distribution_that_avoids_placed_items_and_matches_the_prefix() -> None:
    conditional = np.array(TARGET_CONDITIONAL)
    not_summing = conditional.copy()
    not_summing[1, 0] = [0.5, 0.3, 0.1]
    with pytest.raises(OPEInputError, match="target_conditional, row 1: probabilities over candidates at position 0 sum to 0.9"):
        SlateInputs.from_arrays(**arrays(target_conditional=not_summing))
    negative = conditional.copy()
    negative[1, 0] = [1.0, 0.3, -0.3]
    with pytest.raises(OPEInputError, match="target_conditional, row 1: has a negative probability"):
        SlateInputs.from_arrays(**arrays(target_conditional=negative))
    on_placed = conditional.copy()
    on_placed[0, 1] = [0.1, 0.4, 0.5]  # item 0 is already at position 0 of request 0
    with pytest.raises(OPEInputError, match="target_conditional, row 0: gives probability 0.1 at position 1 to candidate 0, already placed"):
        SlateInputs.from_arrays(**arrays(target_conditional=on_placed))
    inconsistent = conditional.copy()
    inconsistent[1, 1] = [0.5, 0.0, 0.5]  # 0.3 * 0.5 = 0.15, but target_prefix says 0.12
    with pytest.raises(OPEInputError, match="target_conditional, row 1: at position 1, prefix 0.3 times conditional 0.5"):
        SlateInputs.from_arrays(**arrays(target_conditional=inconsistent))


def test_the_first_bad_row_is_reported_when_several_are_bad() -> None:
    reward = np.zeros((5, 2))
    reward[[2, 4], 1] = np.nan
    n = 5
    with pytest.raises(OPEInputError, match="reward, row 2: is NaN") as caught:
        SlateInputs.from_arrays(
            reward=reward, slate=np.tile([0, 1], (n, 1)), logging_marginal=np.full((n, 2), 0.5),
            logging_prefix=np.full((n, 2), 0.5), target_marginal=np.full((n, 2), 0.5), target_prefix=np.full((n, 2), 0.5),
        )  # fmt: skip
    assert (caught.value.array, caught.value.row) == ("reward", 2)


def test_a_candidate_count_given_alone_bounds_the_slate() -> None:
    bare = arrays(target_conditional=None, estimated_rewards=None)
    assert SlateInputs.from_arrays(**bare).n_candidates is None
    with pytest.raises(OPEInputError, match="slate, row 0: candidate 2 is outside"):
        SlateInputs.from_arrays(**bare, n_candidates=2)
