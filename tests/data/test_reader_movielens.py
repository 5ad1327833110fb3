"""MovieLens adapters: hand-made fixtures (tests/fixtures/movielens/) and the real shared data.

Each fixture file has a few good lines and one malformed line of each kind; the expected
records, parse failures and schema rejections below were worked out by reading the files. Each
ratings file ends with ratings off its variant's scale (9 and 2.5 on 100K's whole stars 1-5, 6 on
1M's, 5.5 and 0.25 on latest's half stars 0.5-5).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hermes_core.data.readers import movielens, movielens_download
from hermes_core.data.readers.movielens import (
    GENRES_1M,
    GENRES_100K,
    GENRES_LATEST,
    RATING_SCALES,
    SNAPSHOT_TIMES,
    ChecksumMismatchError,
    MovieLensFormatError,
    MovieLensRaw,
    download_movielens,
    load_movielens,
    snapshot_time,
)
from hermes_core.data.schema import Interaction, UniversalAsset, User

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "movielens"
SHARED_DATA = Path(
    os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
MODELS = {"assets": UniversalAsset, "users": User, "interactions": Interaction}


def validation_outcome(raw: MovieLensRaw) -> dict[str, dict[str, Any]]:
    """Per table: the sources of valid records, and source -> error locations of rejected ones,
    validated in the context the reader gives (dense length, rating scale, snapshot time)."""
    context = {"dense_dim": raw.dense_dim, "rating_scale": raw.rating_scale, "now": raw.now}
    outcome: dict[str, dict[str, Any]] = {}
    for name, table in raw.tables.items():
        valid, rejected = [], {}
        for record, source in zip(table.records, table.sources):
            try:
                MODELS[name].model_validate(record, context=context)
            except ValidationError as error:
                rejected[source] = {e["loc"] for e in error.errors()}
            else:
                valid.append(source)
        outcome[name] = {"valid": valid, "rejected": rejected}
    return outcome


def failures(raw: MovieLensRaw, table: str) -> dict[str, str]:
    return {f.source: f.reason for f in raw.tables[table].parse_failures}


def multi_hot(vocabulary: tuple[str, ...], *genres: str) -> list[float]:
    return [1.0 if g in genres else 0.0 for g in vocabulary]


# --------------------------------------------------------------------------- 100K


def test_100k_fixture_records_failures_and_rejections() -> None:
    raw = load_movielens(FIXTURES / "100k")
    assert (raw.variant, raw.dense_dim, raw.genres) == ("100k", 19, list(GENRES_100K))

    # u.item: line 5 has 3 fields, line 6 has id "x6"; the other 7 lines are records.
    assert raw.assets.sources == [f"u.item:{i}" for i in (1, 2, 3, 4, 7, 8, 9)]
    assert failures(raw, "assets") == {
        "u.item:5": "expected 24 fields, found 3",
        "u.item:6": "item id 'x6' is not a non-negative integer",
    }
    # u.user: line 4 lacks its zip code.
    assert raw.users.sources == ["u.user:1", "u.user:2", "u.user:3", "u.user:5"]
    assert failures(raw, "users") == {"u.user:4": "expected 5 fields, found 4"}
    # u.data: line 7 lacks its timestamp, line 8 has user "x".
    assert raw.interactions.sources == [f"u.data:{i}" for i in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)]
    assert failures(raw, "interactions") == {
        "u.data:7": "expected 4 fields, found 3",
        "u.data:8": "user id 'x' is not a non-negative integer",
    }

    outcome = validation_outcome(raw)
    # line 4: title "unknown", no release date, so no year and no created_at (like the real
    # item 267): metadata a real catalogue lacks are optional, the movie is kept
    assert outcome["assets"]["valid"] == ["u.item:1", "u.item:2", "u.item:3", "u.item:4", "u.item:7"]
    assert outcome["assets"]["rejected"] == {
        "u.item:8": {("dense_features", 1)},  # genre flag "x"
        "u.item:9": {("created_at",)},  # release date "31-Foo-1994"
    }
    assert outcome["users"]["valid"] == ["u.user:1", "u.user:2"]
    assert outcome["users"]["rejected"] == {
        "u.user:3": {("features", "age")},  # age "twenty"
        "u.user:5": {("features", "is_female")},  # gender "X"
    }
    assert outcome["interactions"]["valid"] == [f"u.data:{i}" for i in (1, 2, 3, 4, 5, 10)]
    assert outcome["interactions"]["rejected"] == {
        "u.data:6": {("value",)},  # rating "five"
        "u.data:9": {("timestamp",)},  # timestamp "abc"
        "u.data:11": {("value",)},  # rating 9: above 5
        "u.data:12": {("value",)},  # rating 2.5: not a whole star
    }


def test_100k_fixture_mapping() -> None:
    raw = load_movielens(FIXTURES / "100k", variant="100k")
    toy_story = raw.assets.records[0]
    assert toy_story == {
        "asset_id": "ml-100k:item:1",
        "domain": "movie",
        "title": "Paper Rocket",
        "image_uri": None,
        "text_content": "Paper Rocket (1995). Genres: Animation, Children's, Comedy.",
        "dense_features": multi_hot(GENRES_100K, "Animation", "Children's", "Comedy"),
        "created_at": "1995-01-01T00:00:00+00:00",
        "creator_id": "ml:creator:unknown",
        "creator_name": "unknown",
        "attributes": {"domain": "movie", "genre": "Animation", "year": 1995},
    }
    # Velka: the year is the title's (1996); created_at the US release date, 24 Jan 1997.
    velka = UniversalAsset.model_validate(raw.assets.records[1], context={"dense_dim": 19})
    assert (velka.title, velka.attributes.year) == ("Velka", 1996)
    assert velka.created_at.isoformat() == "1997-01-24T00:00:00+00:00"
    # u.item is latin-1: byte 0xE9 is "é".
    assert raw.assets.records[2]["title"] == "Régal, Le"
    # "(1995) (V)" is not a trailing "(year)": the title stays whole, the year comes from the
    # release date.
    video = raw.assets.records[4]
    assert video["title"] == "Valley Before Dawn III: The Long Winter (1995) (V)"
    assert video["attributes"]["year"] == 1995

    assert raw.users.records[0] == {
        "user_id": "ml-100k:user:1",
        "segment": "technician",
        "features": {"age": 24.0, "is_female": 0.0},
    }
    assert raw.users.records[1]["features"] == {"age": 53.0, "is_female": 1.0}

    # 881374406 s = 10201 days + 8006 s; day 10201 = 1997-12-06, 8006 s = 02:13:26.
    assert raw.interactions.records[0] == {
        "event_type": "rating",
        "request_id": None,
        "user_id": "ml-100k:user:1",
        "item_id": "ml-100k:item:1",
        "timestamp": "1997-12-06T02:13:26+00:00",
        "position": None,
        "propensity": None,
        "value": 5.0,
    }
    assert raw.interactions.records[5]["value"] == "five"  # kept for pydantic to reject


# --------------------------------------------------------------------------- 1M


def test_1m_fixture_records_failures_and_rejections() -> None:
    raw = load_movielens(FIXTURES / "1m")
    assert (raw.variant, raw.dense_dim, raw.genres) == ("1m", 18, list(GENRES_1M))

    assert raw.assets.sources == [f"movies.dat:{i}" for i in (1, 2, 3, 4, 7)]
    assert failures(raw, "assets") == {
        "movies.dat:5": "expected 3 fields, found 2",
        "movies.dat:6": "movie id 'six' is not a non-negative integer",
    }
    assert raw.users.sources == ["users.dat:1", "users.dat:2", "users.dat:4"]
    assert failures(raw, "users") == {"users.dat:3": "expected 5 fields, found 3"}
    assert raw.interactions.sources == [f"ratings.dat:{i}" for i in (1, 2, 3, 4, 5, 8)]
    assert failures(raw, "interactions") == {
        "ratings.dat:6": "expected 4 fields, found 2",
        "ratings.dat:7": "item id 'x' is not a non-negative integer",
    }

    outcome = validation_outcome(raw)
    # "No Year Here" (line 4) has no year, hence no created_at: both optional, the movie is kept
    assert outcome["assets"]["valid"] == ["movies.dat:1", "movies.dat:2", "movies.dat:3", "movies.dat:4"]
    assert outcome["assets"]["rejected"] == {
        "movies.dat:7": {("attributes", "movie", "genre")},  # empty genre list
    }
    assert outcome["users"] == {
        "valid": ["users.dat:1", "users.dat:2"],
        "rejected": {"users.dat:4": {("features", "age")}},  # age "abc"
    }
    assert outcome["interactions"] == {
        "valid": [f"ratings.dat:{i}" for i in range(1, 5)],
        # rating "bad"; rating 6, above 5
        "rejected": {"ratings.dat:5": {("value",)}, "ratings.dat:8": {("value",)}},
    }


def test_1m_fixture_mapping() -> None:
    raw = load_movielens(FIXTURES / "1m")
    lost_children = raw.assets.records[2]
    # Only the trailing "(1995)" goes; the alternative title in parentheses stays (latin-1 é).
    assert lost_children["title"] == "Town of Quiet Bells, The (Cité des cloches calmes, La)"
    assert lost_children["attributes"] == {"domain": "movie", "genre": "Adventure", "year": 1995}
    assert lost_children["dense_features"] == multi_hot(GENRES_1M, "Adventure", "Sci-Fi")
    assert lost_children["created_at"] == "1995-01-01T00:00:00+00:00"
    # Occupation code 10 is "K-12 student", age code 1 means "under 18" (ml-1m README).
    assert raw.users.records[0] == {
        "user_id": "ml-1m:user:1",
        "segment": "K-12 student",
        "features": {"age": 1.0, "is_female": 1.0},
    }
    assert raw.users.records[1]["segment"] == "self-employed"  # code 16
    assert raw.interactions.records[0]["value"] == 5.0


# --------------------------------------------------------------------------- latest


def test_latest_fixture_records_failures_and_rejections() -> None:
    raw = load_movielens(FIXTURES / "latest")
    assert (raw.variant, raw.dense_dim, raw.genres) == ("latest", 20, list(GENRES_LATEST))

    # Line 1 is the header.
    assert raw.assets.sources == [f"movies.csv:{i}" for i in (2, 3, 4, 5, 10)]
    assert failures(raw, "assets") == {
        "movies.csv:6": "not valid utf-8: invalid continuation byte at byte 9",
        "movies.csv:7": "expected 3 fields, found 2",
        "movies.csv:8": "movieId 'seven' is not a non-negative integer",
        "movies.csv:9": "malformed CSV quoting: unexpected end of data",
    }
    undecodable = raw.assets.parse_failures[0]
    assert undecodable.raw == "5,Broken \\xe9 Bytes (1999),Drama"
    assert raw.interactions.sources == [f"ratings.csv:{i}" for i in (2, 3, 4, 5, 6, 10, 11)]
    assert failures(raw, "interactions") == {
        "ratings.csv:7": "not valid utf-8: invalid start byte at byte 13",
        "ratings.csv:8": "expected 4 fields, found 2",
        "ratings.csv:9": "user id 'x' is not a non-negative integer",
    }
    # ratings.csv has CRLF line ends: the "\r" is not part of the line.
    assert raw.interactions.parse_failures[1].raw == "4,1"
    # Users 1, 2, 3 first rate on lines 2, 4, 6; user 4 only on the truncated line 8.
    assert raw.users.records == [{"user_id": f"ml-latest:user:{i}"} for i in (1, 2, 3)]
    assert raw.users.sources == ["ratings.csv:2", "ratings.csv:4", "ratings.csv:6"]

    outcome = validation_outcome(raw)
    # "Orbitals" (line 5) has no year: kept, with neither year nor created_at
    assert outcome["assets"] == {"valid": [f"movies.csv:{i}" for i in (2, 3, 4, 5, 10)], "rejected": {}}
    assert outcome["users"] == {"valid": raw.users.sources, "rejected": {}}
    assert outcome["interactions"] == {
        "valid": [f"ratings.csv:{i}" for i in (2, 3, 4, 6)],
        # rating "five"; 5.5 above 5; 0.25 not a half star
        "rejected": {f"ratings.csv:{i}": {("value",)} for i in (5, 10, 11)},
    }


def test_latest_fixture_mapping() -> None:
    raw = load_movielens(FIXTURES / "latest")
    titles = [r["title"] for r in raw.assets.records]
    assert titles == [
        "Paper Rocket",
        "Quiet Senator, The",  # quoted title with a comma
        "Mireille (Petit monde de Mireille Dupont, Le)",  # UTF-8
        "Orbitals",
        "After Midnight 2: Desert Money",  # "(1999) " with a trailing space
    ]
    dusk = raw.assets.records[4]
    assert dusk["dense_features"] == multi_hot(GENRES_LATEST, "Action", "IMAX")
    assert dusk["text_content"] == (
        "After Midnight 2: Desert Money (1999). Genres: Action, IMAX."
    )
    assert raw.assets.records[3]["attributes"]["genre"] == "(no genres listed)"
    # 965106160 s = 11170 days + 18160 s; day 11170 = 2000-08-01, 18160 s = 05:02:40.
    first = raw.interactions.records[0]
    assert (first["timestamp"], first["value"]) == ("2000-08-01T05:02:40+00:00", 4.0)
    assert raw.interactions.records[2]["value"] == 0.5


@pytest.mark.parametrize(
    ("variant", "file_by_table", "header_lines"),
    [
        ("100k", {"assets": "u.item", "users": "u.user", "interactions": "u.data"}, 0),
        ("1m", {"assets": "movies.dat", "users": "users.dat", "interactions": "ratings.dat"}, 0),
        ("latest", {"assets": "movies.csv", "interactions": "ratings.csv"}, 1),
    ],
)
def test_every_data_line_is_one_record_or_one_failure(
    variant: str, file_by_table: dict[str, str], header_lines: int
) -> None:
    raw = load_movielens(FIXTURES / variant)
    for table_name, file_name in file_by_table.items():
        table = raw.tables[table_name]
        n_lines = (FIXTURES / variant / file_name).read_bytes().count(b"\n")
        data_lines = {f"{file_name}:{i}" for i in range(header_lines + 1, n_lines + 1)}
        seen = table.sources + [f.source for f in table.parse_failures]
        assert len(seen) == len(data_lines) == table.n_in
        assert set(seen) == data_lines


# --------------------------------------------------------------------------- errors


def test_missing_folder_names_path_and_expected_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"nope.*u\.data.*ratings\.dat.*ratings\.csv"):
        load_movielens(missing)
    with pytest.raises(FileNotFoundError, match="no MovieLens files"):
        load_movielens(tmp_path)


def test_missing_required_file_is_named(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "100k" / "u.data", tmp_path / "u.data")
    with pytest.raises(FileNotFoundError, match=r"lacks u\.item, u\.user"):
        load_movielens(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"lacks ratings\.csv, movies\.csv"):
        load_movielens(FIXTURES / "100k", variant="latest")


def test_mixed_or_unknown_variant_is_refused(tmp_path: Path) -> None:
    for name in ("u.data", "ratings.csv"):
        (tmp_path / name).write_text("")
    with pytest.raises(ValueError, match="several MovieLens variants"):
        load_movielens(tmp_path)
    with pytest.raises(ValueError, match="variant must be one of"):
        load_movielens(FIXTURES / "100k", variant="20m")  # type: ignore[arg-type]


def test_csv_header_without_expected_columns_names_the_file(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "latest", tmp_path / "latest")
    ratings = tmp_path / "latest" / "ratings.csv"
    ratings.write_bytes(b"user,movieId,rating,timestamp\n1,1,4.0,965106160\n")
    with pytest.raises(MovieLensFormatError, match=r"ratings\.csv:1.*lacks column\(s\) userId"):
        load_movielens(tmp_path / "latest")


def test_genre_outside_vocabulary_warns_and_has_no_dense_slot(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "latest", tmp_path / "latest")
    movies = tmp_path / "latest" / "movies.csv"
    movies.write_text("movieId,title,genres\n1,Odd (2001),Noir|Drama\n")
    with pytest.warns(UserWarning, match=r"movies\.csv: genres outside.*'Noir': 1"):
        raw = load_movielens(tmp_path / "latest")
    (record,) = raw.assets.records
    assert record["attributes"]["genre"] == "Noir"
    assert record["dense_features"] == multi_hot(GENRES_LATEST, "Drama")


# --------------------------------------------------------------------------- download


def _fixture_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((FIXTURES / "100k").iterdir()):
            archive.write(path, f"ml-100k/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def fake_urlopen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Serve the 100K fixture as a zip instead of reaching the network; record the URLs."""
    import urllib.request

    payload = _fixture_zip()
    requested: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        requested.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requested


