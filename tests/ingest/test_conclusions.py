"""The conclusions read the numbers: on the hand-built tables of ``conftest.py`` every sentence
is checked against the value worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from hermes_core.ingest.conclusions import ingest_conclusions
from hermes_core.ingest.metrics import ingest_metrics
from hermes_core.ingest.profile import data_profile
from hermes_core.ingest.stage import IngestStageResult


def test_conclusions_of_logged_feedback(logged_tables: dict[str, pd.DataFrame],
                                        make_stage: Callable[..., IngestStageResult]) -> None:
    stage = make_stage(logged_tables, "world-like")
    profile = data_profile(logged_tables)
    text = ingest_conclusions(stage, profile, ingest_metrics(stage, profile))
    assert "- 19 raw records came in; 19 were accepted and 0 (0.00%) quarantined" in text  # 4 + 5 + 10 rows
    assert "records in = accepted + quarantined holds" in text
    assert "1 users (25.0%) have no impression: the median is 1.5 impressions over all users but 2 over the 3 active" \
        in text
    assert "2 items (40.0%) have no impression; 1 of them were created after the last impression (cold" in text
    assert "1 items have their first impression before their `created_at`" in text
    # 4 of 7 impressions on the top item: 57.1%, 5.7 times the uniform 10%, above the 20% long-tail line
    assert "The top 10% of items take 57.1% of impressions, 5.7× their share under uniform popularity: a long tail." \
        in text
    assert "A mainstream item gets 9.0× the impressions of an independent one" in text  # 3.0 vs 1/3


def test_conclusions_of_ratings(rating_tables: dict[str, pd.DataFrame],
                                make_stage: Callable[..., IngestStageResult]) -> None:
    # MovieLens-like: r3 has no rating, so the README's minimum of 20 ratings per user does not hold here
    rated = make_stage(rating_tables, "movielens-100k")
    profile = data_profile(rating_tables)
    text = ingest_conclusions(rated, profile, ingest_metrics(rated, profile))
    assert "'every user rated at least 20 movies' does not hold for the ingested ratings (minimum 0" in text
    assert "The mean rating is 4.00; the most common value is 4 (50.0% of ratings)." in text
    assert "no injected records" in text
    assert "mainstream" not in text
