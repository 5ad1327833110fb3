"""The hand-written 2-request dataset of ``test_estimators.py`` (its table is there)."""

from __future__ import annotations

from hermes_core.ope.slate import SlateInputs

SLATE = [[0, 2], [1, 0]]
REWARD = [[1.0, 0.0], [0.0, 1.0]]
LOGGING_MARGINAL = [[0.5, 0.3], [0.3, 0.4]]
LOGGING_PREFIX = [[0.5, 0.2], [0.3, 0.15]]
TARGET_MARGINAL = [[0.2, 0.4], [0.3, 0.3]]
TARGET_PREFIX = [[0.2, 0.1], [0.3, 0.12]]
# pi(a at k | logged items above k): chosen so that conditional x previous prefix = prefix
TARGET_CONDITIONAL = [
    [[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]],  # 0.1 / 0.2 = 0.5 for item 2 at position 1
    [[0.5, 0.3, 0.2], [0.4, 0.0, 0.6]],  # 0.12 / 0.3 = 0.4 for item 0 at position 1
]
MODEL = [  # q_hat(x_i, a, k), (n, C, K)
    [[0.3, 0.1], [0.2, 0.2], [0.1, 0.05]],
    [[0.6, 0.4], [0.25, 0.15], [0.05, 0.3]],
]


def hand_inputs(**overrides: object) -> SlateInputs:
    arrays: dict[str, object] = dict(
        reward=REWARD, slate=SLATE, logging_marginal=LOGGING_MARGINAL, logging_prefix=LOGGING_PREFIX,
        target_marginal=TARGET_MARGINAL, target_prefix=TARGET_PREFIX, target_conditional=TARGET_CONDITIONAL,
        estimated_rewards=MODEL,
    )  # fmt: skip
    arrays.update(overrides)
    return SlateInputs.from_arrays(**arrays)
