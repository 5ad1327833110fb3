"""Run one pipeline notebook: papermill execution, then an HTML rendering.

``python -m hermes_core.runner 01_ingest`` executes ``notebooks/01_ingest.ipynb`` with the
``python3`` kernel into ``reports/01_ingest.ipynb`` and renders
``reports/html/01_ingest.html``. This is the command of every DVC stage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from hermes_core.workspace import project_root


def run_notebook(stem: str, *, root: Path | None = None, kernel: str = "python3",
                 parameters: dict[str, object] | None = None) -> tuple[Path, Path]:
    """Execute ``notebooks/<stem>.ipynb`` and render it; return the two report paths."""
    root = root or project_root()
    source = root / "notebooks" / f"{stem}.ipynb"
    if not source.is_file():
        available = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
        raise FileNotFoundError(f"no notebook {source}; available: {', '.join(available)}")
    executed = root / "reports" / f"{stem}.ipynb"
    html = root / "reports" / "html" / f"{stem}.html"
    html.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(source), str(executed), parameters=parameters or {}, kernel_name=kernel,
                               cwd=str(root), progress_bar=False, log_output=False)
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html.write_text(body, encoding="utf-8")
    return executed, html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stem", help="notebook name without extension, e.g. 01_ingest")
    parser.add_argument("--kernel", default="python3")
    args = parser.parse_args(argv)
    executed, html = run_notebook(args.stem, kernel=args.kernel)
    print(f"wrote {executed} and {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
