"""Small tables shared by the store's tests; the version ids pinned in the tests depend on them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def users_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": [3, 1, 2], "score": [0.5, 1.5, -2.0], "name": ["c", "a", "b"]}
    )


def mixed_frame() -> pd.DataFrame:
    """One column of each dtype family the store must round-trip exactly."""
    return pd.DataFrame(
        {
            "user_id": np.array([10, 11, 12, 13], dtype=np.int64),
            "clicks": pd.array([1, None, 3, 4], dtype="Int64"),
            "ctr": [0.1, np.nan, 0.3, 0.4],
            "country": pd.Series(["fr", None, "de", "fr"], dtype="str"),
            "segment": pd.Categorical(["a", "b", "a", "a"], categories=["c", "b", "a"]),
            "seen_at": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "seen_at_utc": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
            ).tz_localize("UTC"),
            "active": [True, False, True, True],
            "small": np.array([1, 2, 3, 4], dtype=np.int16),
        }
    )
