"""Open Bandit Dataset (ZOZOTOWN) logs, and OBP's two published off-policy-evaluation experiments.

Layout (the small sample shipped with ``obp``; Saito et al., 2021, "Open Bandit Dataset and
Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation", NeurIPS Datasets track)::

    <root>/{random,bts}/{all,men,women}/<campaign>.csv    one logged impression a line
    <root>/{random,bts}/{all,men,women}/item_context.csv  one item a line

``<campaign>.csv`` columns: an unnamed row index, ``timestamp`` (ISO 8601 with offset),
``item_id`` (the action), ``position`` (slot 1-3), ``click`` (0/1), ``propensity_score`` (the
logging policy's marginal probability of that item at that slot), ``user_feature_0..3``
(hashed categories), ``user-item_affinity_<item>`` (one float per item). ``item_context.csv``:
unnamed index, ``item_id``, ``item_feature_0`` (a float), ``item_feature_1..3`` (hashed
categories; the hashes differ between folders, so a folder is only read with its own file).

How the arrays are built (:func:`read_open_bandit_logs`):

- rows are sorted by timestamp (stable), as OBP's ``OpenBanditDataset.load_raw_data``;
- ``position`` 1, 2, 3 becomes slot 0, 1, 2; ``action`` is ``item_id``; ``reward`` is
  ``click``; ``pscore`` is ``propensity_score``;
- ``context``: each ``user_feature_j`` one-hot encoded over its categories sorted as strings,
  the first category dropped (``pandas.get_dummies(drop_first=True)``, OBP's default
  ``pre_process``), so every feature adds (levels - 1) columns; with
  ``include_affinity=True`` the ``user-item_affinity_*`` floats are appended;
- ``action_context``: ``item_feature_0`` as is, then ``item_feature_1..3`` one-hot over all
  their categories (OBP instead label-encodes them as integers, which imposes an arbitrary
  order on hashes).

Malformed lines (wrong column count, unparsable timestamp, item outside the item file, slot
outside 1-3, click not 0/1, propensity outside (0, 1], empty user feature) raise
:class:`OpenBanditFormatError` naming ``file:line`` and the field, or, with
``on_error="quarantine"``, are set aside as :class:`~hermes_core.data.raw.ParseFailure` records.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.registry import (
    OBP_TUNING_GRID,
    make_estimators,
    relative_estimation_error,
    round_terms_of_all,
)
from hermes_core.ope.reward_model import (
    PositionHandling,
    RewardModelName,
    assign_folds,
    cross_fitted_reward_model,
)
from hermes_core.data.raw import ParseFailure

BEHAVIOR_POLICIES: tuple[str, ...] = ("random", "bts")
CAMPAIGNS: tuple[str, ...] = ("all", "men", "women")
LEN_LIST = 3
N_USER_FEATURES = 4

PUBLISHED_BTS_FROM_RANDOM_ALL: dict[str, tuple[float, float]] = {
    "dm": (0.156876, 0.109898),
    "ipw": (0.311082, 0.311170),
    "snipw": (0.311795, 0.334736),
    "dr": (0.292464, 0.315485),
    "sndr": (0.302407, 0.328434),
    "switch-dr": (0.258410, 0.160598),
    "dr-os": (0.159520, 0.109660),
}
"""Relative estimation error (mean, std over bootstrap runs) of each estimator when evaluating
Bernoulli TS from the uniform-random logs of the ``all`` campaign (small sample), as published."""

PUBLISHED_SOURCE = (
    "st-tech/zr-obp, examples/obd/README.md: python evaluate_off_policy_estimators.py "
    "--n_runs 30 --base_model logistic_regression --evaluation_policy bts --behavior_policy "
    "random --campaign all (random_state=12345). The README states that Switch-DR and DRos are "
    "tuned by SLOPE (OBP's example scripts give the grid {10, 50, 100, 500, 1000, 5000, 10000, "
    "inf}); the reward model is OBP's "
    "RegressionModel with 3-fold cross-fitting, and BTS's action distribution is the Monte "
    "Carlo frequency (1e6 draws) of Bernoulli TS with the ZOZOTOWN production prior "
    "(obp/policy/conf/prior_bts.yaml), the same for every round."
)


class OpenBanditFormatError(ValueError):
    """A malformed line or file of the Open Bandit Dataset; the message names ``file:line``."""


@dataclass(frozen=True, eq=False)
class OpenBanditLogs:
    """One ``<behavior_policy>/<campaign>`` folder as OPE arrays (see the module docstring)."""

    behavior_policy: str
    campaign: str
    path: str
    timestamp: np.ndarray  # (n,) datetime64[us], UTC
    action: np.ndarray  # (n,) int64 item id
    position: np.ndarray  # (n,) int64 slot 0..2
    reward: np.ndarray  # (n,) float64 click
    pscore: np.ndarray  # (n,) float64
    context: np.ndarray  # (n, d_x)
    context_names: tuple[str, ...]
    action_context: np.ndarray  # (n_actions, d_a)
    action_context_names: tuple[str, ...]
    source_line: np.ndarray  # (n,) 1-based line of each row in the csv
    quarantined: tuple[ParseFailure, ...] = field(default=())

    @property
    def n_rounds(self) -> int:
        return int(self.action.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.action_context.shape[0])

    @property
    def len_list(self) -> int:
        return LEN_LIST


def _folder(root: Path | str, behavior_policy: str, campaign: str) -> Path:
    if behavior_policy not in BEHAVIOR_POLICIES:
        raise ValueError(f"behavior_policy must be one of {BEHAVIOR_POLICIES}, got {behavior_policy!r}")
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {CAMPAIGNS}, got {campaign!r}")
    return Path(root) / behavior_policy / campaign


def _one_hot(values: Sequence[str], prefix: str, drop_first: bool) -> tuple[np.ndarray, list[str]]:
    categories = sorted(set(values))
    kept = categories[1:] if drop_first else categories
    column_of = {category: j for j, category in enumerate(kept)}
    encoded = np.zeros((len(values), len(kept)))
    for i, value in enumerate(values):
        j = column_of.get(value)
        if j is not None:
            encoded[i, j] = 1.0
    return encoded, [f"{prefix}={category}" for category in kept]


def read_item_context(path: Path | str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``action_context`` (n_items, d_a) and its column names from an ``item_context.csv``.

    Item ids must be exactly ``0 .. n_items - 1`` (row ``item_id`` gives the row of the matrix).
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        expected = ["", "item_id", "item_feature_0", "item_feature_1", "item_feature_2", "item_feature_3"]
        if header != expected:
            raise OpenBanditFormatError(f"{path}:1: header {header} is not {expected}")
        rows: dict[int, tuple[float, list[str]]] = {}
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != len(expected):
                raise OpenBanditFormatError(f"{where}: {len(row)} fields, expected {len(expected)}")
            try:
                item, numeric = int(row[1]), float(row[2])
            except ValueError as error:
                raise OpenBanditFormatError(f"{where}: item_id/item_feature_0: {error}") from None
            if item in rows:
                raise OpenBanditFormatError(f"{where}: item_id {item} repeated")
            if not math.isfinite(numeric) or not all(row[3:]):
                raise OpenBanditFormatError(f"{where}: item features must be finite and non-empty")
            rows[item] = (numeric, row[3:])
    if sorted(rows) != list(range(len(rows))) or not rows:
        raise OpenBanditFormatError(f"{path}: item ids must be 0..n_items-1, got {sorted(rows)[:5]}...")
    ordered = [rows[item] for item in range(len(rows))]
    blocks = [np.array([[numeric] for numeric, _ in ordered])]
    names = ["item_feature_0"]
    for j in range(3):
        encoded, column_names = _one_hot(
            [categories[j] for _, categories in ordered], f"item_feature_{j + 1}", drop_first=False
        )
        blocks.append(encoded)
        names.extend(column_names)
    return np.concatenate(blocks, axis=1), tuple(names)


def _parse_row(
    row: list[str], column: Mapping[str, int], n_items: int, affinity_columns: list[int] | None
) -> tuple[datetime, int, int, int, float, list[str], list[float]]:
    """Fields of one data line, or ``ValueError`` naming the field at fault."""
    def fail(name: str, problem: str) -> ValueError:
        return ValueError(f"field {name}: {problem}")

    raw = row[column["timestamp"]]
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise fail("timestamp", f"{raw!r} is not an ISO 8601 time") from None
    stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp
    parsed: dict[str, int] = {}
    for name, low, high in (("item_id", 0, n_items - 1), ("position", 1, LEN_LIST), ("click", 0, 1)):
        raw = row[column[name]]
        try:
            value = int(raw)
        except ValueError:
            raise fail(name, f"{raw!r} is not an integer") from None
        if not low <= value <= high:
            raise fail(name, f"{value} is outside [{low}, {high}]")
        parsed[name] = value
    raw = row[column["propensity_score"]]
    try:
        pscore = float(raw)
    except ValueError:
        raise fail("propensity_score", f"{raw!r} is not a number") from None
    if not 0 < pscore <= 1:
        raise fail("propensity_score", f"{pscore!r} is outside (0, 1]")
    users = [row[column[f"user_feature_{j}"]] for j in range(N_USER_FEATURES)]
    for j, value in enumerate(users):
        if not value:
            raise fail(f"user_feature_{j}", "is empty")
    affinities: list[float] = []
    if affinity_columns is not None:
        for index in affinity_columns:
            try:
                value = float(row[index])
            except ValueError:
                raise fail(f"user-item_affinity column {index}", f"{row[index]!r}") from None
            if not math.isfinite(value):
                raise fail(f"user-item_affinity column {index}", "is not finite")
            affinities.append(value)
    return stamp, parsed["item_id"], parsed["position"], parsed["click"], pscore, users, affinities


def read_open_bandit_logs(
    root: Path | str,
    behavior_policy: Literal["random", "bts"],
    campaign: Literal["all", "men", "women"] = "all",
    *,
    on_error: Literal["raise", "quarantine"] = "raise",
    include_affinity: bool = False,
) -> OpenBanditLogs:
    """Read ``<root>/<behavior_policy>/<campaign>/`` into :class:`OpenBanditLogs`.

    Raises
    ------
    FileNotFoundError
        when the folder or one of its two files is missing.
    OpenBanditFormatError
        for a bad header, or (``on_error="raise"``) the first malformed line, as
        ``"<file>:<line>: field <name>: <problem>"``.
    """
    if on_error not in ("raise", "quarantine"):
        raise ValueError(f"on_error must be 'raise' or 'quarantine', got {on_error!r}")
    folder = _folder(root, behavior_policy, campaign)
    log_path = folder / f"{campaign}.csv"
    action_context, action_names = read_item_context(folder / "item_context.csv")
    n_items = action_context.shape[0]

    stamps: list[datetime] = []
    fields: list[tuple[int, int, int, float]] = []
    users: list[list[str]] = []
    affinities: list[list[float]] = []
    lines: list[int] = []
    quarantined: list[ParseFailure] = []
    with log_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        column = {name: j for j, name in enumerate(header)}
        required = ["timestamp", "item_id", "position", "click", "propensity_score"] + [
            f"user_feature_{j}" for j in range(N_USER_FEATURES)
        ]
        missing = [name for name in required if name not in column]
        if missing:
            raise OpenBanditFormatError(f"{log_path}:1: header lacks {missing}")
        affinity_columns = (
            [column[f"user-item_affinity_{item}"] for item in range(n_items)
             if f"user-item_affinity_{item}" in column]
            if include_affinity
            else None
        )  # fmt: skip
        if affinity_columns is not None and len(affinity_columns) != n_items:
            raise OpenBanditFormatError(
                f"{log_path}:1: {len(affinity_columns)} user-item_affinity columns for {n_items} items"
            )
        for row in reader:
            where = f"{log_path}:{reader.line_num}"
            try:
                if len(row) != len(header):
                    raise ValueError(f"{len(row)} fields, header has {len(header)}")
                stamp, item, slot, click, pscore, user, affinity = _parse_row(
                    row, column, n_items, affinity_columns
                )
            except ValueError as error:
                if on_error == "raise":
                    raise OpenBanditFormatError(f"{where}: {error}") from None
                quarantined.append(ParseFailure(source=where, raw=",".join(row), reason=str(error)))
                continue
            stamps.append(stamp)
            fields.append((item, slot - 1, click, pscore))
            users.append(user)
            affinities.append(affinity)
            lines.append(reader.line_num)
    if not fields:
        raise OpenBanditFormatError(f"{log_path}: no valid rows")

    timestamp = np.array(stamps, dtype="datetime64[us]")
    order = np.argsort(timestamp, kind="stable")
    table = np.array(fields, dtype=np.float64)[order]  # (n, 4)
    blocks, names = [], []
    for j in range(N_USER_FEATURES):
        encoded, column_names = _one_hot(
            [users[i][j] for i in order], f"user_feature_{j}", drop_first=True
        )
        blocks.append(encoded)
        names.extend(column_names)
    if include_affinity:
        blocks.append(np.array(affinities, dtype=np.float64)[order])
        names.extend(f"user-item_affinity_{item}" for item in range(n_items))
    return OpenBanditLogs(
        behavior_policy=behavior_policy,
        campaign=campaign,
        path=str(log_path),
        timestamp=timestamp[order],
        action=table[:, 0].astype(np.int64),
        position=table[:, 1].astype(np.int64),
        reward=table[:, 2],
        pscore=table[:, 3],
        context=np.concatenate(blocks, axis=1),
        context_names=tuple(names),
        action_context=action_context,
        action_context_names=action_names,
        source_line=np.array(lines, dtype=np.int64)[order],
        quarantined=tuple(quarantined),
    )


def logged_action_share(
    action: np.ndarray, position: np.ndarray, n_actions: int, len_list: int = LEN_LIST
) -> np.ndarray:
    """Context-free action distribution (n_actions, len_list) of a logging policy, estimated
    from its own logs: the share of the rounds logged at slot :math:`k` that showed :math:`a`,

    .. math:: \\hat\\pi(a \\mid k) = \\frac{\\#\\{i : a_i = a, k_i = k\\}}{\\#\\{i : k_i = k\\}},

    an unbiased estimate of the time-averaged marginal :math:`\\bar\\pi(a \\mid k) =
    \\mathbb{E}_t[\\pi_t(a \\mid k)]`. (Averaging the logged ``propensity_score`` of the rounds
    that showed :math:`a` would not be: those rounds over-represent the times when
    :math:`\\pi_t(a \\mid k)` was high, so that average estimates
    :math:`\\mathbb{E}[\\pi_t^2]/\\mathbb{E}[\\pi_t]`; on ``bts/all`` such averages sum to 3.7,
    2.3 and 2.0 over items at the three slots instead of 1.)
    """
    counts = np.zeros((n_actions, len_list))
    np.add.at(counts, (np.asarray(action), np.asarray(position)), 1.0)
    per_slot = counts.sum(axis=0)
    if (per_slot == 0).any():
        raise ValueError(f"no logged round at slot(s) {np.flatnonzero(per_slot == 0).tolist()}")
    return counts / per_slot


def bernoulli_ts_action_dist(
    alpha: np.ndarray,
    beta: np.ndarray,
    len_list: int = LEN_LIST,
    n_sim: int = 100_000,
    seed: int = 0,
    chunk: int = 10_000,
) -> np.ndarray:
    """Action distribution (n_actions, len_list) of context-free Bernoulli Thompson sampling
    with Beta(alpha, beta) posteriors that ranks items by a posterior draw:
    :math:`\\pi(a \\mid k) = P(\\text{item } a \\text{ has the } k\\text{-th largest }
    \\theta_a)`, :math:`\\theta_a \\sim \\mathrm{Beta}(\\alpha_a, \\beta_a)`, by ``n_sim``
    Monte Carlo draws (the construction of OBP's ``BernoulliTS.compute_batch_action_dist``;
    pass OBP's production prior to reproduce its BTS policy)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.shape != beta.shape or alpha.ndim != 1 or (alpha <= 0).any() or (beta <= 0).any():
        raise ValueError("alpha and beta must be positive 1-D arrays of equal length")
    n_actions = alpha.shape[0]
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_actions, len_list))
    slots = np.broadcast_to(np.arange(len_list), (min(chunk, n_sim), len_list))
    for start in range(0, n_sim, chunk):
        rows = min(chunk, n_sim - start)
        theta = rng.beta(alpha, beta, size=(rows, n_actions))  # (rows, n_actions)
        top = np.argsort(-theta, axis=1, kind="stable")[:, :len_list]  # (rows, len_list)
        np.add.at(counts, (top, slots[:rows]), 1.0)
    return counts / n_sim