def test_download_verifies_checksum_then_unzips(tmp_path: Path, fake_urlopen: list[str]) -> None:
    sha256 = hashlib.sha256(_fixture_zip()).hexdigest()
    folder = download_movielens("100k", tmp_path, expected_sha256=sha256.upper())
    assert fake_urlopen == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert folder == tmp_path / "ml-100k"
    assert len(load_movielens(folder).interactions.records) == 10  # the fixture's 12 lines less 2 unparseable


def test_download_checksum_mismatch_names_both_hashes(
    tmp_path: Path, fake_urlopen: list[str]
) -> None:
    actual = hashlib.sha256(_fixture_zip()).hexdigest()
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError, match=f"{actual}.*{wrong}"):
        download_movielens("100k", tmp_path, expected_sha256=wrong)
    assert list(tmp_path.iterdir()) == []  # neither the archive nor its contents are kept


def test_download_without_checksum_warns_with_the_hash(
    tmp_path: Path, fake_urlopen: list[str]
) -> None:
    actual = hashlib.sha256(_fixture_zip()).hexdigest()
    with pytest.warns(UserWarning, match=f"checksum not verified; its sha256 is {actual}"):
        download_movielens("100k", tmp_path)


def test_download_refuses_an_archive_member_outside_the_destination(tmp_path: Path) -> None:
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ml-100k/u.data", "1\t1\t5\t0\n")
        handle.writestr("../escaped.txt", "outside")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(MovieLensFormatError, match=r"'\.\./escaped\.txt' would be written outside"):
        movielens_download._extract(archive, dest)
    # Checked before extracting: neither the escaping member nor the good one was written.
    assert not (tmp_path / "escaped.txt").exists() and list(dest.iterdir()) == []


