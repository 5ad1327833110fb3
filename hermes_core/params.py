"""Loading and validating ``params.yaml``.

Every stage reads its knobs through :func:`load_params`, which

1. reads ``params.yaml``;
2. picks a profile: the ``profile`` argument, else the ``HERMES_PROFILE`` environment
   variable, else the file's top-level ``profile:`` key (``default``);
3. for any profile other than ``default``, applies ``profiles/<profile>.yaml`` (an overlay
   that names only the keys it changes) to every key that ``params.yaml`` leaves at its
   documented default (``profiles/default.yaml`` exists only so that ``dvc.yaml`` can name the
   profile in force; it must stay empty); a key that ``params.yaml`` changes (by hand or by
   ``dvc exp run -S key=value``) keeps that value, so a profile never silently overrides an
   explicit setting (:func:`overlay_profile`);
4. validates the result with the pydantic models below, which forbid unknown keys.

The documented default of a key is the value of its pydantic model, and ``params.yaml``
writes exactly those values (``tests/test_params.py`` checks it); that is what makes "left
at its default" well defined.

A typo, a wrong type or an out-of-range value raises :class:`ParameterError` whose
message names the dotted key, what was wrong and, for an unknown key, the allowed keys and
the nearest one ("did you mean").
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

PROFILE_ENV = "HERMES_PROFILE"
PARAMS_FILE = "params.yaml"


class StrictModel(BaseModel):
    """A frozen parameter block that rejects unknown keys (every block of every layer derives from it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The blocks of ``params.yaml`` in pipeline order, each named by ``"module:Model"``. The layer that
#: owns a block owns its model (``hermes_core/<stage>/params.py``); this base module resolves them by
#: name when the whole file is first validated, so it imports no stage code. A new stage adds one line.
PARAMS_BLOCKS: dict[str, str] = {
    "data": "hermes_core.data.params:DataParams",
    "world": "hermes_core.world.params:WorldParams",
    "ingest": "hermes_core.ingest.params:IngestParams",
    "encode": "hermes_core.encode.params:EncodeParams",
    "retrieve": "hermes_core.retrieve.params:RetrieveParams",
    "rank": "hermes_core.rank.params:RankParams",
    "delayed_feedback": "hermes_core.delayed_feedback.params:DelayedFeedbackParams",
    "ope": "hermes_core.ope.params:OpeParams",
    "rerank": "hermes_core.rerank.params:RerankParams",
}


def block_model(block: str) -> type[StrictModel]:
    """The pydantic model of one block of ``params.yaml`` (``KeyError`` names the known blocks)."""
    if block not in PARAMS_BLOCKS:
        raise KeyError(f"no params block {block!r}; known blocks: {', '.join(PARAMS_BLOCKS)}")
    module_name, _, class_name = PARAMS_BLOCKS[block].partition(":")
    model = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(model, type) and issubclass(model, StrictModel)):
        raise TypeError(f"{PARAMS_BLOCKS[block]} is not a StrictModel")
    return model


@functools.cache
def hermes_params_model() -> type[StrictModel]:
    """The model of the whole ``params.yaml``: ``profile`` plus one field per block of :data:`PARAMS_BLOCKS`."""
    fields: dict[str, Any] = {"profile": (str, "default")}
    for block in PARAMS_BLOCKS:
        model = block_model(block)
        fields[block] = (model, model())
    return create_model("HermesParams", __base__=StrictModel, **fields)


if TYPE_CHECKING:
    HermesParams = StrictModel


