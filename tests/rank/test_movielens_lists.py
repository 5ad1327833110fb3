"""MovieLens 100K as ranking lists (:mod:`hermes_core.rank.movielens_lists`).

A hand-written folder in the 100K format: 4 users, 6 movies, 20 ratings, whose split, lists, labels
and several features are worked out by hand below; then the real ``../shared/data/ml-100k`` when
it is there.

Movies (genres among Action, Comedy, Drama; years): 1 Action 1990, 2 Action|Comedy 1992,
3 Comedy 1994, 4 Drama 1996, 5 Comedy|Drama 1998, 6 Action|Drama with no year.
Users: 1 (20, M, student), 2 (38, F, engineer), 3 (40, M, engineer), 4 (50, F, writer).

Ratings in time order (timestamp = BASE + t). With test_share = validation_share = 0.25 of
20 ratings, the last 5 are test, the 5 before them validation, the first 10 training:

    train       t=1 u1 m1 5, t=2 u1 m2 4, t=3 u2 m1 4, t=4 u1 m3 2, t=5 u2 m3 5,
                t=6 u3 m2 1, t=7 u2 m4 3, t=8 u3 m4 4, t=9 u3 m5 3, t=10 u4 m1 2
    validation  t=10 u1 m4 3, t=11 u2 m2 2, t=12 u1 m5 1, t=13 u2 m5 4, t=14 u4 m2 5
    test        t=15 u3 m1 5, t=16 u1 m6 4, t=17 u3 m3 2, t=18 u4 m3 1, t=19 u3 m6 3

u4's m1 and u1's m4 share t=10: u4's line comes first in u.data, so it is the 10th in time order
(training) and u1's m4 the 11th (validation). Broken the other way, u4 would have two validation
ratings and a validation list. The training mean is mu = 33 / 10 = 3.3.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from hermes_core.rank.movielens_lists import (
    MovielensRankData,
    age_bucket,
    movielens_rank_data,
    temporal_split,
)
from hermes_core.workspace import shared_data_dir

BASE = 880_000_000
GENRE_COLUMN = {"Action": 1, "Comedy": 5, "Drama": 8}  # positions among the 19 flags (u.genre)
MOVIES = [
    (1, "Alpha (1990)", "01-Jan-1990", ["Action"]),
    (2, "Beta (1992)", "01-Jan-1992", ["Action", "Comedy"]),
    (3, "Gamma (1994)", "01-Jan-1994", ["Comedy"]),
    (4, "Delta (1996)", "01-Jan-1996", ["Drama"]),
    (5, "Epsilon (1998)", "01-Jan-1998", ["Comedy", "Drama"]),
    (6, "Zeta", "", ["Action", "Drama"]),
]
USERS = ["1|20|M|student|11111", "2|38|F|engineer|22222", "3|40|M|engineer|33333", "4|50|F|writer|44444"]
# (user, movie, rating, t), listed in u.data out of time order; the t=10 tie keeps u4 before u1
RATINGS = [
    (3, 1, 5, 15), (1, 1, 5, 1), (2, 3, 5, 5), (4, 1, 2, 10), (1, 4, 3, 10), (1, 2, 4, 2), (2, 1, 4, 3),
    (3, 6, 3, 19), (1, 3, 2, 4), (3, 2, 1, 6), (2, 2, 2, 11), (2, 4, 3, 7), (1, 5, 1, 12), (3, 4, 4, 8),
    (4, 3, 1, 18), (3, 5, 3, 9), (2, 5, 4, 13), (1, 6, 4, 16), (4, 2, 5, 14), (3, 3, 2, 17),
]  # fmt: skip


def write_folder(folder: Path, ratings: list[tuple[int, int, int, int]] = RATINGS) -> Path:
    """The tiny MovieLens 100K folder (module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{m}\t{r}\t{BASE + t}\n" for u, m, r, t in ratings))
    (folder / "u.user").write_text("".join(f"{line}\n" for line in USERS))
    lines = []
    for movie, title, date, genres in MOVIES:
        flags = ["1" if i in {GENRE_COLUMN[g] for g in genres} else "0" for i in range(19)]
        lines.append("|".join([str(movie), title, date, "", "http://example.org", *flags]))
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    (folder / "u.occupation").write_text("administrator\nengineer\nstudent\nwriter\n")
    return folder


def tiny(folder: Path, ratings: list[tuple[int, int, int, int]] = RATINGS, **kwargs: int) -> MovielensRankData:
    return movielens_rank_data(write_folder(folder, ratings), test_share=0.25, validation_share=0.25,
                               min_list=2, **kwargs)  # fmt: skip


def feature(data: MovielensRankData, split: str, row: int, column: int, name: str) -> float:
    return float(data.split(split).features[row, column, data.feature_names.index(name)])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> MovielensRankData:
    return tiny(tmp_path_factory.mktemp("ml-tiny"))


# --------------------------------------------------------------------------- split and lists


def test_lists_labels_and_users_follow_the_temporal_split(data: MovielensRankData) -> None:
    # min_list = 2: train u1, u2, u3 (3 ratings each; u4 has 1); validation u1, u2 (2 each; u4
    # has 1); test u3 (3; u1 and u4 have 1). Items in rating order, item = movie - 1, grade = rating - 1.
    assert {split: data.users[split].tolist() for split in data.users} == {
        "train": [1, 2, 3], "validation": [1, 2], "test": [3]}  # fmt: skip
    train, validation, test = data.train, data.validation, data.test
    assert train.items.tolist() == [[0, 1, 2], [0, 2, 3], [1, 3, 4]]
    assert train.labels.tolist() == [[4, 3, 1], [3, 4, 2], [0, 3, 2]]
    assert validation.items.tolist() == [[3, 4], [1, 4]]
    assert validation.labels.tolist() == [[2, 0], [1, 3]]
    assert test.items.tolist() == [[0, 2, 5]] and test.labels.tolist() == [[4, 1, 2]]
    assert all(lists.mask.all() for lists in (train, validation, test))  # every list is as long as the longest
    assert train.labels.dtype == np.float32 and train.items.dtype == np.int64
    assert train.features.shape == (3, 3, len(data.feature_names))


def test_summary_counts_each_split(data: MovielensRankData) -> None:
    summary = data.summary
    assert summary.index.tolist() == ["train", "validation", "test"]
    assert summary["ratings"].tolist() == [10, 5, 5]
    assert summary["lists"].tolist() == [3, 2, 1]
    assert summary["list_ratings"].tolist() == [9, 4, 3]
    assert summary["mean_list_length"].tolist() == [3.0, 2.0, 3.0]
    # ratings >= 4 among the listed ones: train 5,4,2,4,5,3,1,4,3 -> 5 of 9; validation 3,1,2,4 -> 1 of 4;
    # test 5,2,3 -> 1 of 3
    assert summary["share_grade_ge_3"].tolist() == pytest.approx([5 / 9, 1 / 4, 1 / 3])


def test_max_list_truncates_in_time_order_and_pads(tmp_path: Path) -> None:
    short = tiny(tmp_path / "short", max_list=2)
    assert short.train.items.tolist() == [[0, 1], [0, 2], [1, 3]]  # each user's first two training ratings
    assert short.summary["candidates"].tolist() == [6, 4, 2]
    long = tiny(tmp_path / "long", max_list=4)
    assert long.test.items.tolist() == [[0, 2, 5, -1]]
    assert long.test.mask.tolist() == [[True, True, True, False]]
    assert long.test.labels[0, 3] == 0.0 and not long.test.features[0, 3].any()


def test_temporal_split_rounds_shares_and_keeps_input_order_on_ties() -> None:
    # 10 ratings, shares 0.25 and 0.15: floor(2.5 + .5) = 3 test, floor(1.5 + .5) = 2 validation
    codes = temporal_split(np.array([5, 0, 9, 9, 9, 1, 2, 3, 4, 9]), test_share=0.25, validation_share=0.15)
    # stable time order of the indices: 1 5 6 7 8 0 | 2 3 4 9 (the four 9s in input order), so the
    # last 3 (3, 4, 9) are test and the 2 before them (0, 2) validation: the tie at 9 is cut by input order
    assert codes.tolist() == [1, 0, 1, 2, 2, 0, 0, 0, 0, 2]
    # a three-way tie at the cut: the first of them in input order is the earlier
    assert temporal_split(np.array([1, 1, 1]), 0.34, 0.33).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="test_share"):
        temporal_split(np.arange(10), 0.0, 0.1)
    with pytest.raises(ValueError, match="each split needs at least one"):
        temporal_split(np.arange(10), 0.6, 0.4)


