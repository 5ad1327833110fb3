"""``load_params``: profiles, overlays and the messages of :class:`ParameterError`.

Every faulty file is a copy of the real ``params.yaml`` (and ``profiles/``) in ``tmp_path``
with one key changed, so each test isolates exactly one fault. The expected values are the
numbers written in ``params.yaml`` and ``profiles/tiny.yaml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from hermes_core.params import PROFILE_ENV, ParameterError, deep_merge, load_params, load_raw_params
from hermes_core.world.params import WorldParams

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_profile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile must come from what each test sets, not from the caller's shell."""
    monkeypatch.delenv(PROFILE_ENV, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the real ``params.yaml`` and ``profiles/``; returns the params path."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    return tmp_path / "params.yaml"


def rewrite(params_path: Path, change: dict[str, Any]) -> Path:
    """Deep-merge ``change`` into the YAML at ``params_path`` and write it back."""
    raw = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params_path.write_text(yaml.safe_dump(deep_merge(raw, change), sort_keys=False), encoding="utf-8")
    return params_path


def error_line(error: pytest.ExceptionInfo[ParameterError], key: str) -> str:
    """The one line of the error message about ``key``."""
    lines = [line for line in str(error.value).splitlines() if line.strip().startswith(f"{key}:")]
    assert len(lines) == 1, f"expected one line for {key!r} in:\n{error.value}"
    return lines[0]


# ---------------------------------------------------------------------- profiles
def test_default_profile_reads_params_yaml_values() -> None:
    params = load_params(ROOT / "params.yaml", profile="default")
    assert params.profile == "default"
    # the numbers written in params.yaml
    assert (params.world.n_users, params.world.n_items, params.world.n_creators) == (5000, 2000, 320)
    assert (params.world.n_requests, params.world.slate_size, params.world.candidates_per_request) == (40000, 5, 10)
    assert params.world.relevance_shares == (0.5, 0.25, 0.13, 0.08, 0.04)
    assert params.world.delay_mean_days.product == 4.0
    assert params.data.source == "world"
    assert params.ingest.chunk_size == 20000


def test_tiny_profile_overlays_only_the_keys_it_names() -> None:
    default = load_params(ROOT / "params.yaml", profile="default")
    tiny = load_params(ROOT / "params.yaml", profile="tiny")
    assert tiny.profile == "tiny"
    overlay = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text(encoding="utf-8"))
    # the tiny world of profiles/tiny.yaml
    assert (tiny.world.n_users, tiny.world.n_items, tiny.world.n_requests) == (300, 240, 2000)
    # every key the overlay names takes its value; every other key keeps the default's
    for block, block_model in default:
        if block == "profile":
            continue
        named = overlay.get(block, {})
        for key in type(block_model).model_fields:
            value = getattr(getattr(tiny, block), key)
            if key in named and not isinstance(named[key], dict):
                # a YAML list is a tuple in the frozen models
                assert (list(value) if isinstance(value, tuple) else value) == named[key], f"{block}.{key}"
            elif key not in named:
                assert value == getattr(block_model, key), f"{block}.{key}"