def test_download_refuses_an_archive_without_its_top_folder(tmp_path: Path) -> None:
    archive = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ratings.dat", "1::1::5::0\n")
    with pytest.raises(MovieLensFormatError, match="no top folder ml-1m/"):
        movielens_download._extract(archive, tmp_path)


def test_movielens_reexports_the_download_names() -> None:
    # ingest imports download_movielens from the reader module; it must be the same function.
    assert movielens.download_movielens is movielens_download.download_movielens
    assert movielens.ChecksumMismatchError is movielens_download.ChecksumMismatchError


def test_loading_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_movielens reached the network")

    monkeypatch.setattr(movielens, "download_movielens", refuse)
    monkeypatch.setattr(movielens_download, "download_movielens", refuse)
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    load_movielens(FIXTURES / "1m")


# --------------------------------------------------------------------------- shared data


def _shared(folder: str) -> Path:
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"{path} is absent (set HERMES_SHARED_DATA to the folder holding {folder}/)")
    return path


@pytest.mark.shared_data
def test_shared_ml_100k() -> None:
    raw = load_movielens(_shared("ml-100k"))
    assert raw.variant == "100k"
    # Shared README and the GroupLens README: 100,000 ratings by 943 users on 1,682 movies.
    assert (len(raw.interactions.records), len(raw.users.records), len(raw.assets.records)) == (
        100_000, 943, 1_682,
    )  # fmt: skip
    assert [t.parse_failures for t in raw.tables.values()] == [[], [], []]
    assert {r["value"] for r in raw.interactions.records} == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len({r["user_id"] for r in raw.interactions.records}) == 943
    assert len({r["item_id"] for r in raw.interactions.records}) == 1_682
    outcome = validation_outcome(raw)
    # Every record of the official files is accepted: all 100,000 ratings are on 1-5, and item
    # 267 ("unknown|||" in u.item: no title year, no release date) is kept without year or
    # created_at, so its 9 ratings are kept too.
    assert {name: len(o["valid"]) for name, o in outcome.items()} == {
        "assets": 1_682, "users": 943, "interactions": 100_000,
    }  # fmt: skip
    item_267 = raw.assets.records[raw.assets.sources.index("u.item:267")]
    assert (item_267["title"], item_267["created_at"], item_267["attributes"]["year"]) == ("unknown", None, None)
    assert sum(r["item_id"] == "ml-100k:item:267" for r in raw.interactions.records) == 9
    # release dates run to 23 Oct 1998 (items 315 and 1432), after the last rating (22 Apr 1998),
    # so "now" cannot be the end of the rating window
    assert raw.now == SNAPSHOT_TIMES["100k"] > datetime(1998, 10, 24, tzinfo=timezone.utc)


