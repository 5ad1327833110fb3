"""The notebook's conclusions, each sentence computed from the numbers the notebook shows."""

from __future__ import annotations

from typing import Any

from hermes_core.ingest.profile import DataProfile, cohort_table, popularity_by_cohort
from hermes_core.ingest.quarantine import injection_recovery
from hermes_core.ingest.sources import world_summary
from hermes_core.ingest.stage import IngestStageResult

MOVIELENS_MIN_RATINGS_PER_USER = 20
"""Every MovieLens variant's README: each user has rated at least 20 movies."""

LONG_TAIL_TOP10_SHARE = 0.2
"""Above this share of events on the top 10% of items (twice their share under uniform
popularity) the conclusions call the popularity a long tail."""


def ingest_conclusions(stage: IngestStageResult, profile: DataProfile, metrics: dict[str, Any]) -> str:
    """The notebook's conclusions as Markdown bullets, each computed from the numbers shown
    (and phrased so that it would read false if those numbers were different)."""
    result = stage.result
    event = profile.event_type
    balanced = result.records_in == result.records_accepted + result.records_quarantined
    lines = [f"- {result.records_in:,} raw records came in; {result.records_accepted:,} were accepted and "
             f"{result.records_quarantined:,} ({metrics['quarantine_share']:.2%}) quarantined, so records in = "
             f"accepted + quarantined {'holds' if balanced else 'FAILS'}."]
    by_reason = result.quarantine_by_reason()
    if by_reason:
        top_reason = max(by_reason, key=lambda reason: by_reason[reason])
        lines.append(f"- The most common reason is `{top_reason}` ({by_reason[top_reason]:,} of "
                     f"{result.records_quarantined:,} quarantined records).")
    recovery = injection_recovery(stage)
    if recovery is not None:
        share = recovery.recovered_share
        lines.append(f"- Of the {recovery.injected:,} malformed records the world injected, {recovery.recovered:,} "
                     f"({'n/a' if share is None else f'{share:.1%}'}) were quarantined, and "
                     f"{recovery.false_quarantines:,} records that were not injected were quarantined too.")
    else:
        lines.append(f"- Source `{stage.source}` has no injected records, so the quarantine cannot be checked "
                     "against a known list: its records are defects of the files themselves "
                     "(examples in section 5).")
    lines.append(f"- {profile.n_users:,} users and {profile.n_items:,} items; {profile.n_pairs:,} distinct "
                 f"(user, item) pairs with at least one {event} fill {profile.density:.2%} of the user × item matrix "
                 f"(sparsity {profile.sparsity:.2%}).")
    if profile.users_without_events:
        lines.append(f"- {profile.users_without_events:,} users ({profile.users_without_events_share:.1%}) have "
                     f"no {event}: the median is {profile.median_per_user_all:g} {event}s over all users but "
                     f"{profile.median_per_user_active:g} over the {profile.n_users - profile.users_without_events:,} "
                     f"active ones, so a statistic over active users alone overstates a typical user's activity.")
    else:
        lines.append(f"- Every user has at least one {event} (minimum {profile.events_per_user.min():,}); the median "
                     f"is {profile.median_per_user_all:g} {event}s per user.")
    if stage.source.startswith("movielens"):
        minimum = int(profile.events_per_user.min()) if profile.n_users else 0
        holds = minimum >= MOVIELENS_MIN_RATINGS_PER_USER
        lines.append(f"- The README's 'every user rated at least {MOVIELENS_MIN_RATINGS_PER_USER} movies' "
                     f"{'holds' if holds else 'does not hold'} for the ingested ratings (minimum {minimum}"
                     f"{'' if holds else ', after quarantine'}).")
    items_line = (f"- {profile.items_without_events:,} items ({profile.items_without_events_share:.1%}) have no {event}"
                  if profile.items_without_events else f"- Every item has at least one {event}")
    if profile.cold_items:
        items_line += f"; {profile.cold_items:,} of them were created after the last {event} (cold items)"
    lines.append(items_line + ".")
    if profile.items_with_events_before_creation:
        release = (" (for MovieLens it is the release date, or 1 January of the title's year)"
                   if stage.source.startswith("movielens") else "")
        lines.append(f"- {profile.items_with_events_before_creation:,} items have their first {event} before their "
                     "`created_at`: "
                     f"`created_at` is not when an item entered the catalogue{release}, so a point-in-time "
                     f"filter on it would hide real {event}s.")
    top10 = profile.top10pct_share
    lines.append(f"- The top 10% of items take {top10:.1%} of {event}s, {top10 / 0.1:.1f}× their share under "
                 f"uniform popularity: {'a long tail' if top10 > LONG_TAIL_TOP10_SHARE else 'no marked long tail'}.")
    cohorts = cohort_table(popularity_by_cohort(result.tables, event))
    if cohorts is not None and {"mainstream", "independent"} <= set(cohorts.index):
        ratio = cohorts.loc["mainstream", "mean"] / cohorts.loc["independent", "mean"]
        lines.append(f"- A mainstream item gets {ratio:.1f}× the {event}s of an independent one on average "
                     f"({cohorts.loc['mainstream', 'mean']:.1f} vs {cohorts.loc['independent', 'mean']:.1f}).")
    if profile.rating_counts is not None and profile.mean_rating is not None:
        mode = profile.rating_counts.idxmax()
        lines.append(f"- The mean rating is {profile.mean_rating:.2f}; the most common value is {mode:g} "
                     f"({profile.rating_counts[mode] / profile.rating_counts.sum():.1%} of ratings).")
    if stage.world is not None:
        summary = world_summary(stage.world)
        lines.append(f"- Ground truth: the logging policy's click-through rate is {summary['click_through_rate']:.3f} "
                     f"per impression; {summary['conversion_rate_per_click']:.1%} of clicks convert and "
                     f"{summary['conversions_censored_share']:.1%} of their conversions arrive after the log's window "
                     "closes (censored in the log); the delayed-feedback stage's own stream, with its late labels, "
                     "is in §7.1.")
    return "\n".join(lines)
