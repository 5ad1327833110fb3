"""The synthetic world keeps its promises: determinism, statistics and a consistent truth API.

All tests share one tiny world (``tests/conftest.py``: 200 users, 150 items, 1,500 requests of
5 shown out of 10 candidates). Statistical checks use tolerances of a few standard errors
that are computed in the test from the sample sizes, so a broken generator fails them while
the fixed seed keeps them reproducible.
"""

from __future__ import annotations

import json
from dataclasses import fields
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hermes_core.world.params import DOMAINS
from hermes_core.world import World, index_of
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.export import InjectedRecord, write_raw
from hermes_core.world.preferences import attractiveness, examination

COMPONENTS = ("creators", "catalogue", "users", "logs", "queries")


def component_values(world: World) -> dict[str, Any]:
    """Every array and text of the world, keyed ``component.field``."""
    values: dict[str, Any] = {"collaborations": world.collaborations}
    for name in COMPONENTS:
        part = getattr(world, name)
        for f in fields(part):
            values[f"{name}.{f.name}"] = getattr(part, f.name)
    return values


def assert_same_world(first: World, second: World) -> None:
    a, b = component_values(first), component_values(second)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype, key
            assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), key
        else:
            assert tuple(a[key]) == tuple(b[key]), key
    assert first.scales == second.scales
    assert first.params == second.params


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def clean_records(folder: Path, table: str, injected: list[InjectedRecord]) -> list[dict[str, Any]]:
    """The records of ``table`` that were not injected as malformed."""
    bad_lines = {i.line for i in injected if i.table == table}
    lines = (folder / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for number, line in enumerate(lines, start=1) if number not in bad_lines]


# ---------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_arrays_and_raw_bytes(tiny_world: World, tiny_raw_folder: tuple[Path, list],
                                                       tmp_path: Path) -> None:
    again = World.generate(tiny_world.params)
    assert_same_world(tiny_world, again)
    injected = write_raw(again, tmp_path)
    folder, first_injected = tiny_raw_folder
    first_files, second_files = file_bytes(folder), file_bytes(tmp_path)
    assert first_files.keys() == second_files.keys()
    assert sum(name.endswith(".png") for name in first_files) > 100  # the images are compared too
    differing = [name for name in first_files if first_files[name] != second_files[name]]
    assert differing == []
    assert injected == first_injected


def test_different_seed_gives_a_different_world(tiny_world: World, tmp_path: Path) -> None:
    other = World.generate(tiny_world.params.model_copy(update={"seed": tiny_world.params.seed + 1}))
    assert not np.array_equal(other.catalogue.log_popularity, tiny_world.catalogue.log_popularity)
    assert not np.array_equal(other.users.visual_preference, tiny_world.users.visual_preference)
    assert not np.array_equal(other.logs.candidates, tiny_world.logs.candidates)
    assert other.catalogue.titles != tiny_world.catalogue.titles


def test_resizing_one_component_keeps_the_others_draws(tiny_world: World) -> None:
    # each component draws from its own child seed: more queries must not move items or logs
    other = World.generate(tiny_world.params.model_copy(update={"n_queries": 33}))
    assert len(other.queries.text) == 33
    assert np.array_equal(other.catalogue.dense_features, tiny_world.catalogue.dense_features)
    assert np.array_equal(other.users.hidden_preference, tiny_world.users.hidden_preference)
    assert np.array_equal(other.logs.slate, tiny_world.logs.slate)
    assert np.array_equal(other.logs.clicks, tiny_world.logs.clicks)


# ---------------------------------------------------------------------- promised statistics
def test_relevance_grade_shares_match_relevance_shares(tiny_world: World) -> None:
    # thresholds are quantiles of the affinity on 50,000 pairs: on a fresh sample of 200,000 pairs the
    # grade shares sit within sampling error (sd <= 0.5 / sqrt(200,000) ~ 0.001) plus the threshold's own
    rng = np.random.default_rng(0)
    users = rng.integers(tiny_world.n_users, size=200_000)
    items = rng.integers(tiny_world.n_items, size=200_000)
    grades = tiny_world.pair_relevance(users, items)
    shares = np.bincount(grades, minlength=5) / len(grades)
    assert np.max(np.abs(shares - np.array(tiny_world.params.relevance_shares))) < 0.02
    # the full matrix of 30,000 pairs too
    matrix = tiny_world.relevance(np.arange(tiny_world.n_users))  # (n_users, n_items)
    full_shares = np.bincount(matrix.ravel(), minlength=5) / matrix.size
    assert np.max(np.abs(full_shares - np.array(tiny_world.params.relevance_shares))) < 0.02


