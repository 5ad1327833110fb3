r"""Learning-to-rank sets in the LETOR / SVMlight ranking format (MSLR-WEB10K/30K, Yahoo, Istella).

Format (Joachims, SVMlight; Qin & Liu 2013, "Introducing LETOR 4.0 Datasets"): one document per
line,

.. code-block:: text

    <label> qid:<query> <index>:<value> <index>:<value> ... # <comment>

- ``label``: the relevance grade. ``label_type="int"`` (default) reads graded integers (``"2"``;
  ``"2.0"`` is accepted, ``"2.5"`` is an error) into int64; ``"float"`` reads any finite number
  into float32 (e.g. click rates).
- ``qid:<query>``: an integer, right after the label. The lines of one query must be
  **contiguous**: a query that reappears after another query is an error naming the line (the
  listwise losses and :meth:`RankingDataset.lists` rely on it). Query ids are kept as given (int64),
  never renumbered.
- ``<index>:<value>``: sparse features, **1-based** indices in any order; an index given twice on a
  line is an error. A feature absent from a line is 0 (``missing="zero"``, the SVMlight meaning,
  as scikit-learn's ``load_svmlight_file``) or NaN (``missing="nan"``, for models that tell
  "absent" from "zero", as XGBoost and LightGBM do). Values must be finite and fit float32.
- ``#`` starts a comment to the end of the line; blank and comment-only lines are skipped.
- Instead of ``qid:`` tokens, a **group file** (the SVMlight/XGBoost/LightGBM ``.group`` /
  ``.query`` convention) may give one integer per line, the number of consecutive rows of each
  query; the data lines must then carry no ``qid:`` and queries are numbered ``0, 1, ...`` in
  file order.

The feature count :math:`d` is ``n_features`` when given (an index above it is an error) and
otherwise the largest index in the file: pass ``n_features`` (136 for MSLR, 700 for Yahoo, 220
for Istella) so that the train, validation and test folds agree on :math:`d`.

Memory: the file is read line by line; parsed lines are kept in compact buffers of
``_CHUNK_ROWS`` rows that are turned into dense float32 blocks as they fill, so the parse holds
the output plus one chunk. The blocks are copied into the final ``(n, d)`` matrix at the end,
so the peak is about twice the feature matrix (:math:`8nd` bytes). Parsing is pure Python, about
two million ``index:value`` tokens per second on one core: an MSLR-WEB30K training fold (about
2.3 million rows of 136 features) takes a few minutes.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

__all__ = ["LetorFormatError", "QueryList", "RankingDataset", "read_letor"]

MissingFeature = Literal["zero", "nan"]
LabelType = Literal["int", "float"]

PADDED_LABEL = -1
"""The label of padding entries in :meth:`RankingDataset.padded` (allRank's ``PADDED_Y_VALUE``);
the mask, not this value, says which entries are real."""

_CHUNK_ROWS = 4096
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class LetorFormatError(ValueError):
    """A LETOR / SVMlight file (or its group file) breaks the format; the message starts with
    ``<path>:<line>:`` and names the field at fault."""


class QueryList(NamedTuple):
    """One query's documents: views into the dataset's arrays, in file order."""

    query_id: int
    features: np.ndarray  # (n_docs, d) float32
    labels: np.ndarray  # (n_docs,)


@dataclass(frozen=True, eq=False)
class RankingDataset:
    """Documents grouped into queries, as read from a LETOR / SVMlight file.

    Query :math:`q` holds rows ``group_offsets[q]:group_offsets[q + 1]`` (CSR-style offsets, so
    ``group_offsets[0] = 0`` and ``group_offsets[-1] = n``); every query has at least one row.
    The arrays are made read-only.
    """

    features: np.ndarray  # (n, d) float32
    labels: np.ndarray  # (n,) int64 grades, or float32 with label_type="float"
    query_ids: np.ndarray  # (n,) int64 as given in the file (group index with a group file)
    group_offsets: np.ndarray  # (n_queries + 1,) int64
    feature_count: int  # d
    source: str  # the path read (and its group file)

    def __post_init__(self) -> None:
        n = self.labels.shape[0]
        if self.features.shape != (n, self.feature_count):
            raise ValueError(
                f"{self.source}: features have shape {self.features.shape}, "
                f"expected ({n}, {self.feature_count})"
            )
        if self.query_ids.shape != (n,):
            raise ValueError(f"{self.source}: {self.query_ids.shape[0]} query ids for {n} rows")
        offsets = self.group_offsets
        if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != n:
            raise ValueError(f"{self.source}: group_offsets must run from 0 to {n}")
        if (np.diff(offsets) < 1).any():
            raise ValueError(f"{self.source}: group_offsets must be strictly increasing (no empty query)")
        for array_ in (self.features, self.labels, self.query_ids, self.group_offsets):
            array_.setflags(write=False)

    @property
    def n_queries(self) -> int:
        return len(self.group_offsets) - 1

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def list_lengths(self) -> np.ndarray:
        """(n_queries,) number of documents of each query."""
        return np.diff(self.group_offsets)

    def lists(self) -> Iterator[QueryList]:
        """Each query's documents in file order, as views (no copy)."""
        for q in range(self.n_queries):
            start, stop = int(self.group_offsets[q]), int(self.group_offsets[q + 1])
            yield QueryList(int(self.query_ids[start]), self.features[start:stop], self.labels[start:stop])

    def padded(self, max_len: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Queries as padded lists for the listwise losses ``(scores, labels, mask)``.

        Returns ``features`` (Q, L, d) float32, ``labels`` (Q, L) and ``mask`` (Q, L) bool,
        ``True`` on real documents, with :math:`L` = ``max_len`` or, when ``None``, the longest
        list. Padding holds features 0 and labels :data:`PADDED_LABEL`; a list longer than
        ``max_len`` keeps its first ``max_len`` documents in file order (truncation, not
        sampling: shuffle beforehand if the file order is meaningful).
        """
        lengths = self.list_lengths
        if max_len is None:
            max_len = int(lengths.max())
        elif max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
        kept = np.minimum(lengths, max_len)  # (Q,)
        mask = np.arange(max_len)[None, :] < kept[:, None]  # (Q, L)
        query_of_slot, position = np.nonzero(mask)
        rows = self.group_offsets[:-1][query_of_slot] + position  # source row of each real slot
        features = np.zeros((self.n_queries, max_len, self.feature_count), dtype=np.float32)
        labels = np.full((self.n_queries, max_len), PADDED_LABEL, dtype=self.labels.dtype)
        features[mask] = self.features[rows]
        labels[mask] = self.labels[rows]
        return features, labels, mask


def read_letor(
    path: str | Path,
    group_file: str | Path | None = None,
    n_features: int | None = None,
    missing: MissingFeature = "zero",
    label_type: LabelType = "int",
) -> RankingDataset:
    """Read a LETOR / SVMlight ranking file (see the module docstring for the format).

    Parameters
    ----------
    path
        The data file (``train.txt`` of an MSLR fold, ``set1.train.txt`` of Yahoo, ...).
    group_file
        Optional ``.group`` / ``.query`` file giving each query's row count; then the data lines
        must carry no ``qid:``. Without it every data line needs ``qid:``.
    n_features
        The feature count :math:`d`; ``None`` takes the largest index found.
    missing
        What an absent feature is: ``"zero"`` (SVMlight) or ``"nan"``.
    label_type
        ``"int"`` for graded integer labels (int64) or ``"float"`` (float32).

    Raises
    ------
    FileNotFoundError
        When ``path`` or ``group_file`` does not exist.
    LetorFormatError
        Naming file, line and field: a bad label, qid or feature token, a duplicate or
        out-of-range index, a non-contiguous query, a group file that disagrees with the data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LETOR file {path} does not exist")
    if missing not in ("zero", "nan"):
        raise ValueError(f"missing must be 'zero' or 'nan', got {missing!r}")
    if label_type not in ("int", "float"):
        raise ValueError(f"label_type must be 'int' or 'float', got {label_type!r}")
    if n_features is not None and n_features < 1:
        raise ValueError(f"n_features must be at least 1, got {n_features}")
    group_sizes = _read_group_file(Path(group_file)) if group_file is not None else None
    parser = _Parser(path, n_features, np.nan if missing == "nan" else 0.0, label_type, group_sizes)
    with path.open("r", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            parser.parse_line(number, line)
    source = str(path) if group_file is None else f"{path} (groups: {group_file})"
    return parser.finish(source)


def _read_group_file(path: Path) -> list[tuple[int, int]]:
    """``(row count, line number)`` of each query in a ``.group`` / ``.query`` file."""
    if not path.is_file():
        raise FileNotFoundError(f"LETOR group file {path} does not exist")
    sizes: list[tuple[int, int]] = []
    with path.open("r", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                size = int(text)
            except ValueError:
                size = 0
            if size < 1:
                raise LetorFormatError(f"{path}:{number}: group size {text!r} is not an integer >= 1")
            sizes.append((size, number))
    if not sizes:
        raise LetorFormatError(f"{path}: no group size")
    return sizes


class _Parser:
    """Line-by-line state: compact buffers of the current chunk, finished dense blocks, queries."""

    def __init__(
        self,
        path: Path,
        n_features: int | None,
        fill: float,
        label_type: LabelType,
        group_sizes: list[tuple[int, int]] | None,
    ) -> None:
        self.path = path
        self.n_features = n_features
        self.fill = fill
        self.label_type = label_type
        self.group_sizes = group_sizes
        self.labels: array = array("q" if label_type == "int" else "f")
        self.query_ids: array = array("q")
        self.offsets: list[int] = [0]
        self.first_line_of_query: dict[int, int] = {}
        self.blocks: list[np.ndarray] = []
        self.max_index = 0
        self.uses_qid: bool | None = None  # fixed by the first data line
        self._reset_chunk()

    def _reset_chunk(self) -> None:
        self.chunk_row_starts: array = array("q", [0])
        self.chunk_indices: array = array("q")
        self.chunk_values: array = array("d")

    def error(self, number: int, message: str) -> LetorFormatError:
        return LetorFormatError(f"{self.path}:{number}: {message}")

    def parse_line(self, number: int, line: str) -> None:
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            return
        self.labels.append(self._label(number, tokens[0]))
        has_qid = len(tokens) > 1 and tokens[1].startswith("qid:")
        if self.uses_qid is None:
            self.uses_qid = has_qid
            if has_qid and self.group_sizes is not None:
                raise self.error(number, "the line has a qid: token but a group file was given; use one or the other")
            if not has_qid and self.group_sizes is None:
                raise self.error(number, "no qid: token after the label, and no group file was given")
        elif has_qid != self.uses_qid:
            raise self.error(number, "qid: token present on some data lines and absent on others")
        self._assign_query(number, tokens[1] if has_qid else None)
        self._features(number, tokens[2 if has_qid else 1 :])
        if len(self.chunk_row_starts) > _CHUNK_ROWS:
            self._flush_chunk()

    def _label(self, number: int, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise self.error(number, f"label {text!r} is not a number") from None
        if not math.isfinite(value):
            raise self.error(number, f"label {text!r} is not finite")
        if self.label_type == "int":
            if not value.is_integer():
                raise self.error(number, f"label {text!r} is not an integer (pass label_type='float')")
            return int(value)
        return value

    def _assign_query(self, number: int, token: str | None) -> None:
        row = len(self.labels) - 1
        if token is None:
            self._assign_group(number, row)
            return
        text = token[4:]
        try:
            query = int(text)
        except ValueError:
            raise self.error(number, f"qid {text!r} is not an integer") from None
        if row > 0 and query != self.query_ids[-1]:
            first = self.first_line_of_query.get(query)
            if first is not None:
                raise self.error(
                    number,
                    f"qid {query} reappears after qid {self.query_ids[-1]} (first seen at line {first}); "
                    "the lines of a query must be contiguous",
                )
            self.offsets.append(row)
        self.first_line_of_query.setdefault(query, number)
        self.query_ids.append(query)

    def _assign_group(self, number: int, row: int) -> None:
        assert self.group_sizes is not None  # checked on the first data line
        query = len(self.offsets) - 1
        if row == self.offsets[-1] + self.group_sizes[query][0]:
            query += 1
            if query == len(self.group_sizes):
                raise self.error(
                    number,
                    f"data row {row + 1} is beyond the {row} rows of the group file's {len(self.group_sizes)} queries",
                )
            self.offsets.append(row)
        self.query_ids.append(query)

    def _features(self, number: int, tokens: list[str]) -> None:
        start = len(self.chunk_indices)
        for token in tokens:
            index_text, colon, value_text = token.partition(":")
            if not colon:
                raise self.error(number, f"feature token {token!r} is not index:value")
            try:
                index = int(index_text)
            except ValueError:
                field = "qid (must follow the label)" if index_text == "qid" else f"feature index {index_text!r}"
                raise self.error(number, f"{field} is not an integer") from None
            if index < 1:
                raise self.error(number, f"feature index {index} is below 1 (indices are 1-based)")
            if self.n_features is not None and index > self.n_features:
                raise self.error(number, f"feature {index} is above n_features={self.n_features}")
            try:
                value = float(value_text)
            except ValueError:
                raise self.error(number, f"feature {index} value {value_text!r} is not a number") from None
            if not abs(value) <= _FLOAT32_MAX:  # also catches NaN
                raise self.error(number, f"feature {index} value {value_text!r} is not a finite float32")
            self.chunk_indices.append(index - 1)
            self.chunk_values.append(value)
            self.max_index = max(self.max_index, index)
        line_indices = self.chunk_indices[start:]
        if len(set(line_indices)) != len(line_indices):
            seen: set[int] = set()
            for index in line_indices:
                if index in seen:
                    raise self.error(number, f"feature {index + 1} is given twice")
                seen.add(index)
        self.chunk_row_starts.append(len(self.chunk_indices))

    def _flush_chunk(self) -> None:
        n_rows = len(self.chunk_row_starts) - 1
        if n_rows == 0:
            return
        row_starts = np.frombuffer(self.chunk_row_starts, dtype=np.int64)
        columns = np.frombuffer(self.chunk_indices, dtype=np.int64)
        width = int(columns.max()) + 1 if columns.size else 0
        block = np.full((n_rows, width), self.fill, dtype=np.float32)
        rows = np.repeat(np.arange(n_rows), np.diff(row_starts))
        block[rows, columns] = np.frombuffer(self.chunk_values, dtype=np.float64)
        self.blocks.append(block)
        self._reset_chunk()

    def finish(self, source: str) -> RankingDataset:
        self._flush_chunk()
        n = len(self.labels)
        if n == 0:
            raise LetorFormatError(f"{self.path}: no data line")
        if self.group_sizes is not None:
            expected = sum(size for size, _ in self.group_sizes)
            if expected != n:
                raise LetorFormatError(
                    f"{source}: the group file's sizes sum to {expected} rows, the data file has {n}"
                )
        self.offsets.append(n)
        d = self.n_features if self.n_features is not None else self.max_index
        features = np.full((n, d), self.fill, dtype=np.float32)
        row = 0
        self.blocks.reverse()
        while self.blocks:  # release each block as soon as it is copied
            block = self.blocks.pop()
            features[row : row + block.shape[0], : block.shape[1]] = block
            row += block.shape[0]
        return RankingDataset(
            features=features,
            labels=np.frombuffer(self.labels, dtype=np.int64 if self.label_type == "int" else np.float32).copy(),
            query_ids=np.frombuffer(self.query_ids, dtype=np.int64).copy(),
            group_offsets=np.asarray(self.offsets, dtype=np.int64),
            feature_count=d,
            source=source,
        )
