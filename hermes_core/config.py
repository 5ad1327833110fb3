"""Loading and validating ``params.yaml``.

Every stage reads its knobs through :func:`load_params`, which

1. reads ``params.yaml``;
2. picks a profile: the ``profile`` argument, else the ``HERMES_PROFILE`` environment
   variable, else the file's top-level ``profile:`` key (``default``);
3. for any profile other than ``default``, deep-merges ``profiles/<profile>.yaml`` over the
   file (an overlay names only the keys it changes);
4. validates the result with the pydantic models below, which forbid unknown keys.

A typo, a wrong type or an out-of-range value raises :class:`ParameterError` whose
message names the dotted key, what was wrong and, for an unknown key, the allowed keys.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hermes_core.encode.params import EncodeParams
from hermes_core.ope.params import OpeParams
from hermes_core.params_models import DataParams, IngestParams, StrictModel, WorldParams

PROFILE_ENV = "HERMES_PROFILE"
PARAMS_FILE = "params.yaml"


class HermesParams(StrictModel):
    """The whole ``params.yaml``: one block per stage (each stage's model lives beside its code)."""

    profile: str = "default"
    data: DataParams = DataParams()
    world: WorldParams = WorldParams()
    ingest: IngestParams = IngestParams()
    encode: EncodeParams = EncodeParams()
    ope: OpeParams = OpeParams()


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
            owner = _model_at(HermesParams, loc[:-1])
            allowed = sorted(owner.model_fields) if owner is not None else []
            parent = ".".join(str(part) for part in loc[:-1]) or "<top level>"
            lines.append(
                f"  {key}: unknown key under '{parent}'; allowed keys: {', '.join(allowed)}"
            )
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


def load_raw_params(path: str | Path | None = None, profile: str | None = None) -> dict[str, Any]:
    """The merged, not yet validated parameter mapping for ``profile``."""
    params_path = Path(path) if path is not None else find_params_file()
    with params_path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ParameterError(f"{params_path}: the top level must be a mapping of stage blocks")
    chosen = resolve_profile(raw, profile)
    if chosen != "default":
        overlay_path = params_path.parent / "profiles" / f"{chosen}.yaml"
        if not overlay_path.is_file():
            available = sorted(p.stem for p in (params_path.parent / "profiles").glob("*.yaml"))
            raise ParameterError(
                f"{params_path}: profile '{chosen}' has no overlay file {overlay_path}; "
                f"available profiles: default, {', '.join(available)}"
            )
        with overlay_path.open(encoding="utf-8") as handle:
            overlay = yaml.safe_load(handle) or {}
        raw = deep_merge(raw, overlay)
    raw["profile"] = chosen
    return raw


def load_params(path: str | Path | None = None, profile: str | None = None) -> HermesParams:
    """Read, overlay and validate the parameters; raise :class:`ParameterError` on any fault."""
    params_path = Path(path) if path is not None else find_params_file()
    raw = load_raw_params(params_path, profile)
    try:
        return HermesParams.model_validate(raw)
    except ValidationError as error:
        raise ParameterError(format_validation_error(error, str(params_path))) from None
