"""``pyproject.toml`` and ``environment.yml`` pin the same packages at the same versions.

A pin is ``name==version``; names compare in their normalised form (PEP 503: lower case,
runs of ``-``, ``_`` and ``.`` as one ``-``). ``torch`` must be exactly 2.13.0: a looser pin
pulls a multi-GB CUDA build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(requirements: list[str], source: str) -> dict[str, str]:
    """``{normalised name: version}``; fails on any requirement that is not an exact pin."""
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = PIN.match(requirement.strip())
        assert match is not None, f"{source}: {requirement!r} is not an exact 'name==version' pin"
        name = normalise(match.group(1))
        assert name not in pins, f"{source}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["test"])


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_pip_requirements(environment: dict) -> list[str]:
    pip_lists = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: list"
    # pip options such as "-e ." (install the project itself) are not package pins
    return [entry for entry in pip_lists[0] if not str(entry).startswith("-")]


def test_pyproject_pins_are_exact(pyproject_requirements: list[str]) -> None:
    pins = parse_pins(pyproject_requirements, "pyproject.toml")
    assert len(pins) == len(pyproject_requirements)


def test_environment_pins_are_exact(environment: dict) -> None:
    requirements = environment_pip_requirements(environment)
    assert len(parse_pins(requirements, "environment.yml")) == len(requirements)


def test_both_files_pin_the_same_versions(pyproject_requirements: list[str], environment: dict) -> None:
    pyproject = parse_pins(pyproject_requirements, "pyproject.toml")
    conda = parse_pins(environment_pip_requirements(environment), "environment.yml")
    only_pyproject = {f"{n}=={v}" for n, v in pyproject.items()} - {f"{n}=={v}" for n, v in conda.items()}
    only_conda = {f"{n}=={v}" for n, v in conda.items()} - {f"{n}=={v}" for n, v in pyproject.items()}
    assert (sorted(only_pyproject), sorted(only_conda)) == ([], [])


def test_torch_is_pinned_to_2_13_0_exactly(pyproject_requirements: list[str], environment: dict) -> None:
    assert "torch==2.13.0" in pyproject_requirements
    assert "torch==2.13.0" in environment_pip_requirements(environment)


def test_environment_uses_python_3_11(environment: dict) -> None:
    conda_specs = [item for item in environment["dependencies"] if isinstance(item, str)]
    pythons = [spec for spec in conda_specs if re.match(r"^python\b", spec)]
    assert len(pythons) == 1
    assert re.fullmatch(r"python\s*=+\s*3\.11(\.\d+)?(\.\*)?", pythons[0]), pythons[0]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires == ">=3.11,<3.12"


def test_pin_parser_rejects_loose_requirements() -> None:
    # the checks above can only fail if the parser refuses what is not an exact pin
    for loose in ("torch>=2.13.0", "torch~=2.13", "torch", "torch==2.13.*", "torch==2.13.0; python_version<'4'"):
        with pytest.raises(AssertionError):
            parse_pins([loose], "example")
    assert parse_pins(["Scikit_Learn==1.9.1"], "example") == {"scikit-learn": "1.9.1"}