# movies.csv titles with no trailing "(YYYY)" (e.g. "Babylon 5", "Black Mirror",
# "Death Note: Desu nôto (2006–2007)"), found with `grep -v '([0-9]\{4\}) *"\?,'`.
LATEST_SMALL_WITHOUT_YEAR = {
    40697, 140956, 143410, 147250, 149334, 156605, 162414, 167570, 171495, 171631, 171749,
    171891, 176601,
}  # fmt: skip


@pytest.mark.shared_data
def test_shared_ml_latest_small() -> None:
    raw = load_movielens(_shared("ml-latest-small"))
    assert raw.variant == "latest"
    # README: 100,836 ratings by 610 users; movies.csv lists 9,742 movies, 9,724 of them rated.
    assert len(raw.interactions.records) == 100_836
    assert len(raw.users.records) == 610
    assert len(raw.assets.records) == 9_742
    assert len({r["item_id"] for r in raw.interactions.records}) == 9_724
    assert [t.parse_failures for t in raw.tables.values()] == [[], [], []]
    assert {r["value"] for r in raw.interactions.records} == {x / 2 for x in range(1, 11)}
    outcome = validation_outcome(raw)
    assert {name: len(o["valid"]) for name, o in outcome.items()} == {
        "assets": 9_742, "users": 610, "interactions": 100_836,
    }  # fmt: skip
    without_year = {
        int(record["asset_id"].rsplit(":", 1)[1])
        for record in raw.assets.records if record["attributes"]["year"] is None
    }
    assert without_year == LATEST_SMALL_WITHOUT_YEAR  # kept, with neither year nor created_at
    # README.txt: "This dataset was generated on September 26, 2018."
    assert raw.now == datetime(2018, 9, 27, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- scale and time


@pytest.mark.parametrize(("variant", "on_scale", "off_scale"), [
    ("100k", [1.0, 3.0, 5.0], [0.0, 0.5, 2.5, 5.5, 9.0]),
    ("1m", [1.0, 5.0], [0.0, 4.5, 6.0]),
    ("latest", [0.5, 2.5, 3.5, 5.0], [0.0, 0.25, 3.7, 5.5]),
])
def test_rating_scales_are_the_readmes(variant: str, on_scale: list[float], off_scale: list[float]) -> None:
    scale = RATING_SCALES[variant]
    assert [scale.contains(v) for v in on_scale] == [True] * len(on_scale)
    assert [scale.contains(v) for v in off_scale] == [False] * len(off_scale)


def test_snapshot_time_is_a_constant_or_the_readme_date_never_the_clock(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "latest", tmp_path / "latest")
    first = load_movielens(tmp_path / "latest")
    assert first.now == SNAPSHOT_TIMES["latest"] == datetime(2018, 9, 27, tzinfo=timezone.utc)
    # a newer release names its own day in README.txt: the end of that day (UTC)
    (tmp_path / "latest" / "README.txt").write_text(
        "Some text. This dataset was generated on March 4, 2024.\n", encoding="utf-8")
    assert snapshot_time(tmp_path / "latest", "latest") == datetime(2024, 3, 5, tzinfo=timezone.utc)
    # the fixture's 100K files carry no README: the constant, the same on every call
    assert load_movielens(FIXTURES / "100k").now == load_movielens(FIXTURES / "100k").now == SNAPSHOT_TIMES["100k"]
