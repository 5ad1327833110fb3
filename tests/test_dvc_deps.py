"""Each DVC stage depends on exactly the code it runs, so a change reruns the stages it can change.

The code a stage runs is the transitive closure, within ``hermes_core``, of the imports of

* every module of its own folder (``hermes_core/<stage>/``),
* the code cells of its notebook (``notebooks/NN_<stage>.ipynb``),
* the runner that its command starts (``python -m hermes_core.runner``), and
* the parameter models of the blocks it lists under ``params:`` (the runner imports each block's
  model by name from ``hermes_core.params.PARAMS_BLOCKS``, which no ``import`` statement shows).

Importing a module runs the ``__init__.py`` of every package above it, so those are part of the
closure too. The runner validates the other blocks as well, but their models can only stop a run,
never change its outputs, so they are not deps (listing them would rerun every stage whenever any
stage gains a key).

``dvc.yaml`` may list a folder only when every module in it is in the closure; the ``.py`` files its
``hermes_core`` deps cover must be exactly the closure: nothing the stage imports is missing
(``World.relevance`` changed, encode reruns) and nothing it does not import is listed (a change to
the feature store does not rerun OPE).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from hermes_core.params import PARAMS_BLOCKS
from tests.test_layering import PACKAGE, imported_modules

ROOT = PACKAGE.parent
RUNNER = PACKAGE / "runner.py"


def module_file(module: str) -> Path | None:
    """The file of a ``hermes_core`` module (``None`` when the name is an attribute, not a module)."""
    parts = module.split(".")[1:]
    folder = PACKAGE.joinpath(*parts)
    if (folder / "__init__.py").is_file():
        return folder / "__init__.py"
    if folder.with_suffix(".py").is_file():
        return folder.with_suffix(".py")
    return None


def resolve(module: str) -> Path:
    """``hermes_core.world.World`` (a name imported from a package) -> the package's ``__init__.py``."""
    while module_file(module) is None:
        module = module.rpartition(".")[0]
    found = module_file(module)
    assert found is not None
    return found


def with_parents(path: Path) -> set[Path]:
    """A module and the ``__init__.py`` of every package above it (importing it runs them all)."""
    files = {path}
    for folder in path.relative_to(PACKAGE).parents:
        files.add(PACKAGE / folder / "__init__.py")
    return files


def notebook_imports(notebook: Path) -> list[str]:
    """The ``hermes_core`` modules imported by the code cells of a notebook (magics skipped)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = "\n".join(
        line for cell in cells if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("hermes_core")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hermes_core"):
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def closure(roots: set[Path]) -> set[Path]:
    """Every ``hermes_core`` file that importing ``roots`` runs."""
    seen: set[Path] = set()
    pending = [file for root in roots for file in with_parents(root)]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for _, target in imported_modules(path):
            pending.extend(with_parents(resolve(target)))
    return seen


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def stage_code(name: str, stage: dict) -> set[Path]:
    """The closure of the code the stage runs (see the module docstring)."""
    roots = {RUNNER}
    folder = PACKAGE / name
    if folder.is_dir():
        roots |= set(folder.rglob("*.py"))
    for dep in stage.get("deps", []):
        if dep.startswith("notebooks/") and dep.endswith(".ipynb") and name in dep:
            roots |= {resolve(module) for module in notebook_imports(ROOT / dep)}
    for entry in stage.get("params", []):
        block = entry if isinstance(entry, str) else None
        if block in PARAMS_BLOCKS:
            roots.add(resolve(PARAMS_BLOCKS[block].partition(":")[0]))
    return {path for path in closure(roots) if "__pycache__" not in path.parts}


def listed_code(stage: dict) -> set[Path]:
    """The ``.py`` files the stage's ``hermes_core`` deps cover (a folder: every module under it)."""
    covered: set[Path] = set()
    for dep in stage.get("deps", []):
        path = ROOT / dep
        if not dep.startswith("hermes_core"):
            continue
        assert path.exists(), f"dep {dep} does not exist"
        covered |= set(path.rglob("*.py")) if path.is_dir() else {path}
    return {p for p in covered if "__pycache__" not in p.parts}


def test_the_closure_follows_package_inits_names_and_lazy_imports() -> None:
    # a name imported from a package is the package's __init__; the runner imports the HTML
    # renderer inside a function, and hermes_core/__init__.py runs before any of it
    assert resolve("hermes_core.world.World") == PACKAGE / "world" / "__init__.py"
    runner = {str(p.relative_to(ROOT)) for p in closure({RUNNER})}
    assert {"hermes_core/__init__.py", "hermes_core/runner.py", "hermes_core/params.py",
            "hermes_core/workspace.py", "hermes_core/html_report.py"} <= runner
    assert "hermes_core/ope/__init__.py" not in runner


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_deps_are_exactly_the_code_it_imports(name: str) -> None:
    stage = stages()[name]
    expected = stage_code(name, stage)
    listed = listed_code(stage)
    missing = sorted(str(p.relative_to(ROOT)) for p in expected - listed)
    extra = sorted(str(p.relative_to(ROOT)) for p in listed - expected)
    assert not missing and not extra, (
        f"stage {name}: imported but not a dep: {missing}; a dep but never imported: {extra}")


@pytest.mark.parametrize("name", sorted(stages()))
def test_stages_depend_on_the_profile_in_force_only(name: str) -> None:
    # `profiles/${profile}.yaml` resolves to profiles/default.yaml (empty) under the default profile,
    # so editing profiles/tiny.yaml cannot mark the default pipeline changed; a stage that reads
    # parameters reads the profile key too, since it decides which overlay applies
    params = stages()[name].get("params", [])
    files = [next(iter(entry)) for entry in params if isinstance(entry, dict)]
    profile_files = [f for f in files if f.startswith("profiles/")]
    if not params:
        assert not profile_files
        return
    assert "profile" in params and profile_files == ["profiles/${profile}.yaml"], params
