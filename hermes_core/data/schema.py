"""The universal multi-domain schema: assets, users, logged requests, interactions, and the
click-to-conversion stream (its clicks and their conversions).

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

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

# re-exported: the schema's description in words lives in its own module
from hermes_core.data.schema_describe import (  # noqa: F401
    FIELD_VALIDATOR_RULES,
    FieldDescription,
    describe_model,
    field_constraints,
    metadata_constraints,
    readable_type,
)

Domain = Literal["movie", "music", "product", "news"]
EventType = Literal["impression", "click", "conversion", "rating"]
Cohort = Literal["mainstream", "independent"]
Device = Literal["mobile", "desktop", "tablet"]  # the world's DEVICES (hermes_core.world.conversions)
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
    the domain's own fields and must agree with ``domain``; ``tags`` are optional
    interpretable labels (``None``: the source has none, as MovieLens).
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
    tags: tuple[NonEmptyText, ...] | None = None  # interpretable labels (the world: top themes, then styles)

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


Relation = Literal["created_by", "has_genre", "in_domain", "collaborated_with", "has_theme", "has_style"]
WEIGHTED_RELATIONS: frozenset[str] = frozenset({"has_theme", "has_style"})
"""Relations whose edges carry a weight: the item's loading on the theme or style (a share in [0, 1])."""


class KnowledgeTriple(FrozenRecord):
    """A typed edge ``(head) -[relation]-> (tail)`` of the knowledge graph.

    ``weight`` in ``[0, 1]``: how strongly the head holds the tail; required by the weighted
    relations (:data:`WEIGHTED_RELATIONS`: the world's item loading on a theme or style, see
    :mod:`hermes_core.world.export_kg`), optional for the others.
    """

    head: NonEmptyText
    relation: Relation
    tail: NonEmptyText
    weight: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _weighted_relations_carry_a_weight(self) -> KnowledgeTriple:
        if self.relation in WEIGHTED_RELATIONS and self.weight is None:
            raise ValueError(f"a '{self.relation}' triple needs its weight (the loading, in [0, 1])")
        return self


class TextQuery(FrozenRecord):
    """A free-text query issued by a user (its intent is ground truth, kept by the world)."""

    query_id: NonEmptyText
    user_id: str | None = None
    text: NonEmptyText
    timestamp: datetime | None = None


class ConversionClick(FrozenRecord):
    """One click of the click-to-conversion stream of the delayed-feedback stage: who clicked
    which item, when, at which hour of the day (UTC, ``0..23``) and on which device.

    It carries the features a conversion model may use and nothing of the truth (no
    conversion probability, label or delay): labels arrive later, as :class:`ConversionEvent`.
    """

    click_id: NonEmptyText
    user_id: NonEmptyText
    item_id: NonEmptyText
    timestamp: datetime
    hour: int = Field(ge=0, le=23)
    device: Device

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _check_not_future(value, info)


class ConversionEvent(FrozenRecord):
    """The counted conversion of one :class:`ConversionClick` (its true label is 1), stamped
    with when it happened, also after the logging window (the late labels): which of them a
    learner may see at a given time is for the delayed-feedback stage to decide."""

    click_id: NonEmptyText
    timestamp: datetime

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _check_not_future(value, info)


TABLE_MODELS: dict[str, type[FrozenRecord]] = {
    "assets": UniversalAsset,
    "users": User,
    "requests": LoggedRequest,
    "interactions": Interaction,
    "kg_triples": KnowledgeTriple,
    "queries": TextQuery,
    "conversion_clicks": ConversionClick,
    "conversion_events": ConversionEvent,
}
"""The model that validates each raw table, by table name."""


def primary_key(table: str) -> str | None:
    """The id field that must be unique within ``table`` (``None``: no uniqueness rule)."""
    return {
        "assets": "asset_id",
        "users": "user_id",
        "requests": "request_id",
        "queries": "query_id",
        "conversion_clicks": "click_id",
        "conversion_events": "click_id",  # a click converts at most once
    }.get(table)


def describe_schema(models: dict[str, type[FrozenRecord]] | None = None) -> list[FieldDescription]:
    """The schema table (table, field, readable type, constraints) of every raw table, in
    :data:`TABLE_MODELS` order, for notebooks and docs (``pandas.DataFrame(describe_schema())``)."""
    return [row for table, model in (models or TABLE_MODELS).items() for row in describe_model(table, model)]
