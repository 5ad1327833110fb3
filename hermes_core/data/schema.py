"""The universal multi-domain schema: assets, users, logged requests, interactions.

Every source (the synthetic world, MovieLens, ...) is mapped into these frozen pydantic v2
models before anything downstream reads it. Cross-record rules (duplicate ids, references
to unknown users or items) are checked by :mod:`hermes_core.ingest.validate`, which sees all records;
the models check everything a single record can tell.

Validation context (``model_validate(record, context=...)``):

- ``now`` (datetime): records stamped after it are rejected as ``timestamp in the future``;
- ``dense_dim`` (int): the required length of ``UniversalAsset.dense_features``;
- ``rating_scale`` (:class:`RatingScale`): the ratings the source allows; a ``rating`` event
  whose ``value`` is off it is rejected (``None``: any finite value, as for the world, which has
  no ratings).

Metadata that a real catalogue may lack are optional: an asset's ``created_at`` and a movie's
``year`` (MovieLens 100K's item 267 has the title "unknown", no release date and no year; its
ratings are real and must not be dropped with it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

Domain = Literal["movie", "music", "product", "news"]
EventType = Literal["impression", "click", "conversion", "rating"]
Cohort = Literal["mainstream", "independent"]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class FrozenRecord(BaseModel):
    """A validated, immutable record that rejects unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class RatingScale:
    """The ratings a source allows: ``low``, ``low + step``, ..., ``high``.

    MovieLens 100K and 1M: whole stars 1 to 5; latest: half stars 0.5 to 5 (their READMEs).
    A value is on the scale when ``low <= value <= high`` and ``(value - low) / step`` is an
    integer (to 1e-9, so that 3.5 read from text is on a half-star scale).
    """

    low: float
    high: float
    step: float

    def __post_init__(self) -> None:
        if not (self.step > 0 and self.low <= self.high):
            raise ValueError(f"rating scale needs step > 0 and low <= high, got {self}")

    def contains(self, value: float) -> bool:
        steps = (value - self.low) / self.step
        return self.low - 1e-9 <= value <= self.high + 1e-9 and abs(steps - round(steps)) < 1e-9

    def __str__(self) -> str:
        return f"{self.low:g} to {self.high:g} in steps of {self.step:g}"


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _check_not_future(value: datetime, info: ValidationInfo) -> datetime:
    value = _as_utc(value)
    now = (info.context or {}).get("now")
    if now is not None and value > _as_utc(now):
        raise ValueError(f"timestamp in the future: {value.isoformat()} is after {now.isoformat()}")
    return value


class MovieAttributes(FrozenRecord):
    domain: Literal["movie"] = "movie"
    genre: NonEmptyText
    year: int | None = Field(default=None, ge=1870, le=2100)  # None: the source does not know it


class MusicAttributes(FrozenRecord):
    domain: Literal["music"] = "music"
    genre: NonEmptyText
    artist: NonEmptyText
    album: NonEmptyText


class ProductAttributes(FrozenRecord):
    domain: Literal["product"] = "product"
    brand: NonEmptyText
    category: NonEmptyText
    price: float = Field(gt=0.0, allow_inf_nan=False)


class NewsAttributes(FrozenRecord):
    domain: Literal["news"] = "news"
    topic: NonEmptyText
    outlet: NonEmptyText
    published_at: datetime


DomainAttributes = Annotated[
    Union[MovieAttributes, MusicAttributes, ProductAttributes, NewsAttributes],
    Field(discriminator="domain"),
]


class UniversalAsset(FrozenRecord):
    """One catalogue item of any domain.

    ``dense_features`` are numeric side features supplied by the source (their length is
    fixed per source through the ``dense_dim`` validation context); ``attributes`` carries
    the domain's own fields and must agree with ``domain``.
    """

    asset_id: NonEmptyText
    domain: Domain
    title: NonEmptyText
    image_uri: str | None = None
    text_content: str | None = None
    dense_features: tuple[FiniteFloat, ...] = ()
    created_at: datetime | None = None  # None: the source does not know when the item appeared
    creator_id: NonEmptyText
    creator_name: NonEmptyText
    creator_cohort: Cohort | None = None
    attributes: DomainAttributes

    @field_validator("created_at")
    @classmethod
    def _created_not_in_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if value is None else _check_not_future(value, info)

    @field_validator("dense_features")
    @classmethod
    def _dense_length(cls, value: tuple[float, ...], info: ValidationInfo) -> tuple[float, ...]:
        expected = (info.context or {}).get("dense_dim")
        if expected is not None and len(value) != expected:
            raise ValueError(f"embedding of the wrong length: {len(value)} values, expected {expected}")
        return value

    @model_validator(mode="after")
    def _attributes_match_domain(self) -> UniversalAsset:
        if self.attributes.domain != self.domain:
            raise ValueError(
                f"attributes are for domain '{self.attributes.domain}' but the asset is '{self.domain}'"
            )
        return self