def test_pair_relevance_agrees_with_the_relevance_matrix(tiny_world: World) -> None:
    # the truth is a function of (user, item): both entry points must give the same grade everywhere
    users, items = np.meshgrid(np.arange(tiny_world.n_users), np.arange(tiny_world.n_items), indexing="ij")
    pairs = tiny_world.pair_relevance(users.ravel(), items.ravel()).reshape(users.shape)
    matrix = tiny_world.relevance(np.arange(tiny_world.n_users))
    assert np.argwhere(pairs != matrix).tolist() == []


def test_cold_items_share_and_they_are_never_candidates(tiny_world: World) -> None:
    cold = tiny_world.catalogue.is_cold
    # Binomial(150, 0.1): standard error sqrt(0.1 * 0.9 / 150) = 0.0245; allow 3 of them
    assert abs(cold.mean() - tiny_world.params.cold_item_share) < 3 * np.sqrt(0.1 * 0.9 / tiny_world.n_items)
    assert cold.sum() > 0
    assert not np.isin(tiny_world.logs.candidates, np.flatnonzero(cold)).any()
    log_seconds = tiny_world.params.log_days * SECONDS_PER_DAY
    end_seconds = log_seconds + tiny_world.params.cold_window_days * SECONDS_PER_DAY
    created = tiny_world.catalogue.created_at
    assert np.all((created[cold] > log_seconds) & (created[cold] <= end_seconds))  # created after the log
    assert np.all(created[~cold] < 0)  # warm items exist before the log starts


def test_logging_marginals_are_distributions_over_candidates(tiny_world: World) -> None:
    marginals = tiny_world.logs.logging_marginals  # (n_req, C, K)
    assert marginals.shape == (1500, 10, 5)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, rtol=0, atol=1e-12)  # one item per position
    assert np.all(marginals.sum(axis=2) <= 1.0 + 1e-12)  # an item at most once per slate
    assert np.all(marginals > 0.0)


def test_logged_propensity_is_the_marginal_at_the_shown_slot(tiny_world: World,
                                                           tiny_raw_folder: tuple[Path, list]) -> None:
    folder, injected = tiny_raw_folder
    logs = tiny_world.logs
    impressions = [r for r in clean_records(folder, "interactions", injected) if r["event_type"] == "impression"]
    assert len(impressions) == 1500 * 5  # n_requests * slate_size
    for record in impressions:
        r, k = index_of(record["request_id"]), record["position"]
        slot = logs.slate[r, k]
        assert index_of(record["item_id"]) == logs.candidates[r, slot]
        assert record["propensity"] == logs.logging_marginals[r, slot, k]  # exact: JSON keeps float repr


def test_logging_policy_value_matches_observed_click_through_rate(tiny_world: World) -> None:
    # E[CTR | requests] = V(logging): the marginals are the exact slot probabilities of the sampler
    # and q(r, a, k) is the click model that drew the clicks
    value = tiny_world.logging_policy_value()
    clicks = tiny_world.logs.clicks
    standard_error = np.sqrt(value * (1 - value) / clicks.size)  # 7,500 impressions: ~0.0042
    assert abs(clicks.mean() - value) < 4 * standard_error


def test_uniform_policy_value_by_hand(tiny_world: World) -> None:
    # pi(a | r, k) = 1/C: V = mean over (r, k) of mean_a attr(g~_ra) theta_k = mean(attr) * mean(theta),
    # g~ the continuous grade: k - 1/2 at the threshold between grades k - 1 and k, linear in between, 4 at top_affinity
    params = tiny_world.params
    uniform = np.full((1500, 10, 5), 1.0 / 10)
    t = list(tiny_world.scales.thresholds)
    knots = [t[0] - (t[1] - t[0])] + t + [tiny_world.scales.top_affinity]
    grades = np.interp(tiny_world.logs.candidate_affinity, knots, [0.0, 0.5, 1.5, 2.5, 3.5, 4.0])
    attr = params.click_floor + (params.click_ceiling - params.click_floor) * (2.0 ** grades - 1.0) / 15.0
    expected = attr.mean() * ((np.arange(5) + 1.0) ** -params.examination_decay).mean()
    assert tiny_world.policy_value(uniform) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="expected"):
        tiny_world.policy_value(uniform[:, :, :4])


