"""MovieLens 100K, 1M and latest(-small) as raw records for the universal schema.

The adapter only *maps* files to raw dictionaries; :mod:`hermes_core.data.schema` validates them and
:mod:`hermes_core.ingest.validate` checks cross-record rules. Malformed input is never fatal: every data
line becomes exactly one raw record or one :class:`~hermes_core.data.raw.ParseFailure`, with the
source ``"<file name>:<1-based line>"``. A line that cannot be split into the expected fields,
cannot be decoded, or carries a non-integer id is a ``ParseFailure``; a line whose fields are
there but whose values are wrong (a rating ``"five"``, a title without a year, a bad
timestamp) becomes a record that keeps the bad value, so that pydantic names the field at fault.

File formats (GroupLens READMEs):

- 100K: ``u.data`` tab-separated ``user item rating timestamp``; ``u.item``
  ``id|title|release date|video release date|IMDb URL|`` + 19 genre flags (latin-1);
  ``u.user`` ``id|age|gender|occupation|zip``.
- 1M: ``ratings.dat`` ``UserID::MovieID::Rating::Timestamp``, ``movies.dat``
  ``MovieID::Title::Genres`` (``|``-separated), ``users.dat``
  ``UserID::Gender::Age::Occupation::Zip-code`` (latin-1; age and occupation are codes).
- latest: ``ratings.csv`` ``userId,movieId,rating,timestamp`` and ``movies.csv``
  ``movieId,title,genres`` with a header, UTF-8, titles quoted when they hold commas.
  There is no user file: users are derived from the ratings.

This module maps fields to records; :mod:`~hermes_core.data.readers.movielens_lines` turns a file
into lines and fields, :mod:`~hermes_core.data.readers.movielens_variants` holds what each
variant's README says (files, genres, rating scale, when it was taken) and
:mod:`~hermes_core.data.readers.movielens_download` fetches the official archives (their names
are re-exported here: ``download_movielens``, ``GENRES_100K``, ``RATING_SCALES`` ...).
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hermes_core.data.raw import RawTable
from hermes_core.data.readers.movielens_download import (  # noqa: F401  (re-exported)
    DOWNLOAD_URLS,
    ChecksumMismatchError,
    download_movielens,
)
from hermes_core.data.readers.movielens_lines import (  # noqa: F401  (error re-exported)
    LineError,
    MovieLensFormatError,
    read_table,
    split_csv,
    splitter,
)
from hermes_core.data.readers.movielens_variants import (  # noqa: F401  (re-exported)
    GENRES,
    GENRES_1M,
    GENRES_100K,
    GENRES_LATEST,
    OCCUPATIONS_1M,
    RATING_SCALES,
    REQUIRED_FILES,
    SNAPSHOT_TIMES,
    VARIANTS,
    Variant,
    snapshot_time,
)


CREATOR_ID = "ml:creator:unknown"
CREATOR_NAME = "unknown"  # MovieLens names no director or studio

_ENCODING = {"100k": "latin-1", "1m": "latin-1", "latest": "utf-8"}
_TITLE_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


@dataclass
class MovieLensRaw:
    """Raw MovieLens tables, ready for ``hermes_core.data.schema`` validation.

    ``dense_dim`` (= ``len(genres)``) is the length of every asset's ``dense_features`` (the
    genre multi-hot vector in ``genres`` order), ``rating_scale`` the ratings the variant allows
    and ``now`` when it was taken (:func:`snapshot_time`): pass the three as the validation
    context of :mod:`hermes_core.data.schema`.
    """

    assets: RawTable
    users: RawTable
    interactions: RawTable
    variant: str
    genres: list[str]
    dense_dim: int
    root: Path
    rating_scale: RatingScale
    now: datetime

    @property
    def tables(self) -> dict[str, RawTable]:
        """The three tables by schema table name (``hermes_core.data.schema.TABLE_MODELS``)."""
        return {"assets": self.assets, "users": self.users, "interactions": self.interactions}


# --------------------------------------------------------------------------- loading


def detect_variant(root: str | Path) -> Variant:
    """The MovieLens variant whose files are in ``root`` (any one of its required files counts).

    Raises ``FileNotFoundError`` when none is there and ``ValueError`` when files of several
    variants are mixed in one folder.
    """
    root = Path(root)
    found = [v for v, files in REQUIRED_FILES.items() if any((root / f).is_file() for f in files)]
    if not found:
        raise FileNotFoundError(f"no MovieLens files in {root}: expected {_expected_files_text()}")
    if len(found) > 1:
        raise ValueError(
            f"{root} holds files of several MovieLens variants ({', '.join(found)}): "
            "pass variant= to choose one"
        )
    return found[0]  # type: ignore[return-value]


def load_movielens(path: str | Path, variant: Variant | None = None) -> MovieLensRaw:
    """Read a MovieLens folder into raw ``assets``, ``users`` and ``interactions`` tables.

    Ids: ``"ml-<variant>:item:<id>"`` and ``"ml-<variant>:user:<id>"`` (ids are read as
    integers, so ``"007"`` and ``"7"`` are the same item). Assets: the title without its
    trailing ``"(year)"``; the year from the title (100K: else from the release date);
    ``created_at`` the release date when known (100K), else 1 January of the year, UTC;
    ``dense_features`` the genre multi-hot vector in ``GENRES[variant]`` order. Users: 100K and
    1M demographics (``segment`` = occupation, ``features`` = ``age`` and ``is_female``; 1M's age
    is its age-group code: 1 = under 18, 18 = 18-24, ..., 56 = 56+); latest: one user per
    distinct rating user, sourced at their first rating line. Interactions: ``rating`` events
    with ``value`` the rating and ``timestamp`` the unix time as an ISO-8601 UTC string.

    Raises ``FileNotFoundError`` naming the folder and the files expected when the folder or a
    required file is missing, and :class:`MovieLensFormatError` when a CSV header lacks the
    expected columns. Genres outside the variant's vocabulary are kept in ``attributes`` and
    ``text_content`` but have no slot in ``dense_features``; a ``UserWarning`` lists them.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(
            f"MovieLens folder {root} does not exist: "
            f"expected a folder with {_expected_files_text()}"
        )
    if not root.is_dir():
        raise NotADirectoryError(f"MovieLens path {root} is not a folder")
    if variant is None:
        variant = detect_variant(root)
    elif variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} or None, got {variant!r}")
    required = REQUIRED_FILES[variant]
    missing = [name for name in required if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"MovieLens {variant} folder {root} lacks {', '.join(missing)} "
            f"(expected files: {', '.join(required)})"
        )
    loader = {"100k": _load_100k, "1m": _load_1m, "latest": _load_latest}[variant]
    assets, users, interactions = loader(root)
    genres = list(GENRES[variant])
    return MovieLensRaw(
        assets=assets,
        users=users,
        interactions=interactions,
        variant=variant,
        genres=genres,
        dense_dim=len(genres),
        root=root,
        rating_scale=RATING_SCALES[variant],
        now=snapshot_time(root, variant),
    )


