"""Run one pipeline notebook: check the parameters, execute with papermill, render offline HTML.

``python -m hermes_core.runner 01_ingest`` is the command of every DVC stage. It

1. refuses, inside a DVC stage, every ``HERMES_*`` variable that would change the outputs
   without DVC seeing it (the profile, the output root, the real-data folder): DVC tracks
   ``params.yaml``, not the environment, so such a run would record outputs that ``dvc.lock``
   cannot explain;
2. loads and validates ``params.yaml`` (with its profile) *before* starting a kernel, and on a
   fault prints one line per bad key (with a "did you mean" for near misses) and exits with
   status 2 in about a second;
3. says which keys of ``params.yaml`` override the profile in force;
4. executes ``notebooks/<stem>.ipynb`` into ``reports/<stem>.ipynb`` and renders
   ``reports/html/<stem>.html`` (under ``$HERMES_OUTPUT_ROOT`` when set, outside DVC).

``python -m hermes_core.runner --index`` writes ``reports/html/index.html``, one line a stage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hermes_core.params import PROFILE_ENV, ParameterError, load_params, load_profile_decisions
from hermes_core.workspace import OUTPUT_ROOT_ENV, SHARED_DATA_ENV, Workspace, project_root

DVC_STAGE_ENV = "DVC_STAGE"
"""Set by DVC for every stage command it runs (``dvc repro``, ``dvc exp run``)."""

UNTRACKED_VARIABLES: dict[str, str] = {
    PROFILE_ENV: "set `profile:` in params.yaml instead (`dvc exp run -S profile=tiny`)",
    OUTPUT_ROOT_ENV: "DVC expects the stage's outputs in the repository; unset it",
    SHARED_DATA_ENV: "set `data.shared_data_dir` (and `ope.obd.path`) in params.yaml instead",
}
"""Environment variables that change a stage's outputs, and what to do instead inside DVC."""


class PipelineEnvironmentError(RuntimeError):
    """A variable that DVC does not track would change the outputs of a DVC stage."""


def check_pipeline_environment(environ: dict[str, str] | None = None) -> None:
    """Inside a DVC stage, refuse every set variable of :data:`UNTRACKED_VARIABLES`."""
    environ = dict(os.environ) if environ is None else environ
    if not environ.get(DVC_STAGE_ENV):
        return
    offending = [name for name in UNTRACKED_VARIABLES if environ.get(name)]
    if offending:
        lines = [f"stage {environ[DVC_STAGE_ENV]}: DVC does not track environment variables, so these would "
                 "change the outputs without dvc.lock recording it:"]
        lines += [f"  {name}={environ[name]}: {UNTRACKED_VARIABLES[name]}" for name in offending]
        raise PipelineEnvironmentError("\n".join(lines))


def profile_overrides_note(path: Path | None = None) -> list[str]:
    """One line per key that ``params.yaml`` sets against the profile in force."""
    _, decisions = load_profile_decisions(path)
    return [f"{d.key} = {d.value!r} from params.yaml (the profile would set {d.profile_value!r})"
            for d in decisions if not d.from_profile]


def run_notebook(stem: str, *, root: Path | None = None, kernel: str = "python3",
                 parameters: dict[str, object] | None = None) -> tuple[Path, Path]:
    """Execute ``notebooks/<stem>.ipynb`` and render it; return the two report paths."""
    import papermill  # imported here: a parameter error must not wait for papermill

    from hermes_core.html_report import render_notebook_html

    root = root or project_root()
    source = root / "notebooks" / f"{stem}.ipynb"
    if not source.is_file():
        available = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
        raise FileNotFoundError(f"no notebook {source}; available: {', '.join(available)}")
    workspace = Workspace.from_env()
    executed, html = workspace.report(stem), workspace.report_html(stem)
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(source), str(executed), parameters=parameters or {}, kernel_name=kernel,
                               cwd=str(root), progress_bar=False, log_output=False)
    render_notebook_html(executed, html)
    return executed, html


def write_report_index(root: Path | None = None) -> Path:
    """``reports/html/index.html``: every stage notebook in order, with its title and one line."""
    from hermes_core.html_report import notebook_summary, write_index

    root = root or project_root()
    pages = []
    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title, summary = notebook_summary(notebook)
        pages.append((f"{notebook.stem}.html", title, summary))
    return write_index(Workspace.from_env().root / "reports" / "html", pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stem", nargs="?", help="notebook name without extension, e.g. 01_ingest")
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--index", action="store_true", help="write reports/html/index.html and exit")
    args = parser.parse_args(argv)
    if args.index:
        try:
            check_pipeline_environment()
        except PipelineEnvironmentError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {write_report_index()}")
        return 0
    if not args.stem:
        parser.error("give a notebook stem (e.g. 01_ingest) or --index")
    try:
        check_pipeline_environment()
        params = load_params()
        overrides = profile_overrides_note()
    except (ParameterError, PipelineEnvironmentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"profile: {params.profile}")
    for line in overrides:
        print(f"  {line}")
    executed, html = run_notebook(args.stem, kernel=args.kernel)
    print(f"wrote {executed} and {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
