"""The committed rendered reports: every figure inline, every page readable offline."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from hermes_core.notebook_checks import cells_missing_figures

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted((ROOT / "reports").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("report", REPORTS, ids=[r.name for r in REPORTS])
def test_committed_report_holds_every_figure_inline(report: Path) -> None:
    assert cells_missing_figures(report) == []


def test_every_stage_notebook_has_a_committed_report() -> None:
    stages = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [r.name for r in REPORTS] == stages


def test_cells_missing_figures_flags_a_figure_cell_without_image(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    shown = nbformat.v4.new_code_cell("fig, ax = plt.subplots(); plt.show()")
    shown.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]
    lost = nbformat.v4.new_code_cell("fig.savefig('x.png'); plt.show()")  # the Agg backend: no output
    skipped = nbformat.v4.new_code_cell("if world is None:\n    print('skipped')\nelse:\n    plt.show()")
    skipped.outputs = [nbformat.v4.new_output("stream", name="stdout", text="section skipped: no world\n")]
    table = nbformat.v4.new_code_cell("df.head()")
    notebook.cells = [nbformat.v4.new_markdown_cell("# t"), shown, lost, skipped, table]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    assert cells_missing_figures(path) == [2]
