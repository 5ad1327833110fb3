"""``data/`` in git: only its README is committed; every DVC output under it is ignored and described.

A fresh clone must show where the pipeline writes (``data/README.md``), yet never commit what it
writes there: git ignores ``data/*`` except the README, so DVC, which adds an output to a
``.gitignore`` only when git does not already ignore it, writes no ``data/.gitignore`` either.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "data" / "README.md"


def ignored_by_git(path: str) -> bool:
    """``git check-ignore``: exit 0 ignored, 1 not ignored."""
    result = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, capture_output=True)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def data_outputs() -> list[str]:
    """Every ``outs`` path of ``dvc.yaml`` under ``data/``."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    outs = [next(iter(out)) if isinstance(out, dict) else out for stage in stages.values()
            for out in stage.get("outs", [])]
    return [out for out in outs if out.startswith("data/")]


pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and the repository's .git")


def test_data_readme_is_committed_and_the_outputs_are_not() -> None:
    assert README.is_file()
    assert not ignored_by_git("data/README.md")
    outputs = data_outputs()
    # ingest: raw, world, store; encode: embeddings, index, cache; retrieve: candidates; rank: scores; rerank: slates
    assert len(outputs) == 9, outputs
    assert [out for out in outputs if not ignored_by_git(out)] == []
    assert ignored_by_git("data/store/CURRENT") and ignored_by_git("data/anything_new")


def test_data_readme_names_every_output_under_data() -> None:
    text = README.read_text(encoding="utf-8")
    for out in data_outputs():
        assert f"`{out.removeprefix('data/')}" in text, f"data/README.md does not describe {out}"
