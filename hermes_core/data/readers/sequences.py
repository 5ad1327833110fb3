"""Users' item sequences in time order, the input of sequential recommenders (SASRec and its baselines).

Three sources, one structure (:class:`ItemSequences`: per user, dense item ids ``1..n_items`` oldest
first, ``0`` left free as the padding id):

- the SASRec data format (Kang & McAuley 2018, repository ``kang205/SASRec``, ``data/*.txt``): one
  ``user item`` pair per line, integers from 1, each user's lines in time order
  (:func:`read_sasrec_sequences`); ids are kept as they are (the format's ids are already dense);
- MovieLens 1M ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``,
  :func:`read_movielens_1m`) and MovieLens 100K ``u.data`` (tab-separated
  ``user item rating timestamp``, :func:`read_movielens_100k`): every rating is an interaction
  (the rating value is ignored, as in the paper), sorted by timestamp within each user; **ties in
  timestamp keep the file's order** (a stable sort), so the sequences are a function of the file.
  Lines are split by :func:`~hermes_core.data.readers.movielens_lines.read_table`, the MovieLens
  adapter's own line reader; where that adapter keeps a bad line as a parse failure, this reader
  raises, naming the file and line, because a sequence with a hole in it is not a sequence.

The paper's preprocessing (Section V.A: "we discard users and items with fewer than 5 related
actions"; ``data/DataProcessing.py``) counts each user's and each item's interactions once on the
whole file and drops every interaction of a user or item under ``min_count``, in one pass (so an
item can end up with fewer than ``min_count`` interactions after its users were dropped). The
paper's Table II reports 6,040 users and 3,416 items for MovieLens 1M after this filter (not
checked here: ``ratings.dat`` is not in the shared data). Surviving MovieLens ids are
renumbered ``1..n_items`` in increasing MovieLens id (``item_ids`` maps back) and users are listed
in increasing MovieLens user id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hermes_core.data.readers.movielens_lines import LineError, read_table, splitter

PADDING_ITEM = 0
"""The item id no real item has: it fills the left of sequences shorter than a model's window."""


@dataclass(frozen=True)
class ItemSequences:
    """Time-ordered item sequences, one per user, with dense item ids ``1..n_items``."""

    sequences: tuple[np.ndarray, ...]  # per user: (length,) int64 dense item ids, oldest first
    user_ids: np.ndarray  # (n_users,) int64 the source's id of each sequence's user
    item_ids: np.ndarray  # (n_items + 1,) int64 the source's id of dense item i; [0] is the padding id 0
    source: str  # what was read: a path, with the filter applied

    def __post_init__(self) -> None:
        if len(self.sequences) != len(self.user_ids):
            raise ValueError(f"{self.source}: {len(self.sequences)} sequences but {len(self.user_ids)} user ids")
        for row, sequence in enumerate(self.sequences):
            if sequence.size and (sequence.min() < 1 or sequence.max() > self.n_items):
                raise ValueError(f"{self.source}: sequence {row} holds an item id outside 1..{self.n_items}")

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def n_interactions(self) -> int:
        return int(sum(len(sequence) for sequence in self.sequences))

    @property
    def lengths(self) -> np.ndarray:
        """(n_users,) number of interactions of each user."""
        return np.array([len(sequence) for sequence in self.sequences], dtype=np.int64)


def sequences_from_interactions(
    users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, min_count: int = 0, source: str = "interactions"
) -> ItemSequences:
    """Group ``(user, item, timestamp)`` rows into per-user sequences sorted by timestamp.

    Rows are sorted by user, then timestamp, then their position in the input (ties in
    timestamp keep the input's order). With ``min_count > 0``, every row whose user or item has
    fewer than ``min_count`` rows in the whole input is dropped first (one pass, as in the
    paper's preprocessing). Item ids are renumbered ``1..n_items`` in increasing source id.
    """
    users, items, timestamps = (np.asarray(column) for column in (users, items, timestamps))
    if not (users.shape == items.shape == timestamps.shape) or users.ndim != 1:
        raise ValueError(f"{source}: users, items and timestamps must be 1-d arrays of one length, "
                         f"got shapes {users.shape}, {items.shape}, {timestamps.shape}")
    if min_count < 0:
        raise ValueError(f"min_count must be >= 0, got {min_count}")
    if min_count > 0:
        keep = _count_of_each(users) >= min_count
        keep &= _count_of_each(items) >= min_count
        users, items, timestamps = users[keep], items[keep], timestamps[keep]
    item_ids, dense_items = np.unique(items, return_inverse=True)
    order = np.lexsort((np.arange(len(users)), timestamps, users))  # last key sorts first
    users_sorted, dense_sorted = users[order], dense_items[order].astype(np.int64) + 1
    user_ids, starts = np.unique(users_sorted, return_index=True)
    sequences = tuple(np.split(dense_sorted, starts[1:])) if len(users_sorted) else ()
    label = f"{source} (users and items with >= {min_count} interactions)" if min_count > 0 else source
    return ItemSequences(
        sequences=sequences,
        user_ids=user_ids.astype(np.int64),
        item_ids=np.concatenate([[PADDING_ITEM], item_ids]).astype(np.int64),
        source=label,
    )


