"""Raw records as a source hands them to ingestion, with where each one came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParseFailure:
    """A piece of input that could not even be parsed into a record (a truncated line,
    undecodable bytes): kept verbatim with its location and the reason."""

    source: str  # "path:line" or "generator:index"
    raw: str
    reason: str


@dataclass
class RawTable:
    """The raw records of one table (see ``hermes_core.data.schema.TABLE_MODELS``).

    ``records[i]`` came from ``sources[i]`` (``"path:line"`` for files); lines that could not
    be parsed into a mapping at all are listed in ``parse_failures``. Ingestion accounts for
    every one: ``len(records) + len(parse_failures)`` records in, each accepted or quarantined.
    """

    name: str
    records: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    parse_failures: list[ParseFailure] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.records) != len(self.sources):
            raise ValueError(
                f"raw table '{self.name}': {len(self.records)} records but {len(self.sources)} sources"
            )

    @property
    def n_in(self) -> int:
        return len(self.records) + len(self.parse_failures)
