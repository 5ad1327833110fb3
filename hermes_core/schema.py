"""The universal multi-domain schema: assets, users, logged requests, interactions.

Every source (the synthetic world, MovieLens, ...) is mapped into these frozen pydantic v2
models before anything downstream reads it. Cross-record rules (duplicate ids, references
to unknown users or items) are checked by :mod:`hermes_core.ingest`, which sees all records;
the models check everything a single record can tell.

Validation context (``model_validate(record, context=...)``):

- ``now`` (datetime): records stamped after it are rejected as ``timestamp in the future``;
- ``dense_dim`` (int): the required length of ``UniversalAsset.dense_features``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Domain = Literal["movie", "music", "product", "news"]
EventType = Literal["impression", "click", "conversion", "rating"]
Cohort = Literal["mainstream", "independent"]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class FrozenRecord(BaseModel):
    """A validated, immutable record that rejects unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    year: int = Field(ge=1870, le=2100)


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
    created_at: datetime
    creator_id: NonEmptyText
    creator_name: NonEmptyText
    creator_cohort: Cohort | None = None
    attributes: DomainAttributes

    @field_validator("created_at")
    @classmethod
    def _created_not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _check_not_future(value, info)

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


def describe_schema() -> dict[str, dict[str, Any]]:
    """Field name -> type annotation text, per table (for notebooks and docs)."""
    return {
        name: {field: str(info.annotation).replace("typing.", "") for field, info in model.model_fields.items()}
        for name, model in TABLE_MODELS.items()
    }
