"""Validated ingestion: raw records in, accepted tables and a quarantine out.

The invariant, checked at the end of every run and by the tests: for every table,
``records in = records accepted + records quarantined``. Nothing is dropped silently.

Two passes:

1. *record rules* (the pydantic models of :mod:`hermes_core.data.schema`, validated in chunks
   as a list, so a clean chunk costs one call into pydantic-core);
2. *cross-record rules*, in dependency order: duplicate ids (the first occurrence wins),
   then references to users, items and requests that were not accepted. Conversions
   (``conversion_events``) are checked against their accepted click first (unknown click,
   earlier than the click, later than the attribution window when one is given) and only then
   for duplicates, so that a malformed conversion never displaces a valid one of the same click.

Each quarantined record keeps its raw text, its source (``file:line``), a reason code per
problem and pydantic's messages.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Union

import numpy as np
import pandas as pd
from pydantic import Field, TypeAdapter, ValidationError

from hermes_core.data.raw import ParseFailure, RawTable
from hermes_core.data.schema import TABLE_MODELS, RatingScale, primary_key

TABLE_ORDER: tuple[str, ...] = ("assets", "users", "requests", "interactions", "kg_triples", "queries",
                                "conversion_clicks", "conversion_events")
# both timestamps are rounded to the microsecond, so their difference may exceed the true delay by 1 us
WINDOW_TOLERANCE = timedelta(milliseconds=1)
QUARANTINE_COLUMNS = ["table", "source", "reason", "reasons", "messages", "raw"]

_CUSTOM_MESSAGES = {
    "timestamp in the future": "future_timestamp",
    "embedding of the wrong length": "wrong_length",
    "needs": "missing_field",
    "attributes are for domain": "domain_mismatch",
    "outside the source's rating scale": "out_of_range",
}


def reason_code(error: dict[str, Any]) -> str:
    """A short category for one pydantic error (the notebook counts records by these)."""
    kind = str(error["type"])
    if kind == "value_error":
        message = str(error["msg"])
        for needle, code in _CUSTOM_MESSAGES.items():
            if needle in message:
                return code
        return "invalid_value"
    if kind == "missing":
        return "missing_field"
    if kind == "string_too_short":
        return "empty_value"
    if kind in ("literal_error", "union_tag_invalid", "enum"):
        return "unknown_value"
    if kind in ("too_short", "too_long"):
        return "wrong_length"
    if kind == "extra_forbidden":
        return "unexpected_field"
    if kind.startswith(("greater_than", "less_than")) or kind in ("finite_number",):
        return "out_of_range"
    if kind.endswith(("_parsing", "_type")) or kind in ("union_tag_not_found", "model_attributes_type"):
        return "wrong_type"
    return kind


def describe_error(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "<record>"
    return f"{location}: {error['msg']}"


@dataclass
class TableResult:
    """What ingestion made of one table."""

    name: str
    n_in: int
    accepted: list[Any] = field(default_factory=list)  # validated model instances
    accepted_sources: list[str] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_accepted(self) -> int:
        return len(self.accepted)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantine)

    def check_accounting(self) -> None:
        if self.n_in != self.n_accepted + self.n_quarantined:
            raise AssertionError(
                f"table '{self.name}': {self.n_in} records in but {self.n_accepted} accepted "
                f"+ {self.n_quarantined} quarantined"
            )


def _raw_text(record: Any) -> str:
    try:
        return json.dumps(record, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(record)


def _quarantine_entry(table: str, source: str, raw: Any, codes: list[str], messages: list[str]) -> dict[str, Any]:
    return {"table": table, "source": source, "reason": codes[0], "reasons": codes,
            "messages": messages, "raw": raw if isinstance(raw, str) else _raw_text(raw)}


def validate_table(raw: RawTable, context: dict[str, Any], chunk_size: int = 20_000) -> TableResult:
    """Apply the record rules of ``raw.name``'s model to every record.

    One pass through pydantic-core per chunk: each record is validated as
    ``Union[Model, Any]`` left to right, so a valid record comes back as a model and an
    invalid one comes back unchanged; only those few are validated again, alone, to collect
    pydantic's errors for the quarantine.
    """
    if raw.name not in TABLE_MODELS:
        raise KeyError(f"no schema for table '{raw.name}'; known tables: {', '.join(TABLE_MODELS)}")
    model = TABLE_MODELS[raw.name]
    adapter = TypeAdapter(list[Annotated[Union[model, Any], Field(union_mode="left_to_right")]])  # type: ignore[valid-type]
    result = TableResult(raw.name, raw.n_in)
    for failure in raw.parse_failures:
        result.quarantine.append(_quarantine_entry(raw.name, failure.source, failure.raw, ["unparseable"], [failure.reason]))
    for start in range(0, len(raw.records), chunk_size):
        chunk = raw.records[start:start + chunk_size]
        sources = raw.sources[start:start + chunk_size]
        for record, validated, source in zip(chunk, adapter.validate_python(chunk, context=context), sources):
            if isinstance(validated, model):
                result.accepted.append(validated)
                result.accepted_sources.append(source)
                continue
            try:
                result.accepted.append(model.model_validate(record, context=context))
                result.accepted_sources.append(source)
            except ValidationError as error:
                errors = error.errors(include_url=False)
                result.quarantine.append(_quarantine_entry(
                    raw.name, source, record, [reason_code(e) for e in errors], [describe_error(e) for e in errors]))
    return result


def _reject(result: TableResult, keep: np.ndarray, code: str, message_of: Any) -> None:
    """Move the accepted records where ``keep`` is False into the quarantine."""
    if keep.all():
        return
    accepted, sources = [], []
    for ok, record, source in zip(keep, result.accepted, result.accepted_sources):
        if ok:
            accepted.append(record)
            sources.append(source)
        else:
            result.quarantine.append(_quarantine_entry(
                result.name, source, record.model_dump(mode="json"), [code], [message_of(record)]))
    result.accepted, result.accepted_sources = accepted, sources


def drop_duplicate_ids(result: TableResult) -> None:
    """Keep the first record of each primary key; quarantine later ones as ``duplicate_id``."""
    key = primary_key(result.name)
    if key is None:
        return
    seen: set[str] = set()
    keep = np.ones(len(result.accepted), dtype=bool)
    for k, record in enumerate(result.accepted):
        value = getattr(record, key)
        if value in seen:
            keep[k] = False
        seen.add(value)
    _reject(result, keep, "duplicate_id", lambda r: f"{key}: '{getattr(r, key)}' already seen earlier in the table")


def drop_unknown_references(result: TableResult, field_name: str, known: set[str], code: str,
                            optional: bool = False) -> None:
    """Quarantine records whose ``field_name`` (a str or a tuple of str) names an unknown id."""
    def ok(record: Any) -> bool:
        value = getattr(record, field_name)
        if value is None:
            return optional
        if isinstance(value, tuple):
            return all(v in known for v in value)
        return value in known

    keep = np.fromiter((ok(r) for r in result.accepted), dtype=bool, count=len(result.accepted))
    _reject(result, keep, code, lambda r: f"{field_name}: {getattr(r, field_name)!r} names no accepted record")


def drop_conversions_off_their_click(events: TableResult, click_time: dict[str, datetime],
                                     window: timedelta | None) -> None:
    """Quarantine conversions earlier than their click (``before_click``) and, when ``window`` is
    given, later than ``click time + window`` (``after_window``, with :data:`WINDOW_TOLERANCE`).

    Every ``click_id`` must name an accepted click (``unknown_click`` runs first).
    """
    def message(r: Any, relation: str) -> str:
        return (f"timestamp: {r.timestamp.isoformat()} is {relation} its click's timestamp "
                f"{click_time[r.click_id].isoformat()} (click_id '{r.click_id}')")

    keep = np.fromiter((r.timestamp >= click_time[r.click_id] for r in events.accepted), dtype=bool,
                       count=len(events.accepted))
    _reject(events, keep, "before_click", lambda r: message(r, "before"))
    if window is None:
        return
    keep = np.fromiter((r.timestamp <= click_time[r.click_id] + window + WINDOW_TOLERANCE for r in events.accepted),
                       dtype=bool, count=len(events.accepted))
    _reject(events, keep, "after_window", lambda r: message(r, f"more than the attribution window ({window.total_seconds() / 86400:g} days) after"))


@dataclass
class IngestResult:
    """Accepted tables as DataFrames, the quarantine, and the counts."""

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]

    @property
    def records_in(self) -> int:
        return sum(c["in"] for c in self.counts.values())

    @property
    def records_accepted(self) -> int:
        return sum(c["accepted"] for c in self.counts.values())

    @property
    def records_quarantined(self) -> int:
        return sum(c["quarantined"] for c in self.counts.values())

    def quarantine_by_reason(self) -> dict[str, int]:
        if self.quarantine.empty:
            return {}
        return dict(sorted(Counter(self.quarantine["reason"]).items()))


def assets_frame(records: list[Any]) -> pd.DataFrame:
    """Flatten assets: the domain attributes become columns (``genre`` holds the movie or
    music genre, the product category and the news topic; the creator columns hold the
    director, artist, brand or outlet)."""
    rows = []
    for asset in records:
        attrs = asset.attributes
        rows.append({
            "asset_id": asset.asset_id, "domain": asset.domain, "title": asset.title,
            "image_uri": asset.image_uri, "text_content": asset.text_content,
            "dense_features": list(asset.dense_features), "created_at": asset.created_at,
            "creator_id": asset.creator_id, "creator_name": asset.creator_name,
            "creator_cohort": asset.creator_cohort,
            "genre": getattr(attrs, "genre", None) or getattr(attrs, "category", None) or getattr(attrs, "topic", None),
            "year": getattr(attrs, "year", None), "price": getattr(attrs, "price", None),
            "album": getattr(attrs, "album", None), "published_at": getattr(attrs, "published_at", None),
        })
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["year"] = frame["year"].astype("Int64")
        frame["price"] = frame["price"].astype("float64")
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def _frame(name: str, records: list[Any]) -> pd.DataFrame:
    if name == "assets":
        return assets_frame(records)
    model = TABLE_MODELS[name]
    if not records:
        return pd.DataFrame(columns=list(model.model_fields))
    dumped = TypeAdapter(list[model]).dump_python(records)  # type: ignore[valid-type]
    frame = pd.DataFrame(dumped, columns=list(model.model_fields))
    if name == "users":
        frame["features"] = [json.dumps(f, sort_keys=True) for f in frame["features"]]
    if name == "requests":
        frame["candidate_item_ids"] = [list(c) for c in frame["candidate_item_ids"]]
    if name == "interactions":
        frame["position"] = frame["position"].astype("Int64")
        frame["propensity"] = frame["propensity"].astype("float64")
        frame["value"] = frame["value"].astype("float64")
    return frame


def ingest(raw_tables: dict[str, RawTable], *, now: datetime | None = None, dense_dim: int | None = None,
           chunk_size: int = 20_000, rating_scale: RatingScale | None = None,
           attribution_window_days: float | None = None) -> IngestResult:
    """Validate every raw table, apply the cross-record rules and build DataFrames.

    ``now``, ``dense_dim`` and ``rating_scale`` are the validation context of
    :mod:`hermes_core.data.schema` (``None``: not checked); ``attribution_window_days`` (the
    world's ``world.conversions.attribution_window_days``): conversions later than that after
    their click are quarantined as ``after_window`` (``None``: not checked).
    """
    context = {"now": now, "dense_dim": dense_dim, "rating_scale": rating_scale}
    results: dict[str, TableResult] = {}
    for name in TABLE_ORDER:
        if name not in raw_tables:
            continue
        result = validate_table(raw_tables[name], context, chunk_size)
        if name != "conversion_events":  # deduplicated after its click rules, below
            drop_duplicate_ids(result)
        results[name] = result
    unknown = sorted(set(raw_tables) - set(TABLE_ORDER))
    if unknown:
        raise KeyError(f"unknown raw tables {unknown}; known tables: {', '.join(TABLE_ORDER)}")

    def ids(name: str, key: str) -> set[str] | None:
        return {getattr(r, key) for r in results[name].accepted} if name in results else None

    items, users = ids("assets", "asset_id"), ids("users", "user_id")
    if "requests" in results:
        if users is not None:
            drop_unknown_references(results["requests"], "user_id", users, "unknown_user")
        if items is not None:
            drop_unknown_references(results["requests"], "candidate_item_ids", items, "unknown_item")
    requests = ids("requests", "request_id")
    if "interactions" in results:
        if users is not None:
            drop_unknown_references(results["interactions"], "user_id", users, "unknown_user")
        if items is not None:
            drop_unknown_references(results["interactions"], "item_id", items, "unknown_item")
        if requests is not None:
            drop_unknown_references(results["interactions"], "request_id", requests, "unknown_request", optional=True)
    if "queries" in results and users is not None:
        drop_unknown_references(results["queries"], "user_id", users, "unknown_user", optional=True)
    if "conversion_clicks" in results:
        if users is not None:
            drop_unknown_references(results["conversion_clicks"], "user_id", users, "unknown_user")
        if items is not None:
            drop_unknown_references(results["conversion_clicks"], "item_id", items, "unknown_item")
    if "conversion_events" in results:
        events = results["conversion_events"]
        if "conversion_clicks" in results:
            click_time = {r.click_id: r.timestamp for r in results["conversion_clicks"].accepted}
            drop_unknown_references(events, "click_id", set(click_time), "unknown_click")
            window = None if attribution_window_days is None else timedelta(days=attribution_window_days)
            drop_conversions_off_their_click(events, click_time, window)
        drop_duplicate_ids(events)

    counts: dict[str, dict[str, int]] = {}
    tables: dict[str, pd.DataFrame] = {}
    quarantine_rows: list[dict[str, Any]] = []
    for name, result in results.items():
        result.check_accounting()
        counts[name] = {"in": result.n_in, "accepted": result.n_accepted, "quarantined": result.n_quarantined}
        tables[name] = _frame(name, result.accepted)
        quarantine_rows.extend(result.quarantine)
    quarantine = pd.DataFrame(quarantine_rows, columns=QUARANTINE_COLUMNS)
    if not quarantine.empty:
        quarantine["reasons"] = [json.dumps(r) for r in quarantine["reasons"]]
        quarantine["messages"] = [json.dumps(m) for m in quarantine["messages"]]
    return IngestResult(tables, quarantine, counts)


def read_jsonl(path: str | Path, table: str | None = None) -> RawTable:
    """Read a JSON Lines file; a line that is not a JSON object becomes a ParseFailure."""
    path = Path(path)
    raw = RawTable(table or path.stem)
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            source = f"{path.name}:{number}"
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raw.parse_failures.append(ParseFailure(source, line.decode("utf-8", "replace"), f"bad encoding: {error}"))
                continue
            if not text.strip():
                raw.parse_failures.append(ParseFailure(source, text, "empty line"))
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                raw.parse_failures.append(ParseFailure(source, text.rstrip("\n"), f"invalid JSON: {error}"))
                continue
            if not isinstance(record, dict):
                raw.parse_failures.append(ParseFailure(source, text.rstrip("\n"), "not a JSON object"))
                continue
            raw.records.append(record)
            raw.sources.append(source)
    return raw


def read_raw_folder(folder: str | Path, tables: tuple[str, ...] = TABLE_ORDER) -> dict[str, RawTable]:
    """Read ``<folder>/<table>.jsonl`` for each table present."""
    folder = Path(folder)
    found = {name: read_jsonl(folder / f"{name}.jsonl", name) for name in tables if (folder / f"{name}.jsonl").is_file()}
    if not found:
        raise FileNotFoundError(f"no raw tables in {folder}: expected some of {', '.join(f'{t}.jsonl' for t in tables)}")
    return found