def test_profile_env_selects_the_overlay(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    monkeypatch.setenv(PROFILE_ENV, "tiny")
    params = load_params(project)
    assert params.profile == "tiny"
    assert params.world.n_users == 300


def test_profile_argument_beats_env_and_env_beats_file_key(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    rewrite(project, {"profile": "tiny"})
    assert load_params(project).world.n_users == 300  # the file's own key
    monkeypatch.setenv(PROFILE_ENV, "default")
    assert load_params(project).world.n_users == 5000  # env over the file
    assert load_params(project, profile="tiny").world.n_users == 300  # argument over env


def test_missing_profile_overlay_names_the_available_profiles(project: Path) -> None:
    (project.parent / "profiles" / "small.yaml").write_text("world: {n_users: 100}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as error:
        load_params(project, profile="huge")
    message = str(error.value)
    assert "profile 'huge'" in message
    assert "huge.yaml" in message
    assert "available profiles: default, small, tiny" in message


def test_the_default_profile_file_is_an_empty_overlay(project: Path) -> None:
    # profiles/default.yaml exists (dvc.yaml depends on profiles/${profile}.yaml) and changes nothing
    default_file = project.parent / "profiles" / "default.yaml"
    assert yaml.safe_load(default_file.read_text(encoding="utf-8")) == {}
    assert load_params(project, profile="default") == load_params(project)
    assert load_params(project).world.n_users == 5000  # params.yaml's value, not the tiny profile's 300
    # a key written there would silently differ from params.yaml: refused, naming file and key
    default_file.write_text("world: {n_users: 100}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as error:
        load_params(project)
    assert str(default_file) in str(error.value) and "world.n_users" in str(error.value)
    assert load_params(project, profile="tiny").world.n_users == 300  # another profile does not read it


def test_deep_merge_merges_nested_mappings_key_by_key() -> None:
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": [1, 2]}
    overlay = {"a": {"y": {"q": 3}}, "b": [9], "c": 4}
    assert deep_merge(base, overlay) == {"a": {"x": 1, "y": {"p": 1, "q": 3}}, "b": [9], "c": 4}
    assert base == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": [1, 2]}  # the input is untouched


def test_overlay_of_one_nested_key_keeps_its_siblings(project: Path) -> None:
    overlay = project.parent / "profiles" / "slow_news.yaml"
    overlay.write_text("world:\n  delay_mean_days: {news: 2.0}\n", encoding="utf-8")
    params = load_params(project, profile="slow_news")
    assert params.world.delay_mean_days.news == 2.0
    assert params.world.delay_mean_days.product == 4.0  # from params.yaml, not dropped by the overlay
    assert load_raw_params(project, profile="slow_news")["profile"] == "slow_news"


# ---------------------------------------------------------------------- faults and their messages
def test_unknown_key_far_from_any_names_the_dotted_key_and_lists_allowed_keys(project: Path) -> None:
    rewrite(project, {"world": {"colour_palette": 10}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    line = error_line(error, "world.colour_palette")
    assert "unknown key under 'world'" in line
    allowed = [key.strip() for key in line.split("allowed keys:")[1].split(",")]
    assert allowed == sorted(WorldParams.model_fields)
    assert str(project) in str(error.value)  # the file at fault


def test_near_miss_gets_did_you_mean_instead_of_the_list(project: Path) -> None:
    rewrite(project, {"world": {"n_userz": 10}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    line = error_line(error, "world.n_userz")
    # difflib ratio of n_userz / n_users is 2 * 6 / 14 = 0.857 >= 0.8
    assert line.endswith("unknown key under 'world'; did you mean 'world.n_users'?")
    assert "allowed keys" not in line


def test_unknown_nested_and_top_level_keys_name_their_own_parent(project: Path) -> None:
    rewrite(project, {"world": {"domain_shares": {"podcast": 0.0}}, "ingst": {}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    nested = error_line(error, "world.domain_shares.podcast")
    # podcast / product: ratio 2 * 5 / 14 = 0.714 < 0.8, so no guess, the list instead
    assert nested.endswith("allowed keys: movie, music, news, product")
    top = error_line(error, "ingst")
    assert "'<top level>'" in top
    assert top.endswith("did you mean 'ingest'?")


def test_wrong_type_names_its_key_and_the_value(project: Path) -> None:
    rewrite(project, {"world": {"n_users": "many"}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    line = error_line(error, "world.n_users")
    assert "valid integer" in line
    assert "'many'" in line


def test_out_of_range_value_names_its_key_and_the_bound(project: Path) -> None:
    rewrite(project, {"world": {"logging_temperature": 0.0, "n_users": 5}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    assert "greater than 0" in error_line(error, "world.logging_temperature")
    assert "greater than or equal to 10" in error_line(error, "world.n_users")  # n_users >= 10


def test_slate_larger_than_candidate_set_is_rejected(project: Path) -> None:
    rewrite(project, {"world": {"slate_size": 8, "candidates_per_request": 6}})
    with pytest.raises(ParameterError) as error:
        load_params(project)
    line = error_line(error, "world")
    assert "slate_size (8) must not exceed candidates_per_request (6)" in line


def test_domain_shares_must_sum_to_one(project: Path) -> None:
    # 0.4 + 0.25 + 0.25 + 0.25 = 1.15: the overlay changes one share, the others stay 0.25
    (project.parent / "profiles" / "movies.yaml").write_text("world:\n  domain_shares: {movie: 0.4}\n",
                                                            encoding="utf-8")
    with pytest.raises(ParameterError) as error:
        load_params(project, profile="movies")
    assert "must sum to 1, they sum to 1.150000" in error_line(error, "world.domain_shares")


def test_domain_shares_summing_to_one_are_accepted(project: Path) -> None:
    rewrite(project, {"world": {"domain_shares": {"movie": 0.4, "music": 0.3, "product": 0.2, "news": 0.1}}})
    assert load_params(project).world.domain_shares.movie == 0.4


def test_top_level_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="top level must be a mapping"):
        load_params(path)


def test_parameters_are_frozen() -> None:
    params = load_params(ROOT / "params.yaml", profile="default")
    with pytest.raises(ValidationError, match="frozen"):
        params.world.n_users = 1  # type: ignore[misc]
    assert params.world.n_users == 5000


# ---------------------------------------------------------------------- profiles against explicit settings
def test_params_yaml_writes_exactly_the_documented_defaults() -> None:
    """"Left at its default" (what a profile may override) is only well defined if params.yaml
    and the pydantic models agree on every default."""
    from hermes_core.params import changed_parameters

    changed = changed_parameters(ROOT / "params.yaml", profile="default")
    assert changed == [], "params.yaml differs from the model defaults: " + ", ".join(
        f"{c.key}={c.value!r} (model default {c.default!r})" for c in changed)


def test_explicit_setting_in_params_yaml_wins_over_the_profile(project: Path) -> None:
    # what `dvc exp run -S world.n_users=200` writes, on a project whose profile is tiny
    rewrite(project, {"profile": "tiny", "world": {"n_users": 200}})
    params = load_params(project)
    assert params.profile == "tiny"
    assert params.world.n_users == 200       # the explicit value, not tiny's 300
    assert params.world.n_items == 240       # keys left at their default still take tiny's value
    from hermes_core.params import load_profile_decisions

    _, decisions = load_profile_decisions(project)
    by_key = {d.key: d for d in decisions}
    assert not by_key["world.n_users"].from_profile and by_key["world.n_users"].profile_value == 300
    assert by_key["world.n_items"].from_profile


def test_a_value_equal_to_its_default_is_not_an_explicit_setting(project: Path) -> None:
    rewrite(project, {"profile": "tiny", "world": {"n_users": 5000}})
    assert load_params(project).world.n_users == 300


def test_overlay_of_nested_and_list_values_compares_leaf_by_leaf() -> None:
    from hermes_core.params import overlay_profile

    defaults = {"a": {"x": 1, "grid": [1, 2]}, "b": 3}
    raw = {"a": {"x": 1, "grid": [1, 2, 4]}, "b": 3}
    merged, decisions = overlay_profile(raw, {"a": {"x": 9, "grid": [7]}, "b": 5}, defaults)
    # x and b were at their defaults: the overlay applies; grid was changed: it stays
    assert merged == {"a": {"x": 9, "grid": [1, 2, 4]}, "b": 5}
    assert [(d.key, d.from_profile) for d in decisions] == [("a.x", True), ("a.grid", False), ("b", True)]


def test_changed_parameters_lists_the_tiny_profile_keys_with_their_source() -> None:
    from hermes_core.params import changed_parameters

    changed = {c.key: c for c in changed_parameters(ROOT / "params.yaml", profile="tiny", prefixes=("world",))}
    overlay = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text(encoding="utf-8"))

    def leaves(block: dict, prefix: str) -> set[str]:  # a nested overlay key counts by its leaves
        return set().union(*(leaves(v, f"{prefix}.{k}") if isinstance(v, dict) else {f"{prefix}.{k}"}
                             for k, v in block.items()))

    assert set(changed) == leaves(overlay["world"], "world")
    assert changed["world.n_users"].value == 300 and changed["world.n_users"].default == 5000
    assert {c.source for c in changed.values()} == {"profile tiny"}


def test_an_empty_profile_block_changes_nothing() -> None:
    from hermes_core.params import overlay_profile

    raw = {"ope": {"seed": 1, "n_folds": 3}, "world": {"n_users": 5}}
    merged, decisions = overlay_profile(raw, {"ope": None, "world": {"n_users": 3}},
                                        {"ope": {"seed": 1, "n_folds": 3}, "world": {"n_users": 5}})
    assert merged == {"ope": {"seed": 1, "n_folds": 3}, "world": {"n_users": 3}}
    assert [d.key for d in decisions] == ["world.n_users"]


def test_an_exponent_written_without_a_dot_is_still_the_default(project: Path) -> None:
    # PyYAML reads 1e-3 as the string "1e-3"; pydantic coerces it to 0.001, the model default,
    # so the key is at its default and a profile may still set it
    text = project.read_text(encoding="utf-8").replace("    learning_rate: 0.001", "    learning_rate: 1e-3")
    project.write_text(text, encoding="utf-8")
    (project.parent / "profiles" / "fast.yaml").write_text("encode:\n  fusion:\n    learning_rate: 0.01\n", encoding="utf-8")
    assert load_params(project, profile="fast").encode.fusion.learning_rate == 0.01
