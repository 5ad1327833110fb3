"""Saving a figure together with the numbers it draws, so that ``dvc plots diff`` can compare runs.

Every stage's figure is written twice into ``reports/figures/<stage>/``:

* ``<name>.png``: the rendered figure (the notebook also shows it inline);
* ``<name>.csv``: the tidy table the figure was drawn from, one row per plotted point or bar,
  with a header, ``\\n`` line ends and floats at 10 significant digits, so that an unchanged
  result rewrites identical bytes and a changed one diffs line by line.

The PNG is saved without matplotlib's ``Software`` stamp, so an upgrade of matplotlib alone does
not show up as a changed output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

DEFAULT_DPI = 110


def plot_table(data: pd.DataFrame | pd.Series | Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """``data`` as a flat table: a series or an indexed frame keeps its index as columns."""
    if isinstance(data, pd.Series):
        frame = data.to_frame(name=data.name if data.name is not None else "value")
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        frame = pd.DataFrame(dict(data))
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if frame.empty or len(frame.columns) == 0:
        raise ValueError("a figure's data table must have at least one row and one column")
    return frame


def save_figure(figure: Figure, data: pd.DataFrame | pd.Series | Mapping[str, Sequence[Any]],
                folder: Path, name: str, *, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``<folder>/<name>.png`` and ``<folder>/<name>.csv``; return the PNG's path."""
    if not name or "/" in name or name.endswith((".png", ".csv")):
        raise ValueError(f"figure name {name!r} must be a bare stem such as 'event_mix'")
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    figure.savefig(png, dpi=dpi, metadata={"Software": None})
    plot_table(data).to_csv(folder / f"{name}.csv", index=False, float_format="%.10g", lineterminator="\n")
    return png