def __getattr__(name: str) -> Any:
    # ``from hermes_core.params import HermesParams`` builds the assembled model on first use.
    if name == "HermesParams":
        return hermes_params_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ParameterError(ValueError):
    """A parameter file has an unknown key, a wrong type or an out-of-range value."""


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``overlay`` merged in; nested mappings merge key by key."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (used to list allowed keys)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return current
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def format_validation_error(error: ValidationError, source: str) -> str:
    """Turn a pydantic error on the parameters into lines that name each dotted key."""
    lines = [f"{source}: invalid parameters"]
    for item in error.errors():
        loc = tuple(item["loc"])
        key = ".".join(str(part) for part in loc)
        if item["type"] == "extra_forbidden":
            owner = _model_at(hermes_params_model(), loc[:-1])
            allowed = sorted(owner.model_fields) if owner is not None else []
            parent = ".".join(str(part) for part in loc[:-1]) or "<top level>"
            near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.8)
            if near:
                suggestion = ".".join(str(part) for part in (*loc[:-1], near[0]))
                lines.append(f"  {key}: unknown key under '{parent}'; did you mean '{suggestion}'?")
            else:
                lines.append(f"  {key}: unknown key under '{parent}'; allowed keys: {', '.join(allowed)}")
        else:
            got = item.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"  {key}: {item['msg']}{got_text}")
    return "\n".join(lines)


def find_params_file(start: Path | None = None) -> Path:
    """Locate ``params.yaml`` in ``start`` (default: the working directory) or a parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PARAMS_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {PARAMS_FILE} in {here} or any parent folder")


def resolve_profile(raw: dict[str, Any], profile: str | None) -> str:
    """The profile in force: argument, then ``$HERMES_PROFILE``, then the file's key."""
    chosen = profile or os.environ.get(PROFILE_ENV) or raw.get("profile") or "default"
    return str(chosen)


@dataclass(frozen=True)
class ProfileDecision:
    """One key that a profile names: the value in force and where it came from."""

    key: str
    value: Any
    profile_value: Any
    from_profile: bool


