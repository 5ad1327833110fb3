"""Slate worlds small enough to enumerate: every ordered slate and every
click outcome, with its exact probability.

Logging and target policies are Plackett-Luce: position ``k`` takes item ``a`` with probability
``w_a / (1 - sum of the weights already placed)``. Slate, prefix, marginal and conditional
probabilities are computed here by enumerating the ordered slates (six in the 3-item,
2-position world of the task), independently of
``hermes_core.world``. Two click models give the expected reward of every slate:

* position-based: a click at ``k`` with probability ``theta_k * alpha_a`` for the item ``a`` there,
  independently across positions (the reward at ``k`` depends on the item at ``k`` only);
* cascade: the user scans from the top, clicks at ``k`` with probability
  ``p_k = theta_k * alpha_{a_k}`` if still scanning, and after a click stops with probability
  ``s``; so ``P(C_k) = p_k * prod_{j<k} (1 - s p_j)`` depends on the items above ``k``.

An estimator's exact expectation is the probability-weighted sum of its per-request round
rewards over one row per (slate, click outcome).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hermes_core.ope.slate import SlateInputs, SlateOffPolicyEstimator, pseudo_inverse_weight

LOGGING_WEIGHTS = (0.5, 0.3, 0.2)
TARGET_WEIGHTS = (0.15, 0.25, 0.6)
ATTRACTIVENESS = (0.8, 0.5, 0.3)
EXAMINATION = (1.0, 0.6)
STOP_AFTER_CLICK = 0.7


@dataclass(frozen=True)
class PlackettLuce:
    """Plackett-Luce over ordered slates of distinct items, by enumeration."""

    weights: tuple[float, ...]  # normalised, one per candidate
    n_positions: int = 2

    @property
    def n_candidates(self) -> int:
        return len(self.weights)

    @property
    def slates(self) -> tuple[tuple[int, ...], ...]:
        """Every ordered slate of distinct items."""
        return tuple(itertools.permutations(range(self.n_candidates), self.n_positions))

    def conditional(self, prefix: Sequence[int], item: int) -> float:
        """P(item at position len(prefix) | the items above are ``prefix``)."""
        if item in prefix:
            return 0.0
        return self.weights[item] / (1.0 - sum(self.weights[j] for j in prefix))

    def prefix_probability(self, slate: Sequence[int], length: int) -> float:
        """P(the first ``length`` positions hold ``slate[:length]`` in this order)."""
        return float(np.prod([self.conditional(slate[:k], slate[k]) for k in range(length)]))

    def slate_probability(self, slate: Sequence[int]) -> float:
        return self.prefix_probability(slate, len(slate))

    def marginal(self, item: int, position: int) -> float:
        """P(item at position), summed over the enumerated slates."""
        return sum(self.slate_probability(s) for s in self.slates if s[position] == item)

    def position_marginals(self) -> np.ndarray:
        """(C, K) matrix of :meth:`marginal`."""
        return np.array([[self.marginal(a, k) for k in range(self.n_positions)] for a in range(self.n_candidates)])

    def conditional_table(self, slate: Sequence[int]) -> np.ndarray:
        """(K, C): P(a at k | the logged items above k)."""
        return np.array(
            [[self.conditional(slate[:k], a) for a in range(self.n_candidates)] for k in range(self.n_positions)]
        )


@dataclass(frozen=True)
class SlateWorld:
    """Logging and target Plackett-Luce policies and the click model's parameters."""

    logging: PlackettLuce
    target: PlackettLuce
    attractiveness: tuple[float, ...]  # alpha_a, one per candidate
    examination: tuple[float, ...] = EXAMINATION  # theta_k, one per position
    stop_after_click: float = STOP_AFTER_CLICK  # s

    @property
    def n_candidates(self) -> int:
        return self.logging.n_candidates

    @property
    def n_positions(self) -> int:
        return self.logging.n_positions

    @property
    def slates(self) -> tuple[tuple[int, ...], ...]:
        return self.logging.slates

    def click_chance(self, slate: Sequence[int]) -> list[float]:
        """p_k = theta_k alpha_{a_k}."""
        return [self.examination[k] * self.attractiveness[a] for k, a in enumerate(slate)]


WORLD = SlateWorld(PlackettLuce(LOGGING_WEIGHTS), PlackettLuce(TARGET_WEIGHTS), ATTRACTIVENESS)
"""The 3-item, 2-position world of the task."""
WORLD_OF_FOUR = SlateWorld(
    PlackettLuce((0.4, 0.3, 0.2, 0.1)), PlackettLuce((0.1, 0.2, 0.3, 0.4)), (0.9, 0.6, 0.4, 0.2)
)
"""4 items, 2 positions: large enough that a cascade's interaction is not additive."""

ClickModel = Callable[[SlateWorld, Sequence[int]], list[tuple[tuple[int, ...], float]]]