def test_age_buckets_are_the_movielens_1m_groups() -> None:
    assert age_bucket(np.array([17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 73])).tolist() == [
        0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]  # fmt: skip


# --------------------------------------------------------------------------- features by hand


def test_test_pair_features_by_hand(data: MovielensRankData) -> None:
    # test pair (u3, m1): row 0, column 0 of the test lists
    def value(name: str) -> float:
        return feature(data, "test", 0, 0, name)

    # m1's training ratings 5 (u1), 4 (u2), 2 (u4): n = 3,
    # shrunk mean - mu = sum(r - mu) / (n + 10) = (1.7 + 0.7 - 1.3) / 13 = 1.1 / 13
    assert value("item_mean_shrunk_centred") == pytest.approx(1.1 / 13, abs=1e-6)
    assert value("item_log_train_ratings") == pytest.approx(math.log(4), abs=1e-6)
    # u3's training ratings m2 1, m4 4, m5 3: mean 8/3, centred 8/3 - 3.3
    assert value("user_mean_centred") == pytest.approx(8 / 3 - 3.3, abs=1e-6)
    assert value("user_log_train_ratings") == pytest.approx(math.log(4), abs=1e-6)
    # profile over (Action, Comedy, Drama), weights r - 8/3: m2 (A, C) -5/3, m4 (D) 4/3, m5 (C, D) 1/3
    # -> (-5/3, -4/3, 5/3), proportional to (-5, -4, 5); m1 = (1, 0, 0): cos = -5 / sqrt(66)
    assert value("genre_profile_cosine") == pytest.approx(-5 / math.sqrt(66), abs=1e-6)
    # u3's movies sharing a genre with m1 (Action): m2 only (rating 1); 5 pseudo-ratings at 8/3:
    # (1 + 5 * 8/3) / (1 + 5) = 43/18, centred by mu
    assert value("user_genre_mean_shrunk_centred") == pytest.approx(43 / 18 - 3.3, abs=1e-6)
    # u3 (40) and u2 (38) are both 35-44; u2 rated m1 in training, u1 (20) and u4 (50) are not in it
    assert value("age_bucket_item_log_train_ratings") == pytest.approx(math.log(2), abs=1e-6)
    # ages 20, 38, 40, 50: mean 37, population variance (289 + 1 + 9 + 169) / 4 = 117
    assert value("age_z") == pytest.approx(3 / math.sqrt(117), abs=1e-6)
    assert (value("is_female"), value("occupation_engineer"), value("occupation_student")) == (0.0, 1.0, 0.0)
    assert [n for n in data.feature_names if n.startswith("occupation_")] == [
        "occupation_administrator", "occupation_engineer", "occupation_student", "occupation_writer"]  # fmt: skip
    # years 1990..1998 of m1..m5: mean 1994, population variance (16 + 4 + 0 + 4 + 16) / 5 = 8
    assert value("year_z") == pytest.approx(-4 / math.sqrt(8), abs=1e-6)
    assert (value("year_missing"), value("genre_Action"), value("genre_Comedy")) == (0.0, 1.0, 0.0)