def _expected_files_text() -> str:
    return "; or ".join(f"{', '.join(files)} ({v})" for v, files in REQUIRED_FILES.items())


def _load_100k(root: Path) -> tuple[RawTable, RawTable, RawTable]:
    prefix = "ml-100k"
    enc = _ENCODING["100k"]
    pipe = splitter("|")

    def asset(fields: list[str]) -> dict[str, Any]:
        item_id = _integer_id(fields[0], "item id")
        dense: list[float | str] = []
        present: list[str] = []
        for genre, flag in zip(GENRES_100K, fields[5:]):
            flag = flag.strip()
            if flag == "1":
                dense.append(1.0)
                present.append(genre)
            elif flag == "0":
                dense.append(0.0)
            else:
                dense.append(flag)  # kept so that validation names dense_features
        created_at, release_year = _release_date(fields[2])
        return _movie(prefix, item_id, fields[1], present, dense, release_year, created_at)

    def user(fields: list[str]) -> dict[str, Any]:
        return {
            "user_id": f"{prefix}:user:{_integer_id(fields[0], 'user id')}",
            "segment": fields[3].strip() or None,
            "features": {"age": _number(fields[1]), "is_female": _is_female(fields[2])},
        }

    assets = read_table("assets", root / "u.item", enc, pipe, 5 + len(GENRES_100K), asset)
    users = read_table("users", root / "u.user", enc, pipe, 5, user)
    interactions = read_table(
        "interactions", root / "u.data", enc, splitter("\t"), 4, _rating_builder(prefix)
    )
    return assets, users, interactions


def _load_1m(root: Path) -> tuple[RawTable, RawTable, RawTable]:
    prefix = "ml-1m"
    enc = _ENCODING["1m"]
    colons = splitter("::")
    unknown: Counter[str] = Counter()

    def asset(fields: list[str]) -> dict[str, Any]:
        item_id = _integer_id(fields[0], "movie id")
        present, dense = _genre_list(fields[2], GENRES_1M, unknown)
        return _movie(prefix, item_id, fields[1], present, dense)

    def user(fields: list[str]) -> dict[str, Any]:
        occupation = fields[3].strip()
        return {
            "user_id": f"{prefix}:user:{_integer_id(fields[0], 'user id')}",
            "segment": OCCUPATIONS_1M.get(occupation, occupation or None),
            "features": {"age": _number(fields[2]), "is_female": _is_female(fields[1])},
        }

    assets = read_table("assets", root / "movies.dat", enc, colons, 3, asset)
    users = read_table("users", root / "users.dat", enc, colons, 5, user)
    interactions = read_table(
        "interactions", root / "ratings.dat", enc, colons, 4, _rating_builder(prefix)
    )
    _warn_unknown_genres(unknown, "movies.dat", "1m")
    return assets, users, interactions