class User(FrozenRecord):
    """A user with optional static side features."""

    user_id: NonEmptyText
    created_at: datetime | None = None
    segment: str | None = None
    features: dict[str, float] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _created_not_in_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if value is None else _check_not_future(value, info)


class LoggedRequest(FrozenRecord):
    """One recommendation request: who asked, when, in which session, and the candidates
    the logging policy chose its slate from (``context_item_id``: the last item the user
    clicked in this session before the request, if any)."""

    request_id: NonEmptyText
    user_id: NonEmptyText
    session_id: NonEmptyText
    timestamp: datetime
    context_item_id: str | None = None
    candidate_item_ids: tuple[NonEmptyText, ...] = Field(min_length=1)

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _check_not_future(value, info)


class Interaction(FrozenRecord):
    """One logged event. Impressions carry the slate position and the logging policy's
    marginal probability of showing this item at this position (``propensity``); clicks
    carry the position; conversions carry neither; explicit ratings (MovieLens) carry the
    rating in ``value``."""

    event_type: EventType
    request_id: str | None = None
    user_id: NonEmptyText
    item_id: NonEmptyText
    timestamp: datetime
    position: int | None = Field(default=None, ge=0)
    propensity: float | None = Field(default=None, gt=0.0, le=1.0)
    value: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _check_not_future(value, info)

    @field_validator("value")
    @classmethod
    def _rating_on_scale(cls, value: float | None, info: ValidationInfo) -> float | None:
        scale = (info.context or {}).get("rating_scale")
        if value is None or scale is None or info.data.get("event_type") != "rating":
            return value
        if not scale.contains(value):
            raise ValueError(f"rating {value:g} outside the source's rating scale ({scale})")
        return value

    @model_validator(mode="after")
    def _fields_for_event(self) -> Interaction:
        if self.event_type == "impression" and (self.position is None or self.propensity is None):
            raise ValueError("an impression needs both position and propensity")
        if self.event_type == "click" and self.position is None:
            raise ValueError("a click needs its position")
        if self.event_type == "rating" and self.value is None:
            raise ValueError("a rating needs its value")
        return self


class KnowledgeTriple(FrozenRecord):
    """A typed edge ``(head) -[relation]-> (tail)`` of the knowledge graph."""

    head: NonEmptyText
    relation: Literal["created_by", "has_genre", "in_domain", "collaborated_with"]
    tail: NonEmptyText


class TextQuery(FrozenRecord):
    """A free-text query issued by a user (its intent is ground truth, kept by the world)."""

    query_id: NonEmptyText
    user_id: str | None = None
    text: NonEmptyText
    timestamp: datetime | None = None


TABLE_MODELS: dict[str, type[FrozenRecord]] = {
    "assets": UniversalAsset,
    "users": User,
    "requests": LoggedRequest,
    "interactions": Interaction,
    "kg_triples": KnowledgeTriple,
    "queries": TextQuery,
}
"""The model that validates each raw table, by table name."""


def primary_key(table: str) -> str | None:
    """The id field that must be unique within ``table`` (``None``: no uniqueness rule)."""
    return {
        "assets": "asset_id",
        "users": "user_id",
        "requests": "request_id",
        "queries": "query_id",
    }.get(table)


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


def describe_schema(models: dict[str, type[FrozenRecord]] | None = None) -> list[FieldDescription]:
    """The schema table (table, field, readable type, constraints) of every raw table, in
    :data:`TABLE_MODELS` order, for notebooks and docs (``pandas.DataFrame(describe_schema())``)."""
    return [row for table, model in (models or TABLE_MODELS).items() for row in describe_model(table, model)]