def position_based(world: SlateWorld, slate: Sequence[int]) -> list[tuple[tuple[int, ...], float]]:
    """Every click vector of the position-based model on ``slate`` with its probability."""
    p = world.click_chance(slate)
    outcomes = []
    for clicks in itertools.product((0, 1), repeat=len(slate)):
        outcomes.append((clicks, float(np.prod([pk if c else 1 - pk for pk, c in zip(p, clicks)]))))
    return outcomes


def cascade(world: SlateWorld, slate: Sequence[int]) -> list[tuple[tuple[int, ...], float]]:
    """Every click vector of the cascade model on ``slate``, enumerating the hidden stops."""
    p = world.click_chance(slate)
    stop = world.stop_after_click
    totals: dict[tuple[int, ...], float] = {}

    def walk(k: int, scanning: bool, clicks: tuple[int, ...], probability: float) -> None:
        if k == len(slate):
            totals[clicks] = totals.get(clicks, 0.0) + probability
            return
        if not scanning:
            walk(k + 1, False, (*clicks, 0), probability)
            return
        walk(k + 1, True, (*clicks, 0), probability * (1 - p[k]))
        walk(k + 1, False, (*clicks, 1), probability * p[k] * stop)
        walk(k + 1, True, (*clicks, 1), probability * p[k] * (1 - stop))

    walk(0, True, (), 1.0)
    return sorted(totals.items())


def click_probability(model: ClickModel, world: SlateWorld, slate: Sequence[int]) -> np.ndarray:
    """(K,) expected click at each position of ``slate``."""
    return sum(probability * np.array(clicks, dtype=float) for clicks, probability in model(world, slate))


def true_value(model: ClickModel, world: SlateWorld, position_weights: Sequence[float]) -> float:
    """:math:`V(\\pi) = \\sum_s \\pi(s) \\sum_k \\gamma_k P(C_k \\mid s)`."""
    gamma = np.asarray(position_weights)
    return float(sum(world.target.slate_probability(s) * click_probability(model, world, s) @ gamma
                     for s in world.slates))  # fmt: skip


def exact_pi_weight(world: SlateWorld) -> Callable[[tuple[int, ...]], float]:
    """Slate -> the PI weight of the world's logging policy, by pseudo-inverse over its slates."""
    slates = np.array(world.slates)
    logging = np.array([world.logging.slate_probability(s) for s in world.slates])
    weights = pseudo_inverse_weight(slates, slates, logging, world.target.position_marginals())
    by_slate = dict(zip(world.slates, weights.tolist()))
    return by_slate.__getitem__


def exhaustive_inputs(
    model: ClickModel,
    world: SlateWorld = WORLD,
    *,
    position_weights: Sequence[float] | None = None,
    estimated_rewards: np.ndarray | None = None,
    pseudo_inverse_weight_of: Callable[[tuple[int, ...]], float] | None = None,
) -> tuple[SlateInputs, np.ndarray]:
    """One row per (slate, click outcome) and the row's probability under the logging policy.

    ``estimated_rewards`` is a (C, K) reward model shared by every row; ``pseudo_inverse_weight_of``
    maps a slate to its PI weight.
    """
    logging, target = world.logging, world.target
    rows: dict[str, list] = {key: [] for key in ("reward", "slate", "lm", "lp", "tm", "tp", "cond", "piw")}
    probability = []
    for slate in world.slates:
        for clicks, p_clicks in model(world, slate):
            probability.append(logging.slate_probability(slate) * p_clicks)
            rows["reward"].append(clicks)
            rows["slate"].append(slate)
            rows["lm"].append([logging.marginal(a, k) for k, a in enumerate(slate)])
            rows["lp"].append([logging.prefix_probability(slate, k + 1) for k in range(world.n_positions)])
            rows["tm"].append([target.marginal(a, k) for k, a in enumerate(slate)])
            rows["tp"].append([target.prefix_probability(slate, k + 1) for k in range(world.n_positions)])
            rows["cond"].append(target.conditional_table(slate))
            if pseudo_inverse_weight_of is not None:
                rows["piw"].append(pseudo_inverse_weight_of(slate))
    n = len(probability)
    inputs = SlateInputs.from_arrays(
        reward=np.array(rows["reward"], dtype=float),
        slate=np.array(rows["slate"]),
        logging_marginal=np.array(rows["lm"]),
        logging_prefix=np.array(rows["lp"]),
        target_marginal=np.array(rows["tm"]),
        target_prefix=np.array(rows["tp"]),
        target_conditional=np.array(rows["cond"]),
        estimated_rewards=None if estimated_rewards is None else np.broadcast_to(estimated_rewards, (n, *estimated_rewards.shape)),
        position_weights=position_weights,
        pseudo_inverse_weight=np.array(rows["piw"]) if pseudo_inverse_weight_of is not None else None,
    )  # fmt: skip
    return inputs, np.array(probability)


def expectation(estimator: SlateOffPolicyEstimator, inputs: SlateInputs, probability: np.ndarray) -> float:
    """Exact expectation of a plain (not self-normalised) estimator's per-request value."""
    return float(probability @ estimator.estimate_round_rewards(inputs))
