"""Readers of time-ordered item sequences: the SASRec format, MovieLens 1M and 100K.

Temp files hold a few hand-written lines whose sequences are worked out in each test; the 100K
checks recompute the expected sequences from ``u.data`` with plain Python (no numpy, no reader).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers.sequences import (
    read_movielens_1m,
    read_movielens_100k,
    read_sasrec_sequences,
    sequences_from_interactions,
)

SHARED_DATA = Path(
    os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
U_DATA = SHARED_DATA / "ml-100k" / "u.data"


def as_lists(sequences: tuple[np.ndarray, ...]) -> list[list[int]]:
    return [sequence.tolist() for sequence in sequences]


def test_sasrec_format_keeps_ids_and_file_order(tmp_path: Path) -> None:
    path = tmp_path / "ml-tiny.txt"
    path.write_text("1 3\n2 5\n1 2\n\n2 1\n1 3\n")  # user 1: 3, 2, 3; user 2: 5, 1; a blank line
    data = read_sasrec_sequences(path)
    assert data.user_ids.tolist() == [1, 2]
    assert as_lists(data.sequences) == [[3, 2, 3], [5, 1]]
    assert data.n_items == 5 and data.item_ids.tolist() == [0, 1, 2, 3, 4, 5]  # ids kept: n_items = max id
    assert data.n_interactions == 5 and data.lengths.tolist() == [3, 2]


@pytest.mark.parametrize(("text", "message"), [
    ("1 3\n1 x\n", r"ml\.txt:2: item id 'x' is not an integer >= 1"),
    ("1 3\n2 0\n", r"ml\.txt:2: item id '0' is not an integer >= 1"),
    ("1 3 5\n", r"ml\.txt:1: expected 'user item' \(2 fields\), found 3"),
    ("-1 3\n", r"ml\.txt:1: user id '-1' is not an integer >= 1"),
    ("\n\n", r"ml\.txt: no 'user item' line"),
])
def test_sasrec_format_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ml.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_sasrec_sequences(path)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.txt does not exist"):
        read_sasrec_sequences(tmp_path / "nothing.txt")
    with pytest.raises(FileNotFoundError, match=r"ratings\.dat"):
        read_movielens_1m(tmp_path)


RATINGS_1M = """\
10::200::5::978300760
10::100::3::978300700
20::300::4::978300000
10::300::4::978300760
20::200::1::978299000
30::300::2::978300000
"""


def test_movielens_1m_sorts_each_user_by_time_with_ties_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(RATINGS_1M)
    data = read_movielens_1m(tmp_path, min_count=0)
    # user 10: 100 (…700), then 200 and 300 tied at …760 in file order; user 20: 200 (…299000), 300
    assert data.user_ids.tolist() == [10, 20, 30]
    assert data.item_ids.tolist() == [0, 100, 200, 300]  # dense ids in increasing MovieLens id
    assert as_lists(data.sequences) == [[1, 2, 3], [2, 3], [3]]


def test_movielens_min_count_drops_rare_users_and_items_in_one_pass(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(RATINGS_1M)
    # counts on the whole file: users 10:3, 20:2, 30:1; items 100:1, 200:2, 300:3
    data = read_movielens_1m(tmp_path / "ratings.dat", min_count=2)
    # kept rows: (10, 200), (20, 300), (10, 300), (20, 200); user 30 and item 100 dropped
    assert data.user_ids.tolist() == [10, 20]
    assert data.item_ids.tolist() == [0, 200, 300]
    assert as_lists(data.sequences) == [[1, 2], [1, 2]]
    assert ">= 2 interactions" in data.source


def test_movielens_bad_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text("1::2::3::978300760\n1::two::3::978300761\n")
    with pytest.raises(ValueError, match=r"ratings\.dat:2: item 'two' is not a non-negative integer"):
        read_movielens_1m(tmp_path)
    (tmp_path / "ratings.dat").write_text("1::2::3\n")
    with pytest.raises(ValueError, match=r"ratings\.dat:1: expected 4 fields, found 3"):
        read_movielens_1m(tmp_path)


def test_sequences_from_interactions_checks_shapes() -> None:
    with pytest.raises(ValueError, match="one length"):
        sequences_from_interactions(np.array([1, 2]), np.array([1]), np.array([0, 0]))


@pytest.fixture(scope="module")
def u_data_rows() -> list[tuple[int, int, int]]:
    if not U_DATA.is_file():
        pytest.skip(f"MovieLens 100K is not at {U_DATA} (set HERMES_SHARED_DATA)")
    rows = []
    for line in U_DATA.read_text(encoding="latin-1").splitlines():
        user, item, _, timestamp = line.split("\t")
        rows.append((int(user), int(item), int(timestamp)))
    return rows


def test_movielens_100k_conversion_counts(u_data_rows: list[tuple[int, int, int]]) -> None:
    data = read_movielens_100k(U_DATA.parent, min_count=0)
    # the 100K README: 100,000 ratings by 943 users on 1682 items, every user with >= 20 ratings
    assert (data.n_users, data.n_items, data.n_interactions) == (943, 1682, 100_000)
    assert data.lengths.min() == 20
    item_counts = Counter(item for _, item, _ in u_data_rows)
    rare = {item for item, count in item_counts.items() if count < 5}
    filtered = read_movielens_100k(U_DATA, min_count=5)
    assert filtered.n_items == 1682 - len(rare)
    assert filtered.n_interactions == 100_000 - sum(item_counts[item] for item in rare)
    assert filtered.n_users == 943  # no user falls under 5 ratings in the raw counts


def test_movielens_100k_sequences_follow_time_then_file_order(u_data_rows: list[tuple[int, int, int]]) -> None:
    data = read_movielens_100k(U_DATA, min_count=0)
    by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for line_number, (user, item, timestamp) in enumerate(u_data_rows):
        by_user[user].append((timestamp, line_number, item))
    for row in (0, 1, 500, 942):
        user = int(data.user_ids[row])
        expected = [item for _, _, item in sorted(by_user[user])]  # Python's sort: time, then line
        assert data.item_ids[data.sequences[row]].tolist() == expected
    ties = sum(len(events) - len({t for t, _, _ in events}) for events in by_user.values())
    assert ties > 0  # 100K has same-second ratings, so the tie rule matters