def _leaf_paths(mapping: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            paths.extend(_leaf_paths(value, (*prefix, str(key))))
        else:
            paths.append((*prefix, str(key)))
    return paths


def _overlay_leaves(overlay: dict[str, Any]) -> list[tuple[str, ...]]:
    """Leaf keys an overlay sets; an empty block (``ope:`` with nothing under it) sets nothing."""
    return [path for path in _leaf_paths(overlay)
            if not (len(path) == 1 and (overlay[path[0]] is None or overlay[path[0]] == {}))]


_MISSING = object()


def _get(mapping: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(mapping, dict) or part not in mapping:
            return _MISSING
        mapping = mapping[part]
    return mapping


def _set(mapping: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        if not isinstance(mapping.get(part), dict):
            mapping[part] = {}
        mapping = mapping[part]
    mapping[path[-1]] = copy.deepcopy(value)


def _same(left: Any, right: Any) -> bool:
    """YAML lists and model tuples compare equal; so do 1 and 1.0, and "1e-3" (PyYAML reads an
    exponent without a dot as a string, which pydantic then coerces) and 0.001."""
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    for text, number in ((left, right), (right, left)):
        if isinstance(text, str) and isinstance(number, (int, float)) and not isinstance(number, bool):
            try:
                return float(text) == float(number)
            except ValueError:
                return False
    return bool(left == right)


def documented_defaults() -> dict[str, Any]:
    """Every key's default, as the pydantic models define it (what ``params.yaml`` writes)."""
    return hermes_params_model()().model_dump(mode="json")


def overlay_profile(
    raw: dict[str, Any], overlay: dict[str, Any], defaults: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[ProfileDecision]]:
    """Apply a profile overlay to the keys that ``raw`` leaves at their default.

    For each leaf key ``k`` the overlay names, the value in force is

    * the overlay's, when ``raw`` lacks ``k`` or sets it to its documented default;
    * ``raw``'s otherwise: the key was changed on purpose (``dvc exp run -S k=v`` writes
      ``params.yaml``), and an explicit setting wins over a profile.

    Returns the merged mapping and one :class:`ProfileDecision` per overlay key.
    """
    defaults = documented_defaults() if defaults is None else defaults
    merged = copy.deepcopy(raw)
    decisions: list[ProfileDecision] = []
    for path in _overlay_leaves(overlay):
        profile_value = _get(overlay, path)
        current = _get(raw, path)
        default = _get(defaults, path)
        explicit = current is not _MISSING and (default is _MISSING or not _same(current, default))
        if not explicit:
            _set(merged, path, profile_value)
        decisions.append(ProfileDecision(".".join(path), current if explicit else profile_value,
                                         profile_value, not explicit))
    return merged, decisions


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
    except yaml.YAMLError as error:
        raise ParameterError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise ParameterError(f"{path}: the top level must be a mapping of stage blocks")
    return loaded


def profile_file(params_path: Path, profile: str) -> Path:
    """``profiles/<profile>.yaml`` beside ``params.yaml``; a clear error when it is missing."""
    overlay_path = params_path.parent / "profiles" / f"{profile}.yaml"
    if not overlay_path.is_file():
        available = sorted({p.stem for p in (params_path.parent / "profiles").glob("*.yaml")} - {"default"})
        raise ParameterError(
            f"{params_path}: profile '{profile}' has no overlay file {overlay_path}; "
            f"available profiles: default, {', '.join(available)}"
        )
    return overlay_path


def check_default_overlay(params_path: Path) -> None:
    """``profiles/default.yaml``, when present, overlays nothing: the default profile is
    ``params.yaml`` itself (the file exists so that ``dvc.yaml`` can depend on
    ``profiles/${profile}.yaml`` whatever the profile). Raises :class:`ParameterError` naming the
    file and its keys when it sets any."""
    overlay_path = params_path.parent / "profiles" / "default.yaml"
    if overlay_path.is_file() and (keys := [".".join(k) for k in _overlay_leaves(_read_yaml(overlay_path))]):
        raise ParameterError(
            f"{overlay_path}: the default profile is params.yaml itself, so this file must stay empty "
            f"({{}}); it sets {', '.join(keys)}: change params.yaml instead")


def load_profile_decisions(path: str | Path | None = None,
                           profile: str | None = None) -> tuple[dict[str, Any], list[ProfileDecision]]:
    """The merged, not yet validated mapping for ``profile`` and what the profile decided."""
    params_path = Path(path) if path is not None else find_params_file()
    raw = _read_yaml(params_path)
    chosen = resolve_profile(raw, profile)
    decisions: list[ProfileDecision] = []
    if chosen != "default":
        raw, decisions = overlay_profile(raw, _read_yaml(profile_file(params_path, chosen)))
    else:
        check_default_overlay(params_path)
    raw["profile"] = chosen
    return raw, decisions


def load_raw_params(path: str | Path | None = None, profile: str | None = None) -> dict[str, Any]:
    """The merged, not yet validated parameter mapping for ``profile``."""
    return load_profile_decisions(path, profile)[0]


def _validate(raw: dict[str, Any], params_path: Path) -> HermesParams:
    try:
        return hermes_params_model().model_validate(raw)
    except ValidationError as error:
        raise ParameterError(format_validation_error(error, str(params_path))) from None


def load_params(path: str | Path | None = None, profile: str | None = None) -> HermesParams:
    """Read, overlay and validate the parameters; raise :class:`ParameterError` on any fault."""
    params_path = Path(path) if path is not None else find_params_file()
    return _validate(load_raw_params(params_path, profile), params_path)


@dataclass(frozen=True)
class ChangedParameter:
    """A key whose value in force differs from its documented default."""

    key: str
    value: Any
    default: Any
    source: str  # "params.yaml" or "profile <name>"


def changed_parameters(path: str | Path | None = None, profile: str | None = None,
                       prefixes: tuple[str, ...] = ()) -> list[ChangedParameter]:
    """Keys (under ``prefixes``, e.g. ``("world", "ingest")``) whose value differs from the default.

    The notebooks show this short table instead of every key: with nothing changed it is empty.
    """
    params_path = Path(path) if path is not None else find_params_file()
    raw, decisions = load_profile_decisions(params_path, profile)
    params = _validate(raw, params_path)
    from_profile = {d.key for d in decisions if d.from_profile}
    current = params.model_dump(mode="json")
    defaults = documented_defaults()
    changed: list[ChangedParameter] = []
    for leaf in _leaf_paths(current):
        key = ".".join(leaf)
        if key == "profile" or (prefixes and not any(key == p or key.startswith(p + ".") for p in prefixes)):
            continue
        value, default = _get(current, leaf), _get(defaults, leaf)
        if default is _MISSING or not _same(value, default):
            source = f"profile {params.profile}" if key in from_profile else "params.yaml"
            changed.append(ChangedParameter(key, value, None if default is _MISSING else default, source))
    return changed
