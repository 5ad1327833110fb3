"""Checks of an executed notebook that a reader would otherwise discover by opening it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

FIGURE_CALL = re.compile(r"\bplt\.show\(\)|\.savefig\(|\bdisplay\(fig\b")
"""A code cell that shows or saves a matplotlib figure."""


def cells_missing_figures(executed: Path) -> list[int]:
    """Indices of code cells that draw a figure but hold no ``image/png`` output.

    A cell that draws behind a condition the run did not meet (say, a world-only plot on
    MovieLens) must say so in a ``stream`` output containing "skipped"; it is then not counted.
    """
    notebook = nbformat.read(executed, as_version=4)
    missing = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not FIGURE_CALL.search(cell.source):
            continue
        outputs = cell.get("outputs", [])
        has_image = any("image/png" in output.get("data", {}) for output in outputs)
        said_skipped = any("skipped" in str(output.get("text", "")) for output in outputs)
        if not has_image and not said_skipped:
            missing.append(index)
    return missing
