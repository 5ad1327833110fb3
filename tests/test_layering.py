"""The package's layers import only downwards, and no two folders import each other.

Layers, lowest first (``../shared/STYLE.md``, README "Layout"):

0. base: the top-level modules (``params``, ``workspace``, ``runner``, ``device``, ...);
1. ``data``: schema, raw tables, the store, readers of real sources;
2. ``world``: the synthetic world;
3. shared research code: ``evaluation``, ``losses``, ``index``, ``encoders`` (peers that do not import each other);
4. one folder per stage (``ingest``, ``encode``, ``ope`` ...): a stage imports the layers below and
   never another stage (stages talk through files on disk).

Every ``import`` and ``from ... import`` in the package is read from the source (also those inside
functions), so a lazy import cannot hide an upward edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hermes_core"
LAYER_OF_FOLDER = {"data": 1, "world": 2, "evaluation": 3, "losses": 3, "index": 3, "encoders": 3}
STAGE_LAYER = 4


def component(module: str) -> str:
    """``hermes_core.encode.fusion`` -> ``encode``; a base module -> ``base``."""
    parts = module.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "base"


def layer(name: str) -> int:
    if name == "base":
        return 0
    return LAYER_OF_FOLDER.get(name, STAGE_LAYER)


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every hermes_core import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("hermes_core")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("hermes_core"):
                continue
            if target == "hermes_core" or (PACKAGE / Path(*target.split(".")[1:])).is_dir():
                # ``from hermes_core.encode import fusion``: the edge goes to each named submodule
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def import_edges() -> list[tuple[str, int, str, str]]:
    """(file, line, importer component, imported component) for every cross-component import."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = component(module_name(path))
        for line, target in imported_modules(path):
            imported = component(target)
            if imported != source:
                edges.append((str(path.relative_to(PACKAGE.parent)), line, source, imported))
    return edges


def test_the_walker_sees_imports_inside_functions_and_relative_ones() -> None:
    probe = PACKAGE / "encode" / "_layering_probe.py"
    probe.write_text("def f():\n    from hermes_core.ope import gate\n\nfrom ..ingest import stage\n")
    try:
        found = imported_modules(probe)
    finally:
        probe.unlink()
    assert sorted(found) == [(2, "hermes_core.ope.gate"), (4, "hermes_core.ingest.stage")]
    assert {component(m) for _, m in found} == {"ope", "ingest"}


def test_no_import_runs_upwards_or_between_stages() -> None:
    offenders = []
    for path, line, source, imported in import_edges():
        if layer(imported) > layer(source):
            offenders.append(f"{path}:{line}: {source} (layer {layer(source)}) imports {imported} "
                             f"(layer {layer(imported)})")
        elif layer(imported) == layer(source) and layer(source) >= 3:
            offenders.append(f"{path}:{line}: {source} imports its peer {imported}")
    assert not offenders, "imports against the layering:\n" + "\n".join(offenders)


def test_no_two_folders_import_each_other() -> None:
    pairs = {(source, imported) for _, _, source, imported in import_edges()}
    cycles = sorted({tuple(sorted(pair)) for pair in pairs if (pair[1], pair[0]) in pairs})
    assert not cycles, f"folders that import each other: {cycles}"


@pytest.mark.parametrize("folder", sorted(LAYER_OF_FOLDER))
def test_every_declared_layer_exists(folder: str) -> None:
    assert (PACKAGE / folder / "__init__.py").is_file()
