"""What each MovieLens variant is, from its GroupLens README: files, genre vocabularies,
occupation codes, rating scale and when it was taken.

:mod:`hermes_core.data.readers.movielens` maps the files to records with these facts (and
re-exports every name here).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from hermes_core.data.schema import RatingScale

Variant = Literal["100k", "1m", "latest"]
VARIANTS: tuple[str, ...] = ("100k", "1m", "latest")

GENRES_100K: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""The 19 genre flags of ``u.item``, in column order (``u.genre``)."""

GENRES_1M: tuple[str, ...] = GENRES_100K[1:]
"""The 18 genres of ``movies.dat`` (ml-1m README), alphabetical."""

GENRES_LATEST: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western", "(no genres listed)",
)  # fmt: skip
"""The 20 genres found in ml-latest(-small) ``movies.csv``: its README's list, spelled as the
file spells them ("Children", not "Children's"), plus "IMAX", which the file uses but the README
omits."""

GENRES: dict[str, tuple[str, ...]] = {"100k": GENRES_100K, "1m": GENRES_1M, "latest": GENRES_LATEST}

REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "100k": ("u.data", "u.item", "u.user"),
    "1m": ("ratings.dat", "movies.dat", "users.dat"),
    "latest": ("ratings.csv", "movies.csv"),
}

OCCUPATIONS_1M: dict[str, str] = {
    "0": "other", "1": "academic/educator", "2": "artist", "3": "clerical/admin",
    "4": "college/grad student", "5": "customer service", "6": "doctor/health care",
    "7": "executive/managerial", "8": "farmer", "9": "homemaker", "10": "K-12 student",
    "11": "lawyer", "12": "programmer", "13": "retired", "14": "sales/marketing",
    "15": "scientist", "16": "self-employed", "17": "technician/engineer",
    "18": "tradesman/craftsman", "19": "unemployed", "20": "writer",
}  # fmt: skip
"""``users.dat`` occupation codes (ml-1m README)."""

RATING_SCALES: dict[str, RatingScale] = {
    "100k": RatingScale(1.0, 5.0, 1.0),
    "1m": RatingScale(1.0, 5.0, 1.0),
    "latest": RatingScale(0.5, 5.0, 0.5),
}
"""The ratings each variant allows (READMEs: whole stars 1-5; latest: half stars 0.5-5.0)."""

SNAPSHOT_TIMES: dict[str, datetime] = {
    "100k": datetime(2016, 1, 1, tzinfo=timezone.utc),
    "1m": datetime(2003, 3, 1, tzinfo=timezone.utc),
    "latest": datetime(2018, 9, 27, tzinfo=timezone.utc),
}
"""When each variant's archive was made: the ``now`` against which its timestamps are checked
(a record stamped later is "in the future"). 100K: its ratings end on 22 April 1998 (README) but
``u.item`` gives release dates up to 23 October 1998 and its README cites a paper of December
2015, so the archive as distributed is no older than that: 1 January 2016. 1M: released in
February 2003, its last rating on 28 February: 1 March 2003. latest-small: "generated on
September 26, 2018": the end of that day (a ``README.txt`` naming another day, as a newer release
would, takes precedence: :func:`snapshot_time`). A constant, never the wall clock, so the same
files always give the same outputs; and not the latest timestamp found in the files, which would
let a corrupt timestamp (the year 2286) define "now" and pass."""

_GENERATED_ON = re.compile(r"generated on ([A-Z][a-z]+) (\d{1,2}), (\d{4})")
_MONTH_NAMES = {name: i for i, name in enumerate(
    "January February March April May June July August September October November December".split(), 1)}


def snapshot_time(root: str | Path, variant: Variant) -> datetime:
    """The end (UTC) of the day the folder's ``README.txt`` says it was "generated on", else
    :data:`SNAPSHOT_TIMES` of the variant. Never the wall clock: the same files give the same
    validation, hence byte-identical outputs."""
    readme = Path(root) / "README.txt"
    if readme.is_file():
        found = _GENERATED_ON.search(readme.read_text(encoding="utf-8", errors="replace"))
        if found and found.group(1) in _MONTH_NAMES:
            day = datetime(int(found.group(3)), _MONTH_NAMES[found.group(1)], int(found.group(2)), tzinfo=timezone.utc)
            return day + timedelta(days=1)
    return SNAPSHOT_TIMES[variant]