def test_greedy_policy_on_true_relevance_beats_logging(tiny_world: World) -> None:
    # q(r, a, k) = attr(g~_ra) * theta_k with theta decreasing: by the rearrangement inequality,
    # showing candidates by decreasing continuous affinity maximises the value of every request
    relevance = tiny_world.logs.candidate_affinity  # (n_req, C)
    order = np.argsort(-relevance, axis=1, kind="stable")[:, :5]  # (n_req, K)
    greedy = np.zeros((1500, 10, 5))
    rows = np.arange(1500)[:, None]
    greedy[rows, order, np.arange(5)[None, :]] = 1.0
    greedy_value, logging_value = tiny_world.policy_value(greedy), tiny_world.logging_policy_value()
    assert greedy_value > logging_value
    # brute force on a few requests: no ordered slate of 5 of the 10 candidates does better
    q = tiny_world.candidate_click_probabilities()  # (n_req, C, K)
    slates = np.array(list(permutations(range(10), 5)))  # (30240, K)
    for r in range(5):
        best = q[r, slates, np.arange(5)].sum(axis=1).max()
        assert tiny_world.policy_value(greedy[r:r + 1], requests=np.array([r])) * 5 == pytest.approx(best, rel=1e-12)


def test_mainstream_items_get_more_impressions(tiny_world: World) -> None:
    logs, catalogue = tiny_world.logs, tiny_world.catalogue
    shown = np.take_along_axis(logs.candidates, logs.slate, 1).ravel()
    impressions = np.bincount(shown, minlength=tiny_world.n_items)
    mainstream = tiny_world.creators.mainstream[catalogue.creator]
    warm = ~catalogue.is_cold
    assert (mainstream & warm).sum() > 0 and (~mainstream & warm).sum() > 0
    # the mainstream boost (1.5 in log-popularity) enters both retrieval and affinity
    assert impressions[mainstream & warm].mean() > impressions[~mainstream & warm].mean()


def test_click_through_rate_decreases_with_position(tiny_world: World) -> None:
    logs = tiny_world.logs
    q = tiny_world.candidate_click_probabilities()
    expected = (logs.logging_marginals * q).sum(axis=1).mean(axis=0)  # (K,) exact expectation per position
    observed = logs.clicks.mean(axis=0)
    assert np.all(np.diff(expected) < 0)
    standard_error = np.sqrt(expected * (1 - expected) / len(logs.clicks))
    assert np.all(np.abs(observed - expected) < 4 * standard_error)
    assert np.all(np.diff(observed) < 0)


def test_observed_conversions_follow_a_click_within_the_log(tiny_world: World,
                                                          tiny_raw_folder: tuple[Path, list]) -> None:
    logs = tiny_world.logs
    log_seconds = tiny_world.params.log_days * SECONDS_PER_DAY
    observed = logs.conversion_observed
    assert observed.sum() > 0
    assert np.all(logs.converted[observed])
    assert np.all(logs.conversion_time[observed] <= log_seconds)
    assert np.all(np.isnan(logs.conversion_time[~logs.converted]))
    click_times = logs.click_time[logs.conv_request, logs.conv_position]
    assert np.all(logs.conversion_time[logs.converted] >= click_times[logs.converted])

    folder, injected = tiny_raw_folder
    records = clean_records(folder, "interactions", injected)
    clicks = {(r["request_id"], r["item_id"]): r["timestamp"] for r in records if r["event_type"] == "click"}
    conversions = [r for r in records if r["event_type"] == "conversion"]
    assert len(conversions) == observed.sum()
    log_end = tiny_world.log_end.isoformat().replace("+00:00", "Z")
    for record in conversions:
        click_time = clicks[(record["request_id"], record["item_id"])]  # a conversion follows its click
        assert click_time <= record["timestamp"] <= log_end  # ISO-8601 Z strings order as times


# ---------------------------------------------------------------------- persistence and queries
def test_save_load_round_trip_keeps_the_truth(tiny_world: World, tmp_path: Path) -> None:
    loaded = World.load(tiny_world.save(tmp_path / "world"))
    assert_same_world(tiny_world, loaded)
    users = np.arange(tiny_world.n_users)
    assert np.array_equal(loaded.relevance(users), tiny_world.relevance(users))
    assert loaded.logging_policy_value() == tiny_world.logging_policy_value()
    for q in range(len(tiny_world.queries.text)):
        assert np.array_equal(loaded.query_relevance(q), tiny_world.query_relevance(q))
    with pytest.raises(FileNotFoundError, match="no saved world"):
        World.load(tmp_path / "nowhere")