def _load_latest(root: Path) -> tuple[RawTable, RawTable, RawTable]:
    prefix = "ml-latest"
    enc = _ENCODING["latest"]
    unknown: Counter[str] = Counter()

    def asset(fields: list[str]) -> dict[str, Any]:
        item_id = _integer_id(fields[0], "movieId")
        present, dense = _genre_list(fields[2], GENRES_LATEST, unknown)
        return _movie(prefix, item_id, fields[1], present, dense)

    assets = read_table(
        "assets", root / "movies.csv", enc, split_csv, 3, asset,
        header=("movieId", "title", "genres"),
    )  # fmt: skip
    interactions = read_table(
        "interactions", root / "ratings.csv", enc, split_csv, 4, _rating_builder(prefix),
        header=("userId", "movieId", "rating", "timestamp"),
    )  # fmt: skip
    users = RawTable(name="users")
    seen: set[str] = set()
    for record, source in zip(interactions.records, interactions.sources):
        user_id = record["user_id"]
        if user_id not in seen:
            seen.add(user_id)
            users.records.append({"user_id": user_id})
            users.sources.append(source)
    _warn_unknown_genres(unknown, "movies.csv", "latest")
    return assets, users, interactions


# --------------------------------------------------------------------------- fields


def _integer_id(text: str, what: str) -> str:
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise LineError(f"{what} {text!r} is not a non-negative integer")
    return str(int(value))


def _number(text: str) -> float | str:
    """The float in ``text``, or ``text`` itself (kept so that validation rejects it)."""
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _is_female(text: str) -> float | str:
    return {"M": 0.0, "F": 1.0}.get(text.strip(), text)


def _timestamp(text: str) -> str:
    """Unix seconds as an ISO-8601 UTC string, or ``text`` itself when it is not one."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            pass
    return text


def _rating_builder(prefix: str) -> Callable[[list[str]], dict[str, Any]]:
    def rating(fields: list[str]) -> dict[str, Any]:
        user_id = _integer_id(fields[0], "user id")
        item_id = _integer_id(fields[1], "item id")
        return {
            "event_type": "rating",
            "request_id": None,
            "user_id": f"{prefix}:user:{user_id}",
            "item_id": f"{prefix}:item:{item_id}",
            "timestamp": _timestamp(fields[3]),
            "position": None,
            "propensity": None,
            "value": _number(fields[2]),
        }

    return rating


# --------------------------------------------------------------------------- movies


def _release_date(text: str) -> tuple[str | None, int | None]:
    """100K's ``"01-Jan-1995"`` as ``(ISO datetime, year)``; ``(None, None)`` when empty; the
    text itself (which validation rejects) when it is not such a date. Month names are mapped
    by hand because ``strptime("%b")`` depends on the locale."""
    value = text.strip()
    if not value:
        return None, None
    parts = value.split("-")
    try:
        day, month, year = int(parts[0]), _MONTHS[parts[1]], int(parts[2])
        return datetime(year, month, day, tzinfo=timezone.utc).isoformat(), year
    except (ValueError, KeyError, IndexError):
        return text, None


def _genre_list(
    text: str, vocabulary: tuple[str, ...], unknown: Counter[str]
) -> tuple[list[str], list[float | str]]:
    present = list(dict.fromkeys(g.strip() for g in text.split("|") if g.strip()))
    unknown.update(g for g in present if g not in vocabulary)
    dense: list[float | str] = [1.0 if g in present else 0.0 for g in vocabulary]
    return present, dense


def _warn_unknown_genres(unknown: Counter[str], file_name: str, variant: str) -> None:
    if unknown:
        warnings.warn(
            f"{file_name}: genres outside the ml-{variant} vocabulary (kept in attributes and "
            f"text_content, no dense_features slot): {dict(unknown)}",
            UserWarning,
            stacklevel=3,
        )


def _movie(
    prefix: str,
    item_id: str,
    raw_title: str,
    genres: list[str],
    dense: list[float | str],
    fallback_year: int | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The raw asset record of one movie (see :func:`load_movielens` for the mapping).

    A missing year stays ``None`` and so does ``created_at`` then (the schema accepts both:
    MovieLens 100K's item 267 has neither); a missing genre list gives genre ``None``, which
    validation rejects, naming the field.
    """
    match = _TITLE_YEAR.search(raw_title)
    title = (raw_title[: match.start()] if match else raw_title).strip()
    year = int(match.group(1)) if match else fallback_year
    if created_at is None and year is not None and 1 <= year <= 9999:
        created_at = datetime(year, 1, 1, tzinfo=timezone.utc).isoformat()
    text = f"{title} ({year})." if year is not None else f"{title}."
    if genres:
        text += f" Genres: {', '.join(genres)}."
    return {
        "asset_id": f"{prefix}:item:{item_id}",
        "domain": "movie",
        "title": title,
        "image_uri": None,
        "text_content": text,
        "dense_features": dense,
        "created_at": created_at,
        "creator_id": CREATOR_ID,
        "creator_name": CREATOR_NAME,
        "attributes": {"domain": "movie", "genre": genres[0] if genres else None, "year": year},
    }