def _count_of_each(values: np.ndarray) -> np.ndarray:
    """(n,) how often each row's value occurs in ``values``."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return counts[inverse]


def read_sasrec_sequences(path: str | Path) -> ItemSequences:
    """Read a file of the SASRec format: ``user item`` per line (integers >= 1), in time order.

    A user's lines need not be contiguous: their order in the file is the user's time order.
    Ids are kept (``n_items`` is the largest item id, as in the reference's ``data_partition``);
    users are listed in increasing id. Blank lines are skipped. Raises ``FileNotFoundError`` for
    a missing file and ``ValueError`` naming ``<path>:<line>`` for a line that is not two
    integers >= 1, and for a file with no interaction.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SASRec sequence file {path} does not exist")
    by_user: dict[int, list[int]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(f"{path}:{number}: expected 'user item' (2 fields), "
                                 f"found {len(fields)}: {line.rstrip()!r}")
            user, item = (_positive_id(text, what, path, number) for text, what in zip(fields, ("user id", "item id")))
            by_user.setdefault(user, []).append(item)
    if not by_user:
        raise ValueError(f"{path}: no 'user item' line")
    user_ids = np.array(sorted(by_user), dtype=np.int64)
    sequences = tuple(np.array(by_user[int(user)], dtype=np.int64) for user in user_ids)
    n_items = max(int(sequence.max()) for sequence in sequences)
    return ItemSequences(sequences, user_ids, np.arange(n_items + 1, dtype=np.int64), str(path))


def _positive_id(text: str, what: str, path: Path, number: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{path}:{number}: {what} {text!r} is not an integer >= 1")
    return int(text)


def read_movielens_1m(path: str | Path, min_count: int = 5) -> ItemSequences:
    """MovieLens 1M ``ratings.dat`` (``path``: the file or its folder) as time-ordered sequences.

    ``min_count=5`` is the paper's filter (its Table II: 6,040 users, 3,416 items);
    ``min_count=0`` keeps every rating. See the module docstring for ordering and ids.
    """
    return _read_movielens_ratings(_ratings_file(path, "ratings.dat"), splitter("::"), min_count)


def read_movielens_100k(path: str | Path, min_count: int = 5) -> ItemSequences:
    """MovieLens 100K ``u.data`` (``path``: the file or its folder) as time-ordered sequences.

    The same conversion as :func:`read_movielens_1m` (the paper does not use 100K; ``min_count=5``
    applies its filter, which drops items rated fewer than 5 times; every 100K user has >= 20).
    """
    return _read_movielens_ratings(_ratings_file(path, "u.data"), splitter("\t"), min_count)


def _ratings_file(path: str | Path, name: str) -> Path:
    path = Path(path)
    file = path / name if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"MovieLens ratings file {file} does not exist (expected {name} or its folder)")
    return file


def _read_movielens_ratings(file: Path, split: Callable[[str], list[str]], min_count: int) -> ItemSequences:
    table = read_table("interactions", file, "latin-1", split, 4, _rating_fields)
    if table.parse_failures:
        first = table.parse_failures[0]
        raise ValueError(
            f"{file.parent / first.source}: {first.reason}: {first.raw!r} "
            f"({len(table.parse_failures)} bad line(s) in all)"
        )
    columns = {key: np.array([record[key] for record in table.records], dtype=np.int64)
               for key in ("user", "item", "timestamp")}
    return sequences_from_interactions(columns["user"], columns["item"], columns["timestamp"], min_count, str(file))


def _rating_fields(fields: list[str]) -> dict[str, int]:
    values = {}
    for key, text in zip(("user", "item", "timestamp"), (fields[0], fields[1], fields[3])):
        text = text.strip()
        if not (text.isascii() and text.isdigit()):
            raise LineError(f"{key} {text!r} is not a non-negative integer")
        values[key] = int(text)
    return values
