"""The universal schema: what a single record may and may not hold.

Each invalid case changes one field of a valid record, so the test fails if that one rule
is missing; the expected pydantic error type (or the custom message) is asserted, not only
that *something* failed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from hermes_core.data.schema import (
    TABLE_MODELS,
    ConversionClick,
    ConversionEvent,
    Interaction,
    KnowledgeTriple,
    LoggedRequest,
    RatingScale,
    TextQuery,
    UniversalAsset,
    User,
    primary_key,
)

NOW = datetime(2025, 5, 1, tzinfo=timezone.utc)
CONTEXT = {"now": NOW, "dense_dim": 3}

ATTRIBUTES: dict[str, dict[str, Any]] = {
    "movie": {"domain": "movie", "genre": "drama", "year": 1999},
    "music": {"domain": "music", "genre": "jazz", "artist": "Ana Lu", "album": "Blue Hours"},
    "product": {"domain": "product", "brand": "Acme", "category": "home", "price": 19.99},
    "news": {"domain": "news", "topic": "science", "outlet": "Daily Fact", "published_at": "2025-03-01T08:00:00Z"},
}


def asset(domain: str = "movie", **changes: Any) -> dict[str, Any]:
    record = {
        "asset_id": f"a:{domain}", "domain": domain, "title": "A title", "image_uri": None,
        "text_content": "words", "dense_features": [0.1, -0.2, 0.3], "created_at": "2025-01-01T00:00:00Z",
        "creator_id": "c:1", "creator_name": "Creator One", "creator_cohort": "independent",
        "attributes": dict(ATTRIBUTES[domain]),
    }
    record.update(changes)
    return record


def event(event_type: str = "impression", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"event_type": event_type, "request_id": "r:1", "user_id": "u:1", "item_id": "a:1",
                              "timestamp": "2025-04-30T12:00:00Z"}
    if event_type == "impression":
        record.update(position=0, propensity=0.25)
    elif event_type == "click":
        record.update(position=2)
    elif event_type == "rating":
        record.update(value=4.0, request_id=None)
    record.update(changes)
    return record


def error_types(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [item["type"] for item in error.value.errors()]


def messages(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " | ".join(item["msg"] for item in error.value.errors())


# ---------------------------------------------------------------------- assets
@pytest.mark.parametrize("domain", ["movie", "music", "product", "news"])
def test_valid_asset_of_each_domain(domain: str) -> None:
    parsed = UniversalAsset.model_validate(asset(domain), context=CONTEXT)
    assert parsed.domain == domain
    assert parsed.attributes.domain == domain
    assert type(parsed.attributes).__name__ == f"{domain.capitalize()}Attributes"
    assert parsed.dense_features == (0.1, -0.2, 0.3)
    assert parsed.created_at == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_attributes_of_another_domain_are_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset("music", attributes=dict(ATTRIBUTES["movie"])), context=CONTEXT)
    assert "attributes are for domain 'movie' but the asset is 'music'" in messages(error)


def test_unknown_domain_is_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate({**asset("movie"), "domain": "podcast"}, context=CONTEXT)
    assert error_types(error) == ["literal_error"]


def test_future_creation_time_is_rejected_against_context_now() -> None:
    one_second_late = (NOW + timedelta(seconds=1)).isoformat()
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(created_at=one_second_late), context=CONTEXT)
    assert "timestamp in the future" in messages(error)
    # exactly "now" is not in the future; without a context there is no "now" to compare with
    assert UniversalAsset.model_validate(asset(created_at=NOW.isoformat()), context=CONTEXT).created_at == NOW
    assert UniversalAsset.model_validate(asset(created_at=one_second_late)).created_at > NOW


def test_naive_timestamps_are_read_as_utc() -> None:
    # 2025-05-01T00:00:01 without an offset is one second after NOW (UTC), so it is in the future;
    # 2025-05-01T04:00:00+05:00 is 23:00 UTC the day before, so it is not
    with pytest.raises(ValidationError, match="timestamp in the future"):
        UniversalAsset.model_validate(asset(created_at="2025-05-01T00:00:01"), context=CONTEXT)
    parsed = UniversalAsset.model_validate(asset(created_at="2025-05-01T04:00:00+05:00"), context=CONTEXT)
    assert parsed.created_at == datetime(2025, 4, 30, 23, tzinfo=timezone.utc)


def test_dense_features_must_have_the_context_length() -> None:
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(dense_features=[0.1, 0.2]), context=CONTEXT)
    assert "embedding of the wrong length: 2 values, expected 3" in messages(error)
    # without dense_dim in the context any length passes
    assert len(UniversalAsset.model_validate(asset(dense_features=[0.1, 0.2])).dense_features) == 2


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title_is_rejected(title: str) -> None:
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(title=title), context=CONTEXT)
    assert error_types(error) == ["string_too_short"]


def test_unexpected_field_is_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(rating=5), context=CONTEXT)
    assert error_types(error) == ["extra_forbidden"]


def test_metadata_a_real_catalogue_lacks_are_optional() -> None:
    # MovieLens 100K's item 267: title "unknown", no release date, no year
    record = asset(title="unknown", created_at=None, attributes={"domain": "movie", "genre": "unknown"})
    parsed = UniversalAsset.model_validate(record, context=CONTEXT)
    assert (parsed.title, parsed.created_at, parsed.attributes.year) == ("unknown", None, None)
    # a year that is there must still be a plausible one, and a date a date
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(attributes={**ATTRIBUTES["movie"], "year": 1700}), context=CONTEXT)
    assert error_types(error) == ["greater_than_equal"]
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(created_at="31-Foo-1994"), context=CONTEXT)
    assert error_types(error) == ["datetime_from_date_parsing"]


def test_product_price_must_be_positive() -> None:
    attributes = {**ATTRIBUTES["product"], "price": 0.0}
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset("product", attributes=attributes), context=CONTEXT)
    assert error_types(error) == ["greater_than"]


# ---------------------------------------------------------------------- interactions
@pytest.mark.parametrize("event_type", ["impression", "click", "conversion", "rating"])
def test_valid_event_of_each_type(event_type: str) -> None:
    parsed = Interaction.model_validate(event(event_type), context=CONTEXT)
    assert parsed.event_type == event_type


@pytest.mark.parametrize("missing", ["position", "propensity"])
def test_impression_without_position_or_propensity_is_rejected(missing: str) -> None:
    record = event("impression")
    record.pop(missing)
    with pytest.raises(ValidationError) as error:
        Interaction.model_validate(record, context=CONTEXT)
    assert "an impression needs both position and propensity" in messages(error)


def test_click_without_position_is_rejected() -> None:
    record = event("click")
    record.pop("position")
    with pytest.raises(ValidationError, match="a click needs its position"):
        Interaction.model_validate(record, context=CONTEXT)


@pytest.mark.parametrize(("propensity", "kind"), [(0.0, "greater_than"), (-0.1, "greater_than"),
                                                  (1.0000001, "less_than_equal"), (1.5, "less_than_equal")])
def test_propensity_must_lie_in_zero_one(propensity: float, kind: str) -> None:
    with pytest.raises(ValidationError) as error:
        Interaction.model_validate(event(propensity=propensity), context=CONTEXT)
    assert error_types(error) == [kind]


def test_propensity_of_exactly_one_is_valid() -> None:
    # a deterministic logging policy shows its item with probability 1: the bound is inclusive
    assert Interaction.model_validate(event(propensity=1.0), context=CONTEXT).propensity == 1.0


def test_rating_without_value_is_rejected() -> None:
    with pytest.raises(ValidationError, match="a rating needs its value"):
        Interaction.model_validate(event("rating", value=None), context=CONTEXT)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_value_is_rejected(value: float) -> None:
    with pytest.raises(ValidationError) as error:
        Interaction.model_validate(event("rating", value=value), context=CONTEXT)
    assert error_types(error) == ["finite_number"]


WHOLE_STARS = RatingScale(1.0, 5.0, 1.0)  # MovieLens 100K and 1M
HALF_STARS = RatingScale(0.5, 5.0, 0.5)  # MovieLens latest


@pytest.mark.parametrize(("scale", "value"), [(WHOLE_STARS, 9.0), (WHOLE_STARS, 0.0), (WHOLE_STARS, 2.5),
                                              (HALF_STARS, 0.0), (HALF_STARS, 5.5), (HALF_STARS, 3.25)])
def test_rating_off_the_source_scale_is_rejected_naming_field_and_scale(scale: RatingScale, value: float) -> None:
    with pytest.raises(ValidationError) as error:
        Interaction.model_validate(event("rating", value=value), context={**CONTEXT, "rating_scale": scale})
    (problem,) = error.value.errors()
    assert problem["loc"] == ("value",)
    assert f"rating {value:g} outside the source's rating scale ({scale.low:g} to 5 in steps of {scale.step:g})" \
        in problem["msg"]


@pytest.mark.parametrize(("scale", "value"), [(WHOLE_STARS, 1.0), (WHOLE_STARS, 5.0), (HALF_STARS, 0.5),
                                              (HALF_STARS, 3.5), (HALF_STARS, 5.0)])
def test_rating_on_the_scale_is_accepted(scale: RatingScale, value: float) -> None:
    parsed = Interaction.model_validate(event("rating", value=value), context={**CONTEXT, "rating_scale": scale})
    assert parsed.value == value


def test_rating_scale_applies_to_ratings_only_and_only_with_a_scale() -> None:
    # a conversion's value (revenue) is no rating; and without a scale any finite rating passes
    conversion = Interaction.model_validate(event("conversion", value=49.9), context={**CONTEXT, "rating_scale": WHOLE_STARS})
    assert conversion.value == 49.9
    assert Interaction.model_validate(event("rating", value=9.0), context=CONTEXT).value == 9.0


def test_rating_scale_needs_a_positive_step_and_an_ordered_range() -> None:
    with pytest.raises(ValueError, match="step > 0"):
        RatingScale(1.0, 5.0, 0.0)
    with pytest.raises(ValueError, match="low <= high"):
        RatingScale(5.0, 1.0, 1.0)
    assert str(HALF_STARS) == "0.5 to 5 in steps of 0.5"


def test_negative_position_is_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        Interaction.model_validate(event(position=-1), context=CONTEXT)
    assert error_types(error) == ["greater_than_equal"]


def test_future_event_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timestamp in the future"):
        Interaction.model_validate(event(timestamp="2025-05-01T00:00:01Z"), context=CONTEXT)


# ---------------------------------------------------------------------- other tables
def test_request_needs_at_least_one_candidate() -> None:
    record = {"request_id": "r:1", "user_id": "u:1", "session_id": "s:1", "timestamp": "2025-04-01T00:00:00Z",
              "candidate_item_ids": []}
    with pytest.raises(ValidationError) as error:
        LoggedRequest.model_validate(record, context=CONTEXT)
    assert error_types(error) == ["too_short"]
    record["candidate_item_ids"] = ["a:1", "a:2"]
    assert LoggedRequest.model_validate(record, context=CONTEXT).candidate_item_ids == ("a:1", "a:2")


def test_user_future_signup_and_other_tables() -> None:
    with pytest.raises(ValidationError, match="timestamp in the future"):
        User.model_validate({"user_id": "u:1", "created_at": "2026-01-01T00:00:00Z"}, context=CONTEXT)
    assert User.model_validate({"user_id": "u:1"}, context=CONTEXT).features == {}
    with pytest.raises(ValidationError):
        KnowledgeTriple.model_validate({"head": "a", "relation": "likes", "tail": "b"})
    with pytest.raises(ValidationError):
        TextQuery.model_validate({"query_id": "q:1", "text": " "})


def test_every_table_has_a_model_and_the_expected_primary_key() -> None:
    assert set(TABLE_MODELS) == {"assets", "users", "requests", "interactions", "kg_triples", "queries",
                                 "conversion_clicks", "conversion_events"}
    assert {table: primary_key(table) for table in TABLE_MODELS} == {
        "assets": "asset_id", "users": "user_id", "requests": "request_id", "interactions": None,
        "kg_triples": None, "queries": "query_id",
        # a click converts at most once, so a conversion is keyed by its click
        "conversion_clicks": "click_id", "conversion_events": "click_id",
    }


# ---------------------------------------------------------------------- the conversion stream
def conversion_click(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"click_id": "k:1", "user_id": "u:1", "item_id": "a:1",
                              "timestamp": "2025-04-30T21:15:00Z", "hour": 21, "device": "tablet"}
    record.update(changes)
    return record


def test_valid_conversion_click_and_event() -> None:
    parsed = ConversionClick.model_validate(conversion_click(), context=CONTEXT)
    assert (parsed.hour, parsed.device) == (21, "tablet")
    assert parsed.timestamp == datetime(2025, 4, 30, 21, 15, tzinfo=timezone.utc)
    event_record = ConversionEvent.model_validate({"click_id": "k:1", "timestamp": NOW.isoformat()}, context=CONTEXT)
    assert event_record.timestamp == NOW  # exactly "now" is not in the future
    for device in ("mobile", "desktop", "tablet"):
        assert ConversionClick.model_validate(conversion_click(device=device)).device == device


@pytest.mark.parametrize(("hour", "kind"), [(-1, "greater_than_equal"), (24, "less_than_equal"),
                                            ("evening", "int_parsing"), (2.5, "int_from_float")])
def test_click_hour_is_a_whole_hour_of_the_day(hour: Any, kind: str) -> None:
    with pytest.raises(ValidationError) as error:
        ConversionClick.model_validate(conversion_click(hour=hour), context=CONTEXT)
    assert error_types(error) == [kind]
    assert error.value.errors()[0]["loc"] == ("hour",)


def test_click_device_outside_the_vocabulary_is_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        ConversionClick.model_validate(conversion_click(device="smartwatch"), context=CONTEXT)
    assert error_types(error) == ["literal_error"]


@pytest.mark.parametrize("field", ["click_id", "user_id", "item_id"])
def test_click_ids_must_not_be_blank(field: str) -> None:
    with pytest.raises(ValidationError) as error:
        ConversionClick.model_validate(conversion_click(**{field: "  "}), context=CONTEXT)
    assert error_types(error) == ["string_too_short"]


def test_conversion_records_carry_no_truth_and_no_future() -> None:
    # the truth (probability, label, delay) is not part of a click: an extra field is rejected
    for extra in ("conversion_probability", "label", "delay_days"):
        with pytest.raises(ValidationError) as error:
            ConversionClick.model_validate(conversion_click(**{extra: 1}), context=CONTEXT)
        assert error_types(error) == ["extra_forbidden"]
    late = (NOW + timedelta(seconds=1)).isoformat()
    with pytest.raises(ValidationError, match="timestamp in the future"):
        ConversionClick.model_validate(conversion_click(timestamp=late), context=CONTEXT)
    with pytest.raises(ValidationError, match="timestamp in the future"):
        ConversionEvent.model_validate({"click_id": "k:1", "timestamp": late}, context=CONTEXT)
    with pytest.raises(ValidationError) as error:
        ConversionEvent.model_validate({"click_id": "k:1"}, context=CONTEXT)
    assert error_types(error) == ["missing"]


# ---------------------------------------------------------------------- immutability
def test_records_are_frozen() -> None:
    parsed = UniversalAsset.model_validate(asset("product"), context=CONTEXT)
    with pytest.raises(ValidationError, match="frozen"):
        parsed.title = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        parsed.attributes.price = 1.0  # type: ignore[union-attr,misc]
    impression = Interaction.model_validate(event(), context=CONTEXT)
    with pytest.raises(ValidationError, match="frozen"):
        impression.propensity = 0.9  # type: ignore[misc]
    assert (parsed.title, impression.propensity) == ("A title", 0.25)


# ---------------------------------------------------------------------- the readable schema table
def test_readable_type_of_known_fields() -> None:
    from hermes_core.data.schema import MovieAttributes, readable_type

    def of(model: type, name: str) -> str:
        return readable_type(model.model_fields[name].annotation)

    # tuple[Annotated[float, Field(allow_inf_nan=False)], ...] is a JSON array of floats
    assert of(UniversalAsset, "dense_features") == "list[float]"
    assert of(UniversalAsset, "domain") == "one of: movie, music, product, news"
    # Optional[Literal[...]]: the Literal's values, then "(optional)" for the "| None"
    assert of(UniversalAsset, "creator_cohort") == "one of: mainstream, independent (optional)"
    assert of(UniversalAsset, "asset_id") == "str"  # NonEmptyText: the constraints go to their own column
    assert of(UniversalAsset, "created_at") == "datetime (optional)"  # a real catalogue may not know it
    assert of(User, "created_at") == "datetime (optional)"
    assert of(User, "features") == "dict[str, float]"
    assert of(Interaction, "position") == "int (optional)"
    assert of(LoggedRequest, "candidate_item_ids") == "list[str]"
    assert of(MovieAttributes, "year") == "int (optional)"
    assert of(UniversalAsset, "attributes") == "MovieAttributes | MusicAttributes | ProductAttributes | NewsAttributes"


def test_field_constraints_of_known_fields() -> None:
    from hermes_core.data.schema import MovieAttributes, ProductAttributes, field_constraints

    assert field_constraints(Interaction, "propensity") == "> 0; ≤ 1"          # Field(gt=0.0, le=1.0)
    assert field_constraints(Interaction, "position") == "≥ 0"                 # Field(ge=0)
    assert field_constraints(Interaction, "value") == \
        "finite; a rating on the source's `rating_scale`"                         # + the _rating_on_scale validator
    assert field_constraints(Interaction, "timestamp") == "not after `now`"    # the _not_in_future validator
    assert field_constraints(Interaction, "request_id") == ""                  # nothing beyond the type
    assert field_constraints(MovieAttributes, "year") == "≥ 1870; ≤ 2100"
    assert field_constraints(ProductAttributes, "price") == "> 0; finite"
    assert field_constraints(UniversalAsset, "asset_id") == "length ≥ 1 (whitespace stripped)"
    assert field_constraints(UniversalAsset, "dense_features") == \
        "each value finite; length = `dense_dim`; default: empty"
    assert field_constraints(LoggedRequest, "candidate_item_ids") == \
        "length ≥ 1; each value length ≥ 1 (whitespace stripped)"
    assert field_constraints(UniversalAsset, "attributes") == "chosen by `domain`"
    assert field_constraints(User, "features") == "default: empty"


def test_constraints_not_used_by_the_schema_are_worded_too() -> None:
    # a pattern, a maximum length, a strict upper bound and an undocumented validator
    from typing import Annotated

    from pydantic import BaseModel, Field, StringConstraints, field_validator

    from hermes_core.data.schema import describe_model, field_constraints

    class Probe(BaseModel):
        code: Annotated[str, StringConstraints(pattern=r"^[a-z]+$", max_length=8)]
        share: float = Field(default=0.5, ge=0.0, lt=1.0)

        @field_validator("code")
        @classmethod
        def _odd(cls, value: str) -> str:
            return value

    assert field_constraints(Probe, "code") == "length ≤ 8; matches `^[a-z]+$`; checked by _odd"
    assert field_constraints(Probe, "share") == "≥ 0; < 1; default: 0.5"
    assert [(row.field, row.type) for row in describe_model("probe", Probe)] == [("code", "str"), ("share", "float")]


def test_describe_schema_lists_every_field_once_with_readable_types() -> None:
    from hermes_core.data.schema import describe_schema

    rows = describe_schema()
    top = [(row.table, row.field) for row in rows if row.table in TABLE_MODELS]
    assert top == [(table, name) for table, model in TABLE_MODELS.items() for name in model.model_fields]
    nested = {row.table for row in rows if row.table not in TABLE_MODELS}
    assert nested == {f"assets.attributes ({domain.capitalize()}Attributes)"
                      for domain in ("movie", "music", "product", "news")}
    # the discriminator that picks the attribute model is not repeated in each nested table
    assert not [row for row in rows if row.table in nested and row.field == "domain"]
    assert [row.field for row in rows if row.table == "assets.attributes (NewsAttributes)"] == \
        ["topic", "outlet", "published_at"]
    for row in rows:  # no raw reprs: what the notebook printed before
        assert not any(raw in row.type for raw in ("FieldInfo", "typing.", "<class", "Annotated", "NoneType")), row


# ---------------------------------------------------------------------- knowledge graph and tags
def test_weighted_triples_of_the_new_relations_are_valid() -> None:
    theme = KnowledgeTriple.model_validate({"head": "w:item:000001", "relation": "has_theme",
                                            "tail": "theme:space", "weight": 0.42})
    assert (theme.relation, theme.weight) == ("has_theme", 0.42)
    for weight in (0.0, 1.0):  # the loadings' bounds are inclusive
        assert KnowledgeTriple.model_validate({"head": "i", "relation": "has_style", "tail": "style:red",
                                               "weight": weight}).weight == weight
    # the unweighted relations keep working without a weight
    assert KnowledgeTriple.model_validate({"head": "i", "relation": "created_by", "tail": "c"}).weight is None


@pytest.mark.parametrize(("weight", "expected"), [
    (-0.01, "greater_than_equal"), (1.01, "less_than_equal"), (math.nan, "finite_number"), ("heavy", "float_parsing"),
])
def test_a_triple_weight_outside_zero_one_is_rejected(weight: Any, expected: str) -> None:
    with pytest.raises(ValidationError) as error:
        KnowledgeTriple.model_validate({"head": "i", "relation": "has_theme", "tail": "theme:war", "weight": weight})
    assert error_types(error) == [expected]


def test_a_weighted_relation_needs_its_weight_and_unknown_relations_fail() -> None:
    with pytest.raises(ValidationError, match="'has_style' triple needs its weight"):
        KnowledgeTriple.model_validate({"head": "i", "relation": "has_style", "tail": "style:red"})
    with pytest.raises(ValidationError) as error:
        KnowledgeTriple.model_validate({"head": "i", "relation": "has_mood", "tail": "mood:calm", "weight": 0.5})
    assert error_types(error) == ["literal_error"]


def test_asset_tags_are_optional_and_never_blank() -> None:
    assert UniversalAsset.model_validate(asset(), context=CONTEXT).tags is None  # MovieLens: no tags
    tagged = UniversalAsset.model_validate(asset(tags=["space", "war", "dark", "red"]), context=CONTEXT)
    assert tagged.tags == ("space", "war", "dark", "red")
    with pytest.raises(ValidationError) as error:
        UniversalAsset.model_validate(asset(tags=["space", " "]), context=CONTEXT)
    assert error_types(error) == ["string_too_short"]