def test_unseen_item_without_year(data: MovielensRankData) -> None:
    # test pair (u3, m6): m6 has no training rating and no year
    def value(name: str) -> float:
        return feature(data, "test", 0, 2, name)

    assert (value("item_log_train_ratings"), value("item_mean_shrunk_centred")) == (0.0, 0.0)
    assert (value("year_z"), value("year_missing")) == (0.0, 1.0)


def test_training_pair_leaves_its_own_rating_out(data: MovielensRankData) -> None:
    # training pair (u1, m1), rating 5: row 0, column 0 of the training lists
    def value(name: str) -> float:
        return feature(data, "train", 0, 0, name)

    # m1's other training ratings 4 (u2), 2 (u4): (0.7 - 1.3) / (2 + 10) = -0.05
    # (with its own 5 it would be 1.1 / 13 = +0.085)
    assert value("item_mean_shrunk_centred") == pytest.approx(-0.05, abs=1e-6)
    assert value("item_log_train_ratings") == pytest.approx(math.log(3), abs=1e-6)
    # u1's other training ratings m2 4, m3 2: mean 3, centred -0.3
    assert value("user_mean_centred") == pytest.approx(-0.3, abs=1e-6)
    # weights r - 3: m2 (A, C) +1, m3 (C) -1 -> profile (1, 0, 0) = m1's genres: cos = 1
    # (with its own rating: mean 11/3, profile (5/3, -4/3, 0), cos 5 / sqrt(41) = 0.78)
    assert value("genre_profile_cosine") == pytest.approx(1.0, abs=1e-6)
    # sharing Action with m1: m2 (4); 5 pseudo-ratings at 3: (4 + 15) / 6 = 19/6
    assert value("user_genre_mean_shrunk_centred") == pytest.approx(19 / 6 - 3.3, abs=1e-6)
    # nobody else of 18-24 rated m1
    assert value("age_bucket_item_log_train_ratings") == 0.0


