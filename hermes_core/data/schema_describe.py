"""Describing the schema in words: each field's readable type and constraints, for notebooks and docs.

:func:`describe_model` turns a pydantic model into :class:`FieldDescription` rows (field, readable
type, every constraint the model checks); :func:`hermes_core.data.schema.describe_schema` applies it
to every raw table. Nothing here validates a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

FIELD_VALIDATOR_RULES: dict[str, str] = {
    "_created_not_in_future": "not after `now`",
    "_not_in_future": "not after `now`",
    "_dense_length": "length = `dense_dim`",
    "_rating_on_scale": "a rating on the source's `rating_scale`",
}
"""What each field validator of the models checks, in words, by validator name (for
:func:`describe_schema`); a validator missing here is shown as ``checked by <name>``."""

_BOUNDS: tuple[tuple[str, str], ...] = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))


@dataclass(frozen=True)
class FieldDescription:
    """One row of the schema table: a field, its readable type and its constraints."""

    table: str
    field: str
    type: str
    constraint: str


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def readable_type(annotation: Any) -> str:
    """A type annotation as a reader would write it.

    ``str``, ``int``, ``float``, ``datetime``; ``tuple[X, ...]`` -> ``list[X]`` (a JSON array);
    ``Literal["a", "b"]`` -> ``one of: a, b``; ``X | None`` -> ``X (optional)``;
    ``Annotated[X, ...]`` -> ``X`` (its metadata are constraints, see :func:`metadata_constraints`);
    a pydantic model -> its class name.
    """
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is Annotated:
        return readable_type(args[0])
    if origin is Literal:
        return "one of: " + ", ".join(str(value) for value in args)
    if origin in (Union, UnionType):
        members = [member for member in args if member is not type(None)]
        text = " | ".join(readable_type(member) for member in members)
        return f"{text} (optional)" if len(members) < len(args) else text
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list[{readable_type(args[0])}]"
        return "tuple[" + ", ".join(readable_type(arg) for arg in args) + "]"
    if origin in (list, set, frozenset):
        return f"{origin.__name__}[{readable_type(args[0])}]" if args else origin.__name__
    if origin is dict:
        return f"dict[{readable_type(args[0])}, {readable_type(args[1])}]" if args else "dict"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def metadata_constraints(metadata: Iterable[Any]) -> list[str]:
    """Constraints carried by field metadata, in words.

    ``Gt``/``Ge``/``Lt``/``Le`` -> ``> x``, ``≥ x``, ``< x``, ``≤ x``; ``MinLen``/``MaxLen`` and
    ``StringConstraints`` lengths -> ``length ≥ n`` / ``length ≤ n``
    (with `` (whitespace stripped)`` when the string is stripped first); ``pattern`` -> ``matches <regex>``;
    ``allow_inf_nan=False`` -> ``finite``; ``multiple_of`` -> ``multiple of x``.
    """
    words: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[X, Field(...)] nests a FieldInfo
            words.extend(metadata_constraints(item.metadata))
            continue
        for attribute, symbol in _BOUNDS:
            value = getattr(item, attribute, None)
            if value is not None:
                words.append(f"{symbol} {_number(value)}")
        stripped = " (whitespace stripped)" if getattr(item, "strip_whitespace", None) else ""
        if getattr(item, "min_length", None) is not None:
            words.append(f"length ≥ {item.min_length}{stripped}")
        if getattr(item, "max_length", None) is not None:
            words.append(f"length ≤ {item.max_length}{stripped}")
        if getattr(item, "pattern", None) is not None:
            words.append(f"matches `{item.pattern}`")
        if getattr(item, "multiple_of", None) is not None:
            words.append(f"multiple of {_number(item.multiple_of)}")
        if getattr(item, "allow_inf_nan", None) is False:
            words.append("finite")
        if getattr(item, "to_lower", None):
            words.append("lower-cased")
        if getattr(item, "to_upper", None):
            words.append("upper-cased")
    return words


def _element_constraints(annotation: Any) -> list[str]:
    """Constraints on the members of a container (``tuple[Annotated[float, ...], ...]``)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return [word for member in args for word in _element_constraints(member)]
    if origin is Annotated:
        return metadata_constraints(args[1:])
    element = None
    if origin in (tuple, list, set, frozenset) and args:
        element = args[0]
    elif origin is dict and len(args) == 2:
        element = args[1]
    if element is not None and get_origin(element) is Annotated:
        inner = metadata_constraints(get_args(element)[1:])
        return ["each value " + " and ".join(inner)] if inner else []
    return []


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _nested_models(arg)]


def field_constraints(model: type[BaseModel], name: str) -> str:
    """Everything the model checks about one field, in words, joined by ``; ``.

    Metadata constraints (:func:`metadata_constraints`), constraints on container members, the
    discriminator of a tagged union, the field validators (:data:`FIELD_VALIDATOR_RULES`) and
    the default of a field that may be omitted. Empty when nothing is checked beyond the type.
    """
    info = model.model_fields[name]
    words = metadata_constraints(info.metadata) + _element_constraints(info.annotation)
    if isinstance(info.discriminator, str):
        words.append(f"chosen by `{info.discriminator}`")
    for validator_name, decorator in model.__pydantic_decorators__.field_validators.items():
        if name in decorator.info.fields:
            words.append(FIELD_VALIDATOR_RULES.get(validator_name, f"checked by {validator_name}"))
    if not info.is_required() and info.default is not None and info.default_factory is None:
        words.append("default: empty" if info.default in ((), "", []) else f"default: {info.default}")
    elif info.default_factory is not None:
        words.append("default: empty")
    return "; ".join(words)


def describe_model(table: str, model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[FieldDescription]:
    """One :class:`FieldDescription` per field of ``model`` (except ``skip``); a field holding
    nested models (the domain attributes) is followed by their fields, as table
    ``<table>.<field> (<Model>)``, without the discriminator that picks the model."""
    rows: list[FieldDescription] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        rows.append(FieldDescription(table, name, readable_type(info.annotation), field_constraints(model, name)))
        tag = (info.discriminator,) if isinstance(info.discriminator, str) else ()
        for nested in _nested_models(info.annotation):
            rows.extend(describe_model(f"{table}.{name} ({nested.__name__})", nested, skip=tag))
    return rows