def test_constraint_queries_relevant_items_satisfy_every_constraint(tiny_world: World,
                                                                    tiny_raw_folder: tuple[Path, list]) -> None:
    # checked against the exported asset records, not the arrays query_relevance reads
    folder, injected = tiny_raw_folder
    assets = {index_of(a["asset_id"]): a for a in clean_records(folder, "assets", injected)
              if a["asset_id"].count(":") == 2}
    assert len(assets) == tiny_world.n_items

    def satisfies(record: dict[str, Any], spec: dict[str, Any]) -> bool:
        attrs = record["attributes"]
        genre = attrs.get("genre") or attrs.get("category") or attrs.get("topic")
        return (record["domain"] == spec["domain"] and genre == spec["genre"]
                and spec.get("year_min", -10**9) <= attrs.get("year", 0) <= spec.get("year_max", 10**9)
                and attrs.get("price", 0.0) <= spec.get("price_max", float("inf"))
                and record["creator_name"] == spec.get("creator", record["creator_name"]))

    n_constraint = 0
    for q, kind in enumerate(tiny_world.queries.kind):
        if kind != "constraint":
            continue
        n_constraint += 1
        spec = json.loads(tiny_world.queries.constraints[q])
        grades = tiny_world.query_relevance(q)
        assert set(np.unique(grades)) <= {0, 3}
        relevant = set(np.flatnonzero(grades == 3))
        expected = {i for i, record in assets.items() if satisfies(record, spec)}
        assert relevant == expected, tiny_world.queries.text[q]
        assert relevant  # the query was written from an anchor item, which satisfies it
    assert n_constraint == 10  # kinds cycle visual, content, constraint over 30 queries


def test_visual_query_grades_cut_at_the_70_90_97_percentiles(tiny_world: World) -> None:
    # 150 distinct match values, linear-interpolated quantiles at positions 0.7 * 149 = 104.3,
    # 134.1 and 144.53: 45 items lie above the first cut, 15 above the second, 5 above the third
    for q, kind in enumerate(tiny_world.queries.kind):
        if kind == "visual":
            grades = tiny_world.query_relevance(q)
            assert [(grades >= g).sum() for g in (1, 2, 3)] == [45, 15, 5]


def test_content_queries_are_restricted_to_their_domain(tiny_world: World) -> None:
    for q, kind in enumerate(tiny_world.queries.kind):
        if kind == "content":
            domain = DOMAINS.index(json.loads(tiny_world.queries.constraints[q])["domain"])
            grades = tiny_world.query_relevance(q)
            assert np.all(grades[tiny_world.catalogue.domain != domain] == 0)
            assert grades.max() > 0


def test_click_times_order_the_session_history(tiny_world: World) -> None:
    # the history the truth reads (earlier clicks by step, then slate position) is the order of the
    # logged click times: clicks of one request come top down, and the next request after them
    logs = tiny_world.logs
    times = logs.click_time
    for row in np.flatnonzero(logs.clicks.sum(axis=1) >= 2):
        clicked = times[row][logs.clicks[row]]
        assert np.all(np.diff(clicked) > 0), row
    req, pos = np.nonzero(logs.clicks)
    last_click = {}
    for r, k in zip(req, pos):
        last_click[r] = max(last_click.get(r, -np.inf), times[r, k])
    order = np.lexsort((logs.step, logs.session))
    for earlier, later in zip(order[:-1], order[1:]):
        if logs.session[earlier] == logs.session[later] and earlier in last_click:
            assert last_click[earlier] < logs.timestamp[later]
    # the logged context item is the last click before the request, in time
    with_context = np.flatnonzero(logs.context_item >= 0)
    assert with_context.size
    clicked_items = logs.candidates[req, logs.slate[req, pos]]
    for r in with_context[:300]:
        same = np.flatnonzero((logs.session[req] == logs.session[r]) & (times[req, pos] < logs.timestamp[r]))
        latest = same[np.argmax(times[req[same], pos[same]])]
        assert clicked_items[latest] == logs.context_item[r]
