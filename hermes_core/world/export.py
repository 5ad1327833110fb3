"""Writing the world's raw files: JSON Lines tables, PNG images and injected bad records.

The raw folder looks like what a platform's logs would hand a researcher:

``assets.jsonl users.jsonl requests.jsonl interactions.jsonl kg_triples.jsonl queries.jsonl
conversion_clicks.jsonl conversion_events.jsonl images/*.png``

The last two are the click-to-conversion stream of the delayed-feedback stage
(``world.conversions``): every click with its features, and every counted conversion (true
label 1) with its time, those after the logging window included (the late labels).

A share of malformed records (``malformed_share``) is mixed into every table, each kind
named in :data:`CORRUPTION_KINDS`, and the list of what was injected where is returned
(and saved with the world's truth) so that tests can check that ingestion quarantines
exactly those records. A few valid items have no image, a corrupt image file or no text,
so that the encoders' masking path runs on every build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from hermes_core.world.params import DOMAINS
from hermes_core.world.catalogue import SECONDS_PER_DAY, genre_name
from hermes_core.world.conversions import DEVICES
from hermes_core.world.export_kg import item_tags, kg_loading_records, kg_records
from hermes_core.world.images import png_bytes, render_item_image
from hermes_core.world.vocabulary import REGIONS
from hermes_core.world.world import World, creator_id, item_id, user_id

CORRUPTION_KINDS: dict[str, tuple[str, ...]] = {
    "assets": ("missing_title", "empty_title", "wrong_type", "wrong_length", "unknown_domain",
               "duplicate_id", "future_timestamp"),
    "users": ("wrong_type", "duplicate_id", "future_timestamp"),
    "requests": ("unknown_user", "wrong_type", "duplicate_id"),
    "interactions": ("unknown_user", "unknown_item", "future_timestamp", "wrong_type", "missing_field"),
    "kg_triples": ("wrong_type",),
    "queries": ("empty_text", "duplicate_id"),
    "conversion_clicks": ("unknown_user", "unknown_item", "wrong_type", "out_of_range", "unknown_device",
                          "duplicate_id", "future_timestamp", "missing_field"),
    "conversion_events": ("unknown_click", "before_click", "after_window", "future_timestamp", "wrong_type",
                          "duplicate_id"),
}
MISSING_IMAGE_SHARE = 0.02
CORRUPT_IMAGE_SHARE = 0.01
MISSING_TEXT_SHARE = 0.02


@dataclass(frozen=True)
class InjectedRecord:
    table: str
    line: int  # 1-based line in the table's file
    kind: str


def _iso(world: World, seconds: float) -> str:
    return world.to_datetime(seconds).isoformat().replace("+00:00", "Z")


def click_id(index: int) -> str:
    """The id of click ``index`` of the conversion stream (time order), like ``w:req:0000042``."""
    return f"w:click:{index:07d}"


def asset_records(world: World, image_uris: list[str | None], texts: list[str | None]) -> list[dict[str, Any]]:
    cat, creators = world.catalogue, world.creators
    tags = item_tags(world)
    records = []
    for i in range(world.n_items):
        dname = DOMAINS[int(cat.domain[i])]
        genre = genre_name(int(cat.domain[i]), int(cat.genre[i]))
        creator = int(cat.creator[i])
        created = _iso(world, float(cat.created_at[i]))
        attributes: dict[str, Any] = {"domain": dname}
        if dname == "movie":
            attributes.update(genre=genre, year=int(cat.year[i]))
        elif dname == "music":
            attributes.update(genre=genre, artist=creators.names[creator], album=cat.albums[i])
        elif dname == "product":
            attributes.update(brand=creators.names[creator], category=genre, price=float(cat.price[i]))
        else:
            attributes.update(topic=genre, outlet=creators.names[creator], published_at=created)
        records.append({
            "asset_id": item_id(i),
            "domain": dname,
            "title": cat.titles[i],
            "image_uri": image_uris[i],
            "text_content": texts[i],
            "dense_features": [round(float(v), 6) for v in cat.dense_features[i]],
            "created_at": created,
            "creator_id": creator_id(creator),
            "creator_name": creators.names[creator],
            "creator_cohort": "mainstream" if creators.mainstream[creator] else "independent",
            "attributes": attributes,
            "tags": tags[i],
        })
    return records


def user_records(world: World) -> list[dict[str, Any]]:
    users = world.users
    return [
        {
            "user_id": user_id(u),
            "created_at": _iso(world, -float(users.signup_offset[u])),
            "segment": REGIONS[int(users.region[u])],
            # region (the segment) shifts domain tastes and age shifts styles; newsletter is a placebo
            "features": {"age": float(users.age[u]), "newsletter": float(users.newsletter[u])},
        }
        for u in range(world.n_users)
    ]


def request_records(world: World) -> list[dict[str, Any]]:
    logs = world.logs
    return [
        {
            "request_id": f"w:req:{r:07d}",
            "user_id": user_id(int(logs.user[r])),
            "session_id": f"w:session:{int(logs.session[r]):06d}",
            "timestamp": _iso(world, float(logs.timestamp[r])),
            "context_item_id": item_id(int(logs.context_item[r])) if logs.context_item[r] >= 0 else None,
            "candidate_item_ids": [item_id(int(i)) for i in logs.candidates[r]],
        }
        for r in range(len(logs.user))
    ]


def interaction_records(world: World) -> list[dict[str, Any]]:
    """Impressions, clicks and observed conversions, in time order."""
    logs, cat = world.logs, world.catalogue
    rows: list[tuple[float, int, dict[str, Any]]] = []
    n_req, k = logs.slate.shape
    shown = np.take_along_axis(logs.candidates, logs.slate, 1)
    propensity = np.take_along_axis(logs.logging_marginals, logs.slate[:, None, :], 1)[:, 0, :]
    for r in range(n_req):
        uid, rid = user_id(int(logs.user[r])), f"w:req:{r:07d}"
        for pos in range(k):
            iid = item_id(int(shown[r, pos]))
            rows.append((float(logs.timestamp[r]), 0, {
                "event_type": "impression", "request_id": rid, "user_id": uid, "item_id": iid,
                "timestamp": _iso(world, float(logs.timestamp[r])), "position": pos,
                "propensity": float(propensity[r, pos]),
            }))
            if logs.clicks[r, pos]:
                rows.append((float(logs.click_time[r, pos]), 1, {
                    "event_type": "click", "request_id": rid, "user_id": uid, "item_id": iid,
                    "timestamp": _iso(world, float(logs.click_time[r, pos])), "position": pos,
                }))
    for c in np.flatnonzero(logs.conversion_observed):
        r, pos = int(logs.conv_request[c]), int(logs.conv_position[c])
        item = int(shown[r, pos])
        value = float(cat.price[item]) if DOMAINS[int(cat.domain[item])] == "product" else 1.0
        rows.append((float(logs.conversion_time[c]), 2, {
            "event_type": "conversion", "request_id": f"w:req:{r:07d}", "user_id": user_id(int(logs.user[r])),
            "item_id": item_id(item), "timestamp": _iso(world, float(logs.conversion_time[c])), "value": value,
        }))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows]


def query_records(world: World) -> list[dict[str, Any]]:
    q = world.queries
    return [
        {"query_id": f"w:query:{k:05d}", "user_id": user_id(int(q.user[k])), "text": q.text[k],
         "timestamp": _iso(world, float(q.timestamp[k]))}
        for k in range(len(q.text))
    ]


def check_conversions_before_now(world: World) -> None:
    """Raise ``ValueError`` if a counted conversion of ``world.conversions`` could lie after ``world.end``.

    A click happens before day ``click_days`` and a counted conversion at most
    ``attribution_window_days`` after it, so every conversion lies before day
    ``click_days + attribution_window_days``; ingestion rejects any timestamp after the
    world's "now" (``log_days + cold_window_days``) as ``future_timestamp``, so a world whose
    bound exceeds it would have valid conversions quarantined.
    """
    conv, params = world.params.conversions, world.params
    horizon = (world.end - world.start).total_seconds() / SECONDS_PER_DAY
    latest = conv.click_days + conv.attribution_window_days
    if latest > horizon:
        raise ValueError(
            f"world.conversions: clicks until day {conv.click_days} (click_days) plus an attribution window of "
            f"{conv.attribution_window_days:g} days (attribution_window_days) reach day {latest:g}, after the "
            f"world's now, day {horizon:g} (log_days {params.log_days} + cold_window_days "
            f"{params.cold_window_days}): ingestion would reject those conversions as future timestamps; lower "
            "world.conversions.click_days or world.conversions.attribution_window_days (or lengthen the world)")


def conversion_click_records(world: World) -> list[dict[str, Any]]:
    """One record per click of ``world.conversions``, in time order: ids, time, hour and device.

    Nothing of the truth (conversion probability, label, delay) is exported with a click.
    """
    stream = world.conversions
    return [
        {"click_id": click_id(k), "user_id": user_id(int(stream.user[k])), "item_id": item_id(int(stream.item[k])),
         "timestamp": _iso(world, float(stream.click_time_days[k]) * SECONDS_PER_DAY),
         "hour": int(stream.hour[k]), "device": DEVICES[int(stream.device[k])]}
        for k in range(stream.n_clicks)
    ]


def conversion_event_records(world: World) -> list[dict[str, Any]]:
    """One record per counted conversion (true label 1) of ``world.conversions``, in time order.

    Conversions after the logging window and after the stream's cut-off are kept: which are
    observable at a given time is for the delayed-feedback stage to decide.
    """
    stream = world.conversions
    converting = np.flatnonzero(stream.true_label)
    times = stream.conversion_time_days[converting]
    order = np.lexsort((converting, times))
    return [{"click_id": click_id(int(converting[k])), "timestamp": _iso(world, float(times[k]) * SECONDS_PER_DAY)}
            for k in order]


def _shift_iso(stamp: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(stamp) + delta).isoformat().replace("+00:00", "Z")


def _corrupt(table: str, kind: str, record: dict[str, Any], serial: int, future: str,
             click_times: dict[str, str] | None = None, window_days: float | None = None) -> dict[str, Any]:
    """A malformed variant of ``record`` of the given kind (never a valid record).

    ``click_times`` (click id -> ISO time) places a ``before_click`` conversion an hour before its
    click and an ``after_window`` one a day after the attribution window (``window_days``) closes.
    """
    bad = json.loads(json.dumps(record))
    key = {"assets": "asset_id", "users": "user_id", "requests": "request_id", "queries": "query_id",
           "conversion_clicks": "click_id"}.get(table)
    if key is not None and kind != "duplicate_id":
        bad[key] = f"{bad[key]}:bad{serial}"
    if kind == "missing_title":
        bad.pop("title")
    elif kind == "empty_title":
        bad["title"] = "   "
    elif kind == "empty_text":
        bad["text"] = ""
    elif kind == "wrong_type":
        if table == "assets":
            attrs = bad["attributes"]
            if "year" in attrs:
                attrs["year"] = "nineteen-eighty"
            elif "price" in attrs:
                attrs["price"] = "cheap"
            else:
                bad["dense_features"] = "not-a-vector"
        elif table == "users":
            bad["features"] = {"age": "old"}
        elif table == "requests":
            bad["candidate_item_ids"] = "none"
        elif table == "interactions":
            bad["position"] = "top"
        elif table == "conversion_clicks":
            bad["hour"] = "evening"
        elif table == "conversion_events":
            bad["timestamp"] = "last tuesday"
        else:
            bad["relation"] = 42
    elif kind == "wrong_length":
        bad["dense_features"] = bad["dense_features"][:-3]
    elif kind == "unknown_domain":
        bad["domain"] = "podcast"
    elif kind == "future_timestamp":
        field = "created_at" if table in ("assets", "users") else "timestamp"
        bad[field] = future
    elif kind == "unknown_user":
        bad["user_id"] = f"w:user:ghost{serial}"
    elif kind == "unknown_item":
        bad["item_id"] = f"w:item:ghost{serial}"
    elif kind == "missing_field":
        bad.pop("propensity", None)
        bad.pop("position", None)
        bad.pop("device", None)
    elif kind == "out_of_range":
        bad["hour"] = 24
    elif kind == "unknown_device":
        bad["device"] = "smartwatch"
    elif kind == "unknown_click":
        bad["click_id"] = f"w:click:ghost{serial}"
    elif kind == "before_click":
        if click_times is None:
            raise ValueError("a before_click conversion needs the clicks' times")
        bad["timestamp"] = _shift_iso(click_times[bad["click_id"]], timedelta(hours=-1))
    elif kind == "after_window":
        if click_times is None or window_days is None:
            raise ValueError("an after_window conversion needs the clicks' times and the attribution window")
        bad["timestamp"] = _shift_iso(click_times[bad["click_id"]], timedelta(days=window_days + 1.0))
    return bad


def inject_malformed(table: str, records: list[dict[str, Any]], share: float, future: str,
                     rng: np.random.Generator, click_times: dict[str, str] | None = None,
                     window_days: float | None = None) -> tuple[list[dict[str, Any]], list[InjectedRecord]]:
    """Mix ``round(share * n)`` malformed records into ``records`` (kinds cycled evenly).

    A ``duplicate_id`` copy is always placed after its original, so that ingestion's
    keep-the-first rule quarantines the copy, not the original. ``click_times`` and
    ``window_days``: see :func:`_corrupt`.
    """
    n_bad = int(round(share * len(records)))
    if n_bad == 0 or not records:
        return records, []
    if table == "interactions":
        sources = [r for r in records if r["event_type"] == "impression"]
    else:
        sources = records
    kinds = CORRUPTION_KINDS[table]
    inserts: list[tuple[int, dict[str, Any], str]] = []
    for serial in range(n_bad):
        kind = kinds[serial % len(kinds)]
        position = int(rng.integers(1, len(records) + 1))  # insert before records[position]
        if table == "interactions":
            original = sources[int(rng.integers(len(sources)))]
        else:
            original = records[int(rng.integers(position))]
        inserts.append((position, _corrupt(table, kind, original, serial, future, click_times, window_days), kind))
    inserts.sort(key=lambda item: item[0])
    merged: list[dict[str, Any]] = []
    injected: list[InjectedRecord] = []
    cursor = 0
    for position, bad, kind in inserts:
        merged.extend(records[cursor:position])
        cursor = position
        merged.append(bad)
        injected.append(InjectedRecord(table, len(merged), kind))
    merged.extend(records[cursor:])
    return merged, injected


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
            handle.write("\n")


def write_raw(world: World, folder: str | Path) -> list[InjectedRecord]:
    """Write the world's raw tables and images to ``folder``; return what was injected.

    Raises ``ValueError`` (:func:`check_conversions_before_now`) before writing anything if a
    counted conversion could lie after the world's now.
    """
    from hermes_core.world.world import seed_streams

    check_conversions_before_now(world)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rngs = seed_streams(world.params.seed)
    image_rng, corruption_rng = rngs["images"], rngs["corruption"]
    image_uris: list[str | None] = []
    texts: list[str | None] = []
    for i in range(world.n_items):
        roll = image_rng.random(2)
        text = None if roll[1] < MISSING_TEXT_SHARE else world.catalogue.descriptions[i]
        texts.append(text)
        if roll[0] < MISSING_IMAGE_SHARE:
            image_uris.append(None)
            continue
        name = f"images/{item_id(i).replace(':', '_')}.png"
        image = render_item_image(world.catalogue.visual_latent[i], world.params.image_size, image_rng)
        payload = png_bytes(image)
        if roll[0] < MISSING_IMAGE_SHARE + CORRUPT_IMAGE_SHARE:
            payload = payload[: len(payload) // 3]  # a truncated file no decoder can read
        (folder / name).write_bytes(payload)
        image_uris.append(name)

    future = (world.end + timedelta(days=365)).isoformat().replace("+00:00", "Z")
    tables = {
        "assets": asset_records(world, image_uris, texts),
        "users": user_records(world),
        "requests": request_records(world),
        "interactions": interaction_records(world),
        "kg_triples": kg_records(world),
        "queries": query_records(world),
        # appended last: the corruption stream's draws for the tables above stay as they were
        "conversion_clicks": conversion_click_records(world),
        "conversion_events": conversion_event_records(world),
    }
    click_times = {r["click_id"]: r["timestamp"] for r in tables["conversion_clicks"]}
    injected: list[InjectedRecord] = []
    for name, records in tables.items():
        events = name == "conversion_events"
        merged, table_injected = inject_malformed(
            name, records, world.params.malformed_share, future, corruption_rng, click_times if events else None,
            world.params.conversions.attribution_window_days if events else None)
        if name == "kg_triples":
            # appended after the injection, so that the corruption stream's draws stay as they were
            merged = merged + kg_loading_records(world)
        write_jsonl(folder / f"{name}.jsonl", merged)
        injected.extend(table_injected)
    return injected
