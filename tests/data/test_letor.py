"""The LETOR / SVMlight ranking reader (``hermes_core.data.readers.letor``) on hand-written files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers import letor
from hermes_core.data.readers.letor import PADDED_LABEL, LetorFormatError, RankingDataset, read_letor

# Two queries (10: three documents, 7: two documents); features out of order, some missing,
# comments, a blank line and a comment-only line.
SAMPLE = """\
# MSLR-style header comment
2 qid:10 1:0.5 3:1.5 # docid = a

0 qid:10 3:2 2:-1
1 qid:10 4:7
   # comment-only line, indented
4 qid:7 1:1 2:2 3:3 4:4 #docid = d
0 qid:7
"""


def write(tmp_path: Path, text: str, name: str = "train.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_is_parsed_into_queries_with_missing_features_zero(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, SAMPLE))
    assert data.feature_count == 4  # the largest index in the file
    expected = np.array(
        [
            [0.5, 0.0, 1.5, 0.0],
            [0.0, -1.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, 7.0],
            [1.0, 2.0, 3.0, 4.0],
            [0.0, 0.0, 0.0, 0.0],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(data.features, expected)
    assert data.features.dtype == np.float32
    np.testing.assert_array_equal(data.labels, [2, 0, 1, 4, 0])
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.query_ids, [10, 10, 10, 7, 7])  # as given, not renumbered
    np.testing.assert_array_equal(data.group_offsets, [0, 3, 5])
    assert data.n_queries == 2 and data.n_rows == 5
    assert data.source == str(tmp_path / "train.txt")


def test_missing_features_can_be_nan_and_explicit_zeros_stay_zero(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, "1 qid:1 2:0 3:5\n0 qid:1 1:1\n"), missing="nan")
    np.testing.assert_array_equal(data.features, [[np.nan, 0.0, 5.0], [1.0, np.nan, np.nan]])


def test_n_features_fixes_the_width_and_rejects_larger_indices(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    data = read_letor(path, n_features=6)
    assert data.features.shape == (5, 6)
    np.testing.assert_array_equal(data.features[:, 4:], 0.0)
    with pytest.raises(LetorFormatError, match=r"train\.txt:5: feature 4 is above n_features=3"):
        read_letor(path, n_features=3)


def test_float_labels(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, "0.25 qid:1 1:1\n1.5 qid:1 1:2\n"), label_type="float")
    np.testing.assert_array_equal(data.labels, np.array([0.25, 1.5], dtype=np.float32))
    assert data.labels.dtype == np.float32
    # "2.0" is an integer grade written as a float, accepted by the default label_type="int"
    assert read_letor(write(tmp_path, "2.0 qid:1 1:1\n", "b.txt")).labels.tolist() == [2]


def test_lists_yield_each_query_in_file_order(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, SAMPLE))
    lists = list(data.lists())
    assert [query.query_id for query in lists] == [10, 7]
    assert [query.labels.tolist() for query in lists] == [[2, 0, 1], [4, 0]]
    np.testing.assert_array_equal(lists[1].features, data.features[3:5])


def test_padded_shapes_mask_and_padding_values(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, SAMPLE))
    features, labels, mask = data.padded()
    assert features.shape == (2, 3, 4) and labels.shape == (2, 3) and mask.shape == (2, 3)
    np.testing.assert_array_equal(mask, [[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(labels, [[2, 0, 1], [4, 0, PADDED_LABEL]])
    np.testing.assert_array_equal(features[1, :2], data.features[3:5])
    np.testing.assert_array_equal(features[1, 2], 0.0)  # padding row
    # max_len truncates to the first documents in file order and pads the shorter lists
    features, labels, mask = data.padded(max_len=2)
    assert features.shape == (2, 2, 4)
    np.testing.assert_array_equal(labels, [[2, 0], [4, 0]])
    assert mask.all()
    features, labels, mask = data.padded(max_len=4)
    assert mask.sum(axis=1).tolist() == [3, 2]
    with pytest.raises(ValueError, match="max_len"):
        data.padded(max_len=0)


def test_group_file_replaces_qid_tokens(tmp_path: Path) -> None:
    data_path = write(tmp_path, "2 1:1\n0 2:1\n# note\n1 1:3\n")
    group_path = write(tmp_path, "2\n\n1\n", "train.txt.group")
    data = read_letor(data_path, group_file=group_path)
    np.testing.assert_array_equal(data.group_offsets, [0, 2, 3])
    np.testing.assert_array_equal(data.query_ids, [0, 0, 1])  # queries numbered in file order
    np.testing.assert_array_equal(data.labels, [2, 0, 1])


def test_group_file_that_disagrees_with_the_data_is_an_error(tmp_path: Path) -> None:
    data_path = write(tmp_path, "2 1:1\n0 2:1\n1 1:3\n")
    with pytest.raises(LetorFormatError, match="sum to 4 rows, the data file has 3"):
        read_letor(data_path, group_file=write(tmp_path, "2\n2\n", "long.group"))
    beyond = r"train\.txt:3: data row 3 is beyond the 2 rows of the group file's 2 queries"
    with pytest.raises(LetorFormatError, match=beyond):
        read_letor(data_path, group_file=write(tmp_path, "1\n1\n", "two.group"))
    with pytest.raises(LetorFormatError, match=r"zero\.group:2: group size '0'"):
        read_letor(data_path, group_file=write(tmp_path, "2\n0\n1\n", "zero.group"))
    with pytest.raises(LetorFormatError, match=r"train\.txt:1: .*group file was given"):
        read_letor(write(tmp_path, "1 qid:1 1:1\n", "train.txt"), group_file=write(tmp_path, "1\n", "one.group"))


def test_non_contiguous_query_is_an_error_naming_the_line(tmp_path: Path) -> None:
    text = "1 qid:1 1:1\n0 qid:2 1:1\n\n0 qid:1 1:2\n"
    with pytest.raises(LetorFormatError, match=r"train\.txt:4: qid 1 reappears after qid 2 \(first seen at line 1\)"):
        read_letor(write(tmp_path, text))


def test_duplicate_feature_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LetorFormatError, match=r"train\.txt:2: feature 3 is given twice"):
        read_letor(write(tmp_path, "1 qid:1 1:1\n0 qid:1 3:1 2:0 3:4\n"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("high qid:1 1:1", "label 'high' is not a number"),
        ("1.5 qid:1 1:1", "label '1.5' is not an integer"),
        ("nan qid:1 1:1", "label 'nan' is not finite"),
        ("1 qid:a 1:1", "qid 'a' is not an integer"),
        ("1 1:1 qid:3", "no qid: token"),
        ("1 qid:1 0:1", "feature index 0 is below 1"),
        ("1 qid:1 x:1", "feature index 'x' is not an integer"),
        ("1 qid:1 2:abc", "feature 2 value 'abc' is not a number"),
        ("1 qid:1 2:1e300", "feature 2 value '1e300' is not a finite float32"),
        ("1 qid:1 2", "feature token '2' is not index:value"),
    ],
)
def test_bad_tokens_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "# header\n" + line + "\n")
    with pytest.raises(LetorFormatError, match=rf"train\.txt:2: {message}"):
        read_letor(path)


def test_mixed_qid_and_no_qid_lines_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(LetorFormatError, match=r"train\.txt:2: qid: token present on some"):
        read_letor(write(tmp_path, "1 qid:1 1:1\n0 1:1\n"))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(LetorFormatError, match="no data line"):
        read_letor(write(tmp_path, "# only a comment\n\n"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_letor(tmp_path / "absent.txt")


def test_chunked_parsing_equals_one_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks of 2 rows force several dense blocks of different widths to be stitched together.
    lines = [f"{i % 3} qid:{i // 4} {i % 5 + 1}:{i}" for i in range(11)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    whole = read_letor(path)
    monkeypatch.setattr(letor, "_CHUNK_ROWS", 2)
    chunked = read_letor(path)
    np.testing.assert_array_equal(chunked.features, whole.features)
    np.testing.assert_array_equal(chunked.group_offsets, [0, 4, 8, 11])
    assert whole.features[10, 0] == 10.0  # row 10 has feature 10 % 5 + 1 = 1 = 10


def test_dataset_is_read_only_and_validated(tmp_path: Path) -> None:
    data = read_letor(write(tmp_path, SAMPLE))
    with pytest.raises(ValueError):
        data.features[0, 0] = 1.0
    with pytest.raises(ValueError, match="strictly increasing"):
        RankingDataset(
            features=np.zeros((2, 1), dtype=np.float32),
            labels=np.zeros(2, dtype=np.int64),
            query_ids=np.zeros(2, dtype=np.int64),
            group_offsets=np.array([0, 0, 2]),
            feature_count=1,
            source="hand-built",
        )
