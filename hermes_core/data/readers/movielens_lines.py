"""How a MovieLens text file becomes data lines, fields and parse failures.

Every data line of a file becomes exactly one record or one
:class:`~hermes_core.data.raw.ParseFailure` with the source ``"<file name>:<1-based line>"``: a
line that does not decode, is blank, has the wrong number of fields or breaks CSV quoting is a
parse failure (:class:`LineError` carries the reason). Only a file that is unusable as a whole (a
CSV header without the expected columns) raises :class:`MovieLensFormatError`. The mapping of
fields to records is in :mod:`hermes_core.data.readers.movielens`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hermes_core.data.raw import ParseFailure, RawTable

__all__ = ["LineError", "MovieLensFormatError", "read_table", "split_csv", "splitter"]


class MovieLensFormatError(ValueError):
    """A whole file is unusable (a CSV header without the expected columns, an archive without
    the expected folder); single bad lines are never raised, they become parse failures."""


class LineError(Exception):
    """This line cannot become a record (the message is the reason); caught by
    :func:`read_table`, which turns it into a parse failure."""


def read_table(
    name: str,
    path: Path,
    encoding: str,
    split: Callable[[str], list[str]],
    n_fields: int,
    build: Callable[[list[str]], dict[str, Any]],
    header: tuple[str, ...] | None = None,
) -> RawTable:
    """One record or one parse failure per data line of ``path``.

    With ``header``, line 1 must name those columns (in any order, extra columns allowed) and
    data lines are reordered to ``header`` order before ``build`` sees them.
    """
    table = RawTable(name=name)
    lines = _decoded_lines(path, encoding, table)
    column_index: list[int] | None = None
    n_columns = n_fields
    if header is not None:
        column_index, n_columns = _read_header(path, lines, header)
    for source, text in lines:
        try:
            if not text.strip():
                raise LineError("blank line")
            fields = split(text)
            if len(fields) != n_columns:
                raise LineError(f"expected {n_columns} fields, found {len(fields)}")
            if column_index is not None:
                fields = [fields[i] for i in column_index]
            record = build(fields)
        except LineError as error:
            table.parse_failures.append(ParseFailure(source=source, raw=text, reason=str(error)))
            continue
        table.records.append(record)
        table.sources.append(source)
    return table


def _decoded_lines(path: Path, encoding: str, table: RawTable) -> Iterator[tuple[str, str]]:
    """``(source, text)`` per line; a line that does not decode becomes a parse failure.

    The file is split on ``b"\\n"`` before decoding, so one bad byte costs one line, and latin-1
    characters such as ``\\x85`` that ``str.splitlines`` would treat as line breaks stay inside
    their line.
    """
    chunks = path.read_bytes().split(b"\n")
    if chunks[-1] == b"":
        chunks.pop()  # the newline that ends the last line opens no new one
    for number, chunk in enumerate(chunks, start=1):
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        source = f"{path.name}:{number}"
        try:
            text = chunk.decode(encoding)
        except UnicodeDecodeError as error:
            table.parse_failures.append(
                ParseFailure(
                    source=source,
                    raw=chunk.decode(encoding, errors="backslashreplace"),
                    reason=f"not valid {encoding}: {error.reason} at byte {error.start}",
                )
            )
            continue
        yield source, text


def _read_header(
    path: Path, lines: Iterator[tuple[str, str]], expected: tuple[str, ...]
) -> tuple[list[int], int]:
    first = next(lines, None)
    if first is None or not first[0].endswith(":1"):
        raise MovieLensFormatError(
            f"{path}:1: expected a header line naming {', '.join(expected)}"
            + (" (file is empty)" if first is None else " (line 1 is not valid text)")
        )
    try:
        columns = [c.strip().lstrip("\ufeff") for c in split_csv(first[1])]
    except LineError as error:
        raise MovieLensFormatError(f"{path}:1: unreadable header: {error}") from None
    missing = [c for c in expected if c not in columns]
    if missing:
        raise MovieLensFormatError(
            f"{path}:1: header {first[1]!r} lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(expected)}"
        )
    return [columns.index(c) for c in expected], len(columns)


def splitter(separator: str) -> Callable[[str], list[str]]:
    """A function splitting a line on ``separator`` (no quoting: the ``.dat`` and 100K files)."""
    return lambda text: text.split(separator)


def split_csv(text: str) -> list[str]:
    """The fields of one CSV line (``"..."`` quoting allowed); :class:`LineError` when the
    quoting is malformed."""
    if '"' not in text:
        return text.split(",")  # the common case, ~10x faster than the csv module
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as error:
        raise LineError(f"malformed CSV quoting: {error}") from None
