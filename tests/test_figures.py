"""Figures are saved with the table they draw, byte-stable across reruns."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hermes_core.figures import plot_table, save_figure  # noqa: E402


def _figure() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(["a", "b"], [1.0, 2.5])
    return fig


def test_png_and_csv_are_written_and_stable(tmp_path: Path) -> None:
    data = pd.DataFrame({"label": ["a", "b"], "value": [1.0, 2.5]})
    first = save_figure(_figure(), data, tmp_path / "one", "bars")
    second = save_figure(_figure(), data, tmp_path / "two", "bars")
    assert first.read_bytes() == second.read_bytes()
    assert b"Software" not in first.read_bytes()
    assert (tmp_path / "one" / "bars.csv").read_text() == "label,value\n" "a,1\n" "b,2.5\n"
    plt.close("all")


def test_an_indexed_series_keeps_its_index_as_a_column() -> None:
    series = pd.Series([3, 1], index=pd.Index(["x", "y"], name="reason"), name="records")
    assert plot_table(series).to_dict("list") == {"reason": ["x", "y"], "records": [3, 1]}


def test_empty_data_and_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one row"):
        save_figure(_figure(), pd.DataFrame(), tmp_path, "empty")
    with pytest.raises(ValueError, match="bare stem"):
        save_figure(_figure(), {"v": [1]}, tmp_path, "bars.png")
    plt.close("all")
