"""Open Bandit Dataset (ZOZOTOWN) logs read into off-policy-evaluation arrays; this module only reads.

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
- ``action_context`` (``item_context_encoding="one-hot"``, the default): ``item_feature_0`` as
  is, then ``item_feature_1..3`` one-hot over all their categories;
  ``item_context_encoding="label"`` builds OBP 0.5's instead (``OpenBanditDataset.pre_process``:
  ``item_context.drop(columns=["item_id", "item_feature_0"]).apply(LabelEncoder().fit_transform)``
  then ``item_feature_0``): ``item_feature_1..3`` as the rank of their category among the
  column's sorted categories, then ``item_feature_0``. Label codes impose an arbitrary order on
  hashes, so they serve the reproduction of OBP's published numbers, not our own models.
  (Earlier OBP releases dropped only ``item_feature_0`` and so also fed ``item_id`` as a number.)

:func:`read_bts_prior` reads the Beta prior of ZOZOTOWN's production Bernoulli TS
(``prior_bts.yaml``, shipped next to the sample).

Malformed lines (wrong column count, unparsable timestamp, item outside the item file, slot
outside 1-3, click not 0/1, propensity outside (0, 1], empty user feature) raise
:class:`OpenBanditFormatError` naming ``file:line`` and the field, or, with
``on_error="quarantine"``, are set aside as :class:`~hermes_core.data.raw.ParseFailure` records.

The published experiments run on these logs live in :mod:`hermes_core.ope.open_bandit`, the
policies they evaluate (Bernoulli TS, a policy's logged action share) in :mod:`hermes_core.ope.policies`.
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

from hermes_core.data.raw import ParseFailure

BEHAVIOR_POLICIES: tuple[str, ...] = ("random", "bts")
CAMPAIGNS: tuple[str, ...] = ("all", "men", "women")
LEN_LIST = 3
N_USER_FEATURES = 4
PRIOR_FILE = "prior_bts.yaml"
"""Name of the Bernoulli TS prior file in the dataset folder (OBP's ``obp/policy/conf/prior_bts.yaml``)."""

ItemContextEncoding = Literal["one-hot", "label"]
"""How ``action_context`` encodes the hashed item features (see the module docstring)."""


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


def _label_codes(values: Sequence[str]) -> np.ndarray:
    """Rank of each value among the sorted distinct values (scikit-learn's ``LabelEncoder``)."""
    code_of = {category: code for code, category in enumerate(sorted(set(values)))}
    return np.array([code_of[value] for value in values], dtype=np.float64)


def read_item_context(
    path: Path | str, encoding: ItemContextEncoding = "one-hot"
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``action_context`` (n_items, d_a) and its column names from an ``item_context.csv``, in
    the ``encoding`` of the module docstring (``"one-hot"`` or OBP's ``"label"``).

    Item ids must be exactly ``0 .. n_items - 1`` (row ``item_id`` gives the row of the matrix).
    """
    if encoding not in ("one-hot", "label"):
        raise ValueError(f"item_context_encoding must be 'one-hot' or 'label', got {encoding!r}")
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
    if encoding == "label":
        # OBP's column order: the label-encoded columns, then item_feature_0
        codes = [_label_codes([categories[j] for _, categories in ordered]) for j in range(3)]
        matrix = np.column_stack([*codes, [numeric for numeric, _ in ordered]])
        return matrix, ("item_feature_1", "item_feature_2", "item_feature_3", "item_feature_0")
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
    item_context_encoding: ItemContextEncoding = "one-hot",
) -> OpenBanditLogs:
    """Read ``<root>/<behavior_policy>/<campaign>/`` into :class:`OpenBanditLogs`
    (``item_context_encoding``: see the module docstring).

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
    action_context, action_names = read_item_context(folder / "item_context.csv", item_context_encoding)
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


def read_bts_prior(path: Path | str, campaign: Literal["all", "men", "women"] = "all") -> tuple[np.ndarray, np.ndarray]:
    """The Beta(``alpha``, ``beta``) prior per item (two (n_items,) arrays) of ZOZOTOWN's
    production Bernoulli TS for ``campaign``, from OBP's ``prior_bts.yaml``
    (``{campaign: {alpha: [...], beta: [...]}}``).

    Raises
    ------
    FileNotFoundError
        when the file is missing.
    OpenBanditFormatError
        naming the file and the field: campaign absent, alpha/beta not lists of positive finite
        numbers of one length.
    """
    import yaml

    path = Path(path)
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {CAMPAIGNS}, got {campaign!r}")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get(campaign), dict):
        raise OpenBanditFormatError(f"{path}: no mapping for campaign {campaign!r}")
    arrays = []
    for name in ("alpha", "beta"):
        values = document[campaign].get(name)
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise OpenBanditFormatError(f"{path}: {campaign}.{name} is not a list of numbers") from None
        if array.ndim != 1 or array.size == 0:
            raise OpenBanditFormatError(f"{path}: {campaign}.{name} must be a non-empty list, got {values!r:.60}")
        bad = ~(np.isfinite(array) & (array > 0))
        if bad.any():
            index = int(np.argmax(bad))
            raise OpenBanditFormatError(f"{path}: {campaign}.{name}[{index}] = {float(array[index])!r} is not positive")
        arrays.append(array)
    alpha, beta = arrays
    if alpha.shape != beta.shape:
        raise OpenBanditFormatError(f"{path}: {campaign}.alpha has {alpha.size} items, {campaign}.beta {beta.size}")
    return alpha, beta
