"""Open Bandit Dataset reader: parsing rules on synthetic files, counts on the real sample.

The experiments run on these logs are tested in ``tests/ope/test_open_bandit.py``, the policies
they evaluate in ``tests/ope/test_policies.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers.open_bandit import OpenBanditFormatError, read_open_bandit_logs

SHARED = Path(os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
OBD_ROOT = SHARED / "open_bandit_dataset"
needs_obd = pytest.mark.skipif(
    not (OBD_ROOT / "random" / "all" / "all.csv").is_file(),
    reason=f"Open Bandit sample not found at {OBD_ROOT} (set HERMES_SHARED_DATA)",
)

HEADER = ",timestamp,item_id,position,click,propensity_score," + ",".join(
    [f"user_feature_{j}" for j in range(4)] + [f"user-item_affinity_{i}" for i in range(3)]
)


def write_sample(root: Path, lines: list[str]) -> Path:
    """A synthetic ``random/all`` folder with 3 items."""
    folder = root / "random" / "all"
    folder.mkdir(parents=True)
    (folder / "item_context.csv").write_text(
        ",item_id,item_feature_0,item_feature_1,item_feature_2,item_feature_3\n"
        "0,0,0.5,x,p,u\n1,1,-1.0,y,p,u\n2,2,0.0,x,q,u\n"
    )
    (folder / "all.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    return folder / "all.csv"


GOOD = [
    "0,2019-11-24 00:00:09+00:00,2,3,1,0.5,a,b,c,d,0.0,0.1,0.2",
    "1,2019-11-24 00:00:01+00:00,0,1,0,0.25,a,e,c,d,0.0,0.0,0.0",
    "2,2019-11-24 00:00:05+00:00,1,2,0,1.0,f,b,c,d,1.0,0.0,0.0",
]


def test_synthetic_sample_is_sorted_shifted_and_encoded(tmp_path: Path) -> None:
    write_sample(tmp_path, GOOD)
    logs = read_open_bandit_logs(tmp_path, "random", "all", include_affinity=True)
    # Sorted by time: lines 3 (00:01), 4 (00:05), 2 (00:09).
    assert logs.source_line.tolist() == [3, 4, 2]
    assert logs.action.tolist() == [0, 1, 2]
    assert logs.position.tolist() == [0, 1, 2]  # 1, 2, 3 -> 0, 1, 2
    assert logs.reward.tolist() == [0.0, 0.0, 1.0]
    assert logs.pscore.tolist() == [0.25, 1.0, 0.5]
    # user_feature_0 in {a, f}: drop "a" -> one column "=f"; feature_1 {b, e} -> "=e";
    # features 2 and 3 have one level -> no column; then the 3 affinities.
    assert logs.context_names == ("user_feature_0=f", "user_feature_1=e",
                                  "user-item_affinity_0", "user-item_affinity_1", "user-item_affinity_2")  # fmt: skip
    np.testing.assert_array_equal(logs.context[:, :2], [[0, 1], [1, 0], [0, 0]])
    np.testing.assert_array_equal(logs.context[0, 2:], [0.0, 0.0, 0.0])
    # item context: numeric, then feature_1 {x, y}, feature_2 {p, q}, feature_3 {u}, all kept.
    assert logs.action_context.shape == (3, 6)
    np.testing.assert_array_equal(logs.action_context[1], [-1.0, 0, 1, 1, 0, 1])
    assert logs.timestamp[0] == np.datetime64("2019-11-24T00:00:01")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("3,not-a-time,0,1,0,0.5,a,b,c,d,0,0,0", "timestamp"),
        ("3,2019-11-24 00:00:02+00:00,7,1,0,0.5,a,b,c,d,0,0,0", "item_id"),
        ("3,2019-11-24 00:00:02+00:00,0,4,0,0.5,a,b,c,d,0,0,0", "position"),
        ("3,2019-11-24 00:00:02+00:00,0,1,2,0.5,a,b,c,d,0,0,0", "click"),
        ("3,2019-11-24 00:00:02+00:00,0,1,0,0.0,a,b,c,d,0,0,0", "propensity_score"),
        ("3,2019-11-24 00:00:02+00:00,0,1,0,0.5,a,,c,d,0,0,0", "user_feature_1"),
        ("3,2019-11-24 00:00:02+00:00,0,1,0,0.5,a,b,c", "fields"),
    ],
)
def test_malformed_line_raises_with_file_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    path = write_sample(tmp_path, [*GOOD, line])
    with pytest.raises(OpenBanditFormatError, match=f"{path}:5: .*{field}"):
        read_open_bandit_logs(tmp_path, "random", "all")


def test_quarantine_keeps_the_good_rows(tmp_path: Path) -> None:
    path = write_sample(tmp_path, [GOOD[0], "9,bad,0,1,0,0.5,a,b,c,d,0,0,0", *GOOD[1:]])
    logs = read_open_bandit_logs(tmp_path, "random", "all", on_error="quarantine")
    assert logs.n_rounds == 3
    assert [failure.source for failure in logs.quarantined] == [f"{path}:3"]
    assert "timestamp" in logs.quarantined[0].reason


@needs_obd
@pytest.mark.shared_data
def test_real_sample_counts() -> None:
    random = read_open_bandit_logs(OBD_ROOT, "random", "all")
    bts = read_open_bandit_logs(OBD_ROOT, "bts", "all")
    for logs in (random, bts):
        assert logs.n_rounds == 10_000 and logs.n_actions == 80
        assert sorted(np.unique(logs.position).tolist()) == [0, 1, 2]
        assert np.unique(logs.action).size == 80
        assert (np.diff(logs.timestamp) >= np.timedelta64(0)).all()
        assert logs.quarantined == ()
    assert random.reward.sum() == 38 and bts.reward.sum() == 42
    assert np.allclose(random.pscore, 0.0125)
    assert not np.allclose(bts.pscore, 0.0125)
    # Each user_feature_j contributes (levels - 1) columns, so each row has one 1 per
    # non-reference level it takes: at most 4 ones.
    assert random.context.sum(axis=1).max() <= 4