# --------------------------------------------------------------------------- leakage


def _changed(ratings: list[tuple[int, int, int, int]], user: int, movie: int, rating: int) -> list:
    return [(u, m, rating if (u, m) == (user, movie) else r, t) for u, m, r, t in ratings]


def test_validation_and_test_ratings_reach_no_feature(data: MovielensRankData, tmp_path: Path) -> None:
    # test (u3, m1) 5 -> 1 and validation (u1, m5) 1 -> 5: every feature stays, only those labels move
    changed = tiny(tmp_path, _changed(_changed(RATINGS, 3, 1, 1), 1, 5, 5))
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(changed.split(split).features, data.split(split).features)
        np.testing.assert_array_equal(changed.split(split).items, data.split(split).items)
    assert changed.test.labels.tolist() == [[0, 1, 2]]
    assert changed.validation.labels.tolist() == [[2, 4], [1, 3]]
    np.testing.assert_array_equal(changed.train.labels, data.train.labels)


def test_a_training_rating_does_reach_the_features(data: MovielensRankData, tmp_path: Path) -> None:
    # the converse, so the test above can fail: training (u2, m1) 4 -> 1 moves mu to 30/10 = 3 and the
    # test pair (u3, m1)'s item mean to ((5 - 3) + (1 - 3) + (2 - 3)) / 13 = -1/13
    changed = tiny(tmp_path, _changed(RATINGS, 2, 1, 1))
    assert feature(changed, "test", 0, 0, "item_mean_shrunk_centred") == pytest.approx(-1 / 13, abs=1e-6)
    assert not np.array_equal(changed.validation.features, data.validation.features)


# --------------------------------------------------------------------------- errors


def test_missing_folder_names_it_and_the_files(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match=r"no-such-folder.*u\.data, u\.item, u\.user"):
        movielens_rank_data(missing, 0.2, 0.1, 2)


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "ml")
    (folder / "u.user").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks u\.user"):
        movielens_rank_data(folder, 0.25, 0.25, 2)


def test_bad_rating_names_its_line(tmp_path: Path) -> None:
    # the 3rd line of u.data is (2, 3, 5, 5); a 6 is off the 1..5 scale
    ratings = [(u, m, 6 if i == 2 else r, t) for i, (u, m, r, t) in enumerate(RATINGS)]
    with pytest.raises(ValueError, match=r"rating not a whole number in 1\.\.5 at u\.data:3"):
        tiny(tmp_path, ratings)


def test_min_list_no_user_reaches_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_list=4 ratings in the train split"):
        movielens_rank_data(write_folder(tmp_path), 0.25, 0.25, min_list=4)


# --------------------------------------------------------------------------- the real data

ML_100K = shared_data_dir() / "ml-100k"


@pytest.mark.shared_data
@pytest.mark.skipif(not (ML_100K / "u.data").is_file(), reason=f"MovieLens 100K not in {ML_100K}")
def test_real_movielens_100k(tmp_path: Path) -> None:
    data = movielens_rank_data(ML_100K, test_share=0.2, validation_share=0.1, min_list=5)
    # 100,000 ratings (README): the latest 20% test, the 10% before them validation
    assert data.summary["ratings"].tolist() == [70_000, 10_000, 20_000]
    assert len(data.feature_names) == len(set(data.feature_names)) == 51  # 21 occupations, 19 genres
    for split in ("train", "validation", "test"):
        lists = data.split(split)
        labels = lists.labels[lists.mask]
        assert set(np.unique(labels).tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
        assert lists.mask.sum(axis=1).min() >= 5  # min_list
        assert lists.mask[:, 0].all() and lists.mask.sum(axis=1).max() == lists.mask.shape[1]
        assert np.isfinite(lists.features).all()
        assert ((lists.items[lists.mask] >= 0) & (lists.items[lists.mask] < 1682)).all()
        assert len(data.users[split]) == len(lists) == len(np.unique(data.users[split]))
        assert data.summary.loc[split, "candidates"] == lists.mask.sum()
    # 943 users, every one with at least 20 ratings (README): each has a list somewhere
    assert len(set().union(*(set(u.tolist()) for u in data.users.values()))) == 943