@dataclass(frozen=True, eq=False)
class OpenBanditExperimentResult:
    """Relative estimation errors of several estimators over bootstrap resamples of one log."""

    experiment: str
    campaign: str
    evaluation_policy: str
    behavior_policy: str
    ground_truth: float
    estimates: dict[str, np.ndarray]  # name -> (n_runs,)
    relative_errors: dict[str, np.ndarray]  # name -> (n_runs,)
    reward_model: str
    n_folds: int
    seed: int

    @property
    def n_runs(self) -> int:
        return len(next(iter(self.estimates.values())))

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and standard deviation (ddof 1, as OBP's ``DataFrame.describe``) of the relative
        estimation error, and the mean estimate, per estimator."""
        return {
            name: {
                "mean": float(errors.mean()),
                "std": float(errors.std(ddof=1)) if errors.size > 1 else 0.0,
                "mean_estimate": float(self.estimates[name].mean()),
            }
            for name, errors in self.relative_errors.items()
        }


def relative_errors_over_bootstrap(
    logs: OpenBanditLogs,
    target_action_dist: np.ndarray,
    ground_truth: float,
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Estimates and relative errors (name -> (n_runs,)) of a context-free target policy
    (``target_action_dist`` (n_actions, len_list)) on ``n_runs`` bootstrap resamples of
    ``logs`` (OBP's ``sample_bootstrap_bandit_feedback``).

    On each resample the reward model is cross-fitted with folds assigned to the *original*
    rows, so the copies of one logged round never sit on both sides of a split. Run ``r`` draws
    from ``numpy.random.SeedSequence(seed).spawn(n_runs)[r]``.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    chosen = make_estimators(tuning_grid=OBP_TUNING_GRID) if estimators is None else estimators
    target = np.asarray(target_action_dist, dtype=np.float64)
    if target.shape != (logs.n_actions, logs.len_list):
        raise ValueError(
            f"target_action_dist must have shape {(logs.n_actions, logs.len_list)}, got {target.shape}"
        )
    n = logs.n_rounds
    estimates = {name: np.empty(n_runs) for name in chosen}
    for run, child in enumerate(np.random.SeedSequence(seed).spawn(n_runs)):
        rng = np.random.default_rng(child)
        rows = rng.integers(0, n, size=n)  # (n,) bootstrap resample of rounds
        run_seed = int(rng.integers(2**31 - 1))
        folds = assign_folds(n, n_folds, run_seed, groups=rows)
        estimated_rewards = cross_fitted_reward_model(
            logs.context[rows],
            logs.action[rows],
            logs.position[rows],
            logs.reward[rows],
            n_actions=logs.n_actions,
            len_list=logs.len_list,
            action_context=logs.action_context,
            folds=folds,
            model=reward_model,
            seed=run_seed,
            position_handling=position_handling,
        )
        inputs = OpeInputs.from_arrays(
            reward=logs.reward[rows],
            action=logs.action[rows],
            position=logs.position[rows],
            pscore=logs.pscore[rows],
            action_dist=np.broadcast_to(target, (n, *target.shape)),
            estimated_rewards_by_reg_model=estimated_rewards,
        )
        for name, terms in round_terms_of_all(inputs, chosen).items():
            estimates[name][run] = terms.estimate()
    errors = {name: np.asarray(relative_estimation_error(v, ground_truth)) for name, v in estimates.items()}
    return estimates, errors


def evaluate_random_from_bts(
    root: Path | str,
    campaign: Literal["all", "men", "women"] = "all",
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
) -> OpenBanditExperimentResult:
    """Experiment 1: evaluate the uniform random policy (:math:`\\pi(a \\mid k) = 1/n_{items}`)
    on the Bernoulli TS logs; the truth is the click rate of the random logs (on-policy, OBP's
    ``calc_on_policy_policy_value_estimate``): 38 / 10,000 in the ``all`` sample."""
    bts = read_open_bandit_logs(root, "bts", campaign, include_affinity=include_affinity)
    random = read_open_bandit_logs(root, "random", campaign)
    truth = float(random.reward.mean())
    target = np.full((bts.n_actions, bts.len_list), 1.0 / bts.n_actions)
    estimates, errors = relative_errors_over_bootstrap(
        bts, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators,
    )  # fmt: skip
    return OpenBanditExperimentResult(
        "random-from-bts", campaign, "random", "bts", truth, estimates, errors,
        reward_model, n_folds, seed,
    )  # fmt: skip


def evaluate_bts_from_random(
    root: Path | str,
    campaign: Literal["all", "men", "women"] = "all",
    *,
    n_runs: int = 30,
    seed: int = 12345,
    reward_model: RewardModelName = "logistic",
    n_folds: int = 3,
    position_handling: PositionHandling = "one-hot",
    estimators: Mapping[str, OffPolicyEstimator] | None = None,
    include_affinity: bool = False,
    bts_action_dist: np.ndarray | None = None,
) -> OpenBanditExperimentResult:
    """Experiment 2 (the published one, :data:`PUBLISHED_BTS_FROM_RANDOM_ALL`): evaluate
    Bernoulli TS on the uniform random logs; the truth is the click rate of the BTS logs
    (42 / 10,000 in the ``all`` sample).

    BTS's action distribution defaults to :func:`logged_action_share` of its own logs;
    ``bts_action_dist`` (n_items, 3) overrides it, e.g. with :func:`bernoulli_ts_action_dist`
    of OBP's production prior, which is what the published run used.
    """
    random = read_open_bandit_logs(root, "random", campaign, include_affinity=include_affinity)
    bts = read_open_bandit_logs(root, "bts", campaign)
    truth = float(bts.reward.mean())
    target = (
        logged_action_share(bts.action, bts.position, bts.n_actions, bts.len_list)
        if bts_action_dist is None
        else np.asarray(bts_action_dist, dtype=np.float64)
    )
    estimates, errors = relative_errors_over_bootstrap(
        random, target, truth, n_runs=n_runs, seed=seed, reward_model=reward_model,
        n_folds=n_folds, position_handling=position_handling, estimators=estimators,
    )  # fmt: skip
    return OpenBanditExperimentResult(
        "bts-from-random", campaign, "bts", "random", truth, estimates, errors,
        reward_model, n_folds, seed,
    )  # fmt: skip
