"""Every key of ``params.yaml`` carries a ``# (type) meaning`` comment (RecBole's ``overall.yaml`` habit).

The comment sits on the line(s) directly above the key; its first line names the type in
parentheses and then says what the key means. The type must fit the value written: ``(int)`` an
integer, ``(float)`` a number, ``(str)`` a string, ``(bool)`` a boolean, ``(list[...])`` a list,
``(dict[...])`` a mapping of values, ``(block)`` a sub-block of keys, ``|null`` when it may be null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermes_core.params import PARAMS_BLOCKS, block_model

ROOT = Path(__file__).resolve().parents[1]
KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?:\s|$)")
TYPE_COMMENT = re.compile(r"^\s*# \((?P<type>[^)]+)\) \S")


@dataclass(frozen=True)
class KeyComment:
    dotted_key: str
    line: int
    type_text: str | None  # None: no "# (type) meaning" line directly above


def key_comments(text: str) -> list[KeyComment]:
    """Each key of a YAML text written in block style, with the type its comment declares."""
    lines = text.splitlines()
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing blocks
    found: list[KeyComment] = []
    for number, line in enumerate(lines, start=1):
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([*(key for _, key in stack), match["key"]])
        stack.append((indent, match["key"]))
        above = number - 2
        first_comment = None
        while above >= 0 and lines[above].strip().startswith("#"):
            first_comment = lines[above]
            above -= 1
        type_match = TYPE_COMMENT.match(first_comment) if first_comment is not None else None
        found.append(KeyComment(dotted, number, type_match["type"] if type_match else None))
    return found


def _fits(type_text: str, value: Any) -> bool:
    for option in (part.strip() for part in type_text.split("|")):
        if option == "null" and value is None:
            return True
        if option == "block" and isinstance(value, dict):
            return True
        if option == "bool" and isinstance(value, bool):
            return True
        if option == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if option == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if option == "str" and isinstance(value, str):
            return True
        if option.startswith("list[") and isinstance(value, list):
            return True
        if option.startswith("dict[") and isinstance(value, dict):
            return True
    return False


def _value(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        value = value[part]
    return value


@pytest.mark.parametrize("name", ["params.yaml"])
def test_every_key_has_a_type_and_meaning_comment_that_fits_its_value(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    problems = []
    for entry in key_comments(text):
        if entry.type_text is None:
            problems.append(f"{name}:{entry.line}: {entry.dotted_key} has no '# (type) meaning' comment above it")
        elif not _fits(entry.type_text, _value(data, entry.dotted_key)):
            problems.append(f"{name}:{entry.line}: {entry.dotted_key} is declared ({entry.type_text}) but holds "
                            f"{_value(data, entry.dotted_key)!r}")
    assert not problems, "\n".join(problems)


def test_the_checker_finds_a_missing_comment_and_a_wrong_type() -> None:
    text = ("# (block) a stage\n"
            "stage:\n"
            "  # (int) how many\n"
            "  count: 3\n"
            "  size: 4\n"
            "  # (int) a ratio, declared wrongly\n"
            "  # second line of the same comment\n"
            "  ratio: 0.5\n")
    entries = {e.dotted_key: e for e in key_comments(text)}
    assert entries["stage"].type_text == "block"
    assert entries["stage.count"].type_text == "int"
    assert entries["stage.size"].type_text is None
    assert entries["stage.ratio"].type_text == "int" and not _fits("int", 0.5)
    assert _fits("float|null", None) and _fits("float", 3) and not _fits("int", True)


def test_every_block_of_params_yaml_has_a_registered_model() -> None:
    data = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert [key for key in data if key != "profile"] == list(PARAMS_BLOCKS)
    for block in PARAMS_BLOCKS:
        # every registered model resolves and its defaults are the block params.yaml writes
        assert block_model(block)().model_dump(mode="json") == data[block]
    with pytest.raises(KeyError, match="known blocks: data, world"):
        block_model("rnak")
