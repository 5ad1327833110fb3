"""``stage.py`` is the notebook's table of contents: every ``st.`` call of ``02_encode`` is listed there."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hermes_core.encode import stage as st

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_encode.ipynb"


def notebook_calls() -> list[str]:
    """The ``st.<name>`` the notebook uses, in the order of their first use."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return list(dict.fromkeys(re.findall(r"\bst\.([A-Za-z_]\w*)", code)))


def test_every_step_the_notebook_calls_is_in_stage_all() -> None:
    calls = notebook_calls()
    assert calls, "the notebook no longer calls the stage module"
    assert [name for name in calls if name not in st.__all__] == []
    assert all(hasattr(st, name) for name in st.__all__)


def test_stage_lists_the_steps_in_the_notebooks_order() -> None:
    # the notebook's first use of each step follows the order of stage.__all__
    calls = notebook_calls()
    positions = [st.__all__.index(name) for name in calls]
    assert positions == sorted(positions), [name for name in calls]
