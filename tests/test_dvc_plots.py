"""``dvc.yaml``'s top-level plots and the figures the stages write stay in step.

Every figure a stage saves is a PNG and the CSV table it draws (:mod:`hermes_core.figures`); both
must be listed, each CSV with axes that are columns of its header, so that ``dvc plots diff``
compares every figure across commits and experiments and none is silently left out.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "reports" / "figures"
DVC_TEMPLATES = {"simple", "linear", "confusion", "confusion_normalized", "scatter", "scatter_jitter", "smooth",
                 "bar_horizontal", "bar_horizontal_sorted"}


def _top_level_plots() -> dict[str, dict[str, str]]:
    entries = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
    plots: dict[str, dict[str, str]] = {}
    for entry in entries:
        if isinstance(entry, str):
            plots[entry] = {}
        else:
            ((path, config),) = entry.items()
            plots[path] = config or {}
    return plots


def _committed_figures() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in FIGURES.glob("*/*") if p.suffix in (".png", ".csv"))


def test_every_committed_figure_and_table_is_a_dvc_plot() -> None:
    figures = _committed_figures()
    if not figures:
        pytest.skip("reports/figures is empty: run `make repro` first")
    plots = _top_level_plots()
    assert sorted(figures) == sorted(plots), (
        f"in reports/figures only: {sorted(set(figures) - set(plots))}; "
        f"in dvc.yaml only: {sorted(set(plots) - set(figures))}")


def test_every_png_has_its_csv_and_every_csv_its_axes() -> None:
    plots = _top_level_plots()
    for path, config in plots.items():
        if path.endswith(".png"):
            assert path[: -len(".png")] + ".csv" in plots, f"{path} has no data table listed"
            continue
        assert path.endswith(".csv"), f"{path}: plots are PNG figures or CSV tables"
        assert set(config) == {"template", "x", "y"} and config["template"] in DVC_TEMPLATES, (path, config)
        table = ROOT / path
        if table.is_file():
            with table.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            missing = {config["x"], config["y"]} - set(header)
            assert not missing, f"{path}: axes {sorted(missing)} are not columns of {header}"


def test_stage_outs_hold_the_figure_folders() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in ("ingest", "encode", "ope"):
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stages[stage]["outs"]]
        assert f"reports/figures/{stage}" in outs
