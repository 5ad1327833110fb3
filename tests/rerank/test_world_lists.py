"""The world's lists (``hermes_core.rerank.world_lists``) on the shared tiny world: the wiring of each
key to its logged request, user, session history and context is checked against the world's own
truth API called directly; cohorts, categories and the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hermes_core.params import deep_merge
from hermes_core.rerank.params import RerankParams
from hermes_core.rerank.world_lists import load_world_lists, request_of_key, world_categories
from hermes_core.workspace import Workspace
from hermes_core.world.click_log import ClickLog
from hermes_core.world.params import DOMAINS
from hermes_core.world.simulate import request_context
from tests.rerank.world_workspace import N_CANDIDATES, N_LISTS, write_workspace


@pytest.fixture(scope="module")
def workspace(tiny_world, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return write_workspace(tiny_world, tmp_path_factory.mktemp("rerank_world"))


def params(**changes: object) -> RerankParams:
    """The default block with a 10-item slate of the top 25, and ``changes`` (validated)."""
    return RerankParams.model_validate(deep_merge({**RerankParams().model_dump(), "slate_size": 10,
                                                   "max_candidates": 25}, changes))  # fmt: skip


def test_lists_truth_and_clicks_are_the_worlds_for_each_logged_request(tiny_world, workspace: Workspace) -> None:
    loaded = load_world_lists(workspace, params())
    lists, truth = loaded.lists, loaded.truth
    assert lists.n_lists == N_LISTS and lists.n_candidates == 25 and loaded.dropped_short == 0
    logs = tiny_world.logs
    clicks = ClickLog.of(logs)
    for row in (0, 5):
        r = request_of_key(str(lists.keys[row]))
        user = int(logs.user[r])
        history = clicks.session_before(int(logs.session[r]), float(logs.timestamp[r]))
        context = request_context(logs.modality_intent[r : r + 1], logs.timestamp[r : r + 1])
        np.testing.assert_array_equal(truth.grades[row], tiny_world.contextual_relevance(user, history,
                                                                                       lists.items[row], context))
        slates = np.stack([lists.items[row, :10], lists.items[row, 10:20]])
        np.testing.assert_allclose(truth.expected_clicks(row, slates),
                                   tiny_world.expected_clicks(user, history, slates, context))
    # merit (2^g~ - 1)/15 lies in [0, 1] and grows with the grade
    assert ((truth.merit >= 0) & (truth.merit <= 1)).all()
    assert truth.merit[truth.grades == 4].mean() > truth.merit[truth.grades == 0].mean()


def test_cohorts_follow_the_creators_and_the_protected_parameter(tiny_world, workspace: Workspace) -> None:
    mainstream = tiny_world.creators.mainstream[tiny_world.catalogue.creator]
    independent = load_world_lists(workspace, params()).lists
    np.testing.assert_array_equal(independent.protected, ~mainstream[independent.items])
    assert (independent.protected_name, independent.other_name) == ("independent", "mainstream")
    flipped = load_world_lists(workspace, params(cohorts={"protected": "mainstream"})).lists
    np.testing.assert_array_equal(flipped.protected, mainstream[flipped.items])


def test_items_without_a_vector_get_a_zero_row(tiny_world, workspace: Workspace) -> None:
    lists = load_world_lists(workspace, params()).lists
    norms = np.linalg.norm(lists.item_vectors, axis=1)
    np.testing.assert_allclose(norms[:-2], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(norms[-2:], [0.0, 0.0])


def test_short_lists_are_dropped_and_counted(tiny_world, tmp_path: Path) -> None:
    loaded = load_world_lists(write_workspace(tiny_world, tmp_path, short_list=True), params())
    assert loaded.dropped_short == 1 and loaded.lists.n_lists == N_LISTS - 1
    assert "1 shorter than the slate dropped" in loaded.note


def test_a_key_whose_user_is_not_the_logged_one_is_refused(tiny_world, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the scores name user .* but the logged request belongs to"):
        load_world_lists(write_workspace(tiny_world, tmp_path, wrong_user=True), params())


def test_another_source_means_no_lists(tmp_path: Path) -> None:
    assert load_world_lists(Workspace(tmp_path / "empty"), params(), source="movielens-100k") is None


def test_with_the_world_as_source_missing_inputs_are_errors(tiny_world, tmp_path: Path) -> None:
    empty = Workspace(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=f"data.source is 'world'.*{empty.world}"):
        load_world_lists(empty, params())
    partial = write_workspace(tiny_world, tmp_path / "partial")
    (partial.world / "world.json").unlink()  # a partly missing world
    with pytest.raises(FileNotFoundError, match=str(partial.world)):
        load_world_lists(partial, params(), source="world")
    workspace = write_workspace(tiny_world, tmp_path / "w")
    path = workspace.stage_data("rank") / "scores.parquet"
    pd.read_parquet(path).iloc[:0].to_parquet(path, index=False)
    with pytest.raises(ValueError, match="holds no scored list"):
        load_world_lists(workspace, params())


def test_lists_all_shorter_than_the_slate_name_the_parameter(workspace: Workspace) -> None:
    longer = params(slate_size=40, max_candidates=100, singh_joachims={"candidates": 40, "candidates_sweep": [40, 50]})
    with pytest.raises(ValueError, match=rf"shorter than rerank\.slate_size \(40; the longest has {N_CANDIDATES} "):
        load_world_lists(workspace, longer)


def test_request_keys() -> None:
    assert request_of_key("r38036") == 38036
    for bad in ("38036", "rX", "q12"):
        with pytest.raises(ValueError, match="not a logged world request"):
            request_of_key(bad)


def test_categories_domain_and_genre(tiny_world) -> None:
    domain, names = world_categories(tiny_world, "domain")
    assert names == DOMAINS and np.array_equal(domain, tiny_world.catalogue.domain)
    genre, genre_names = world_categories(tiny_world, "genre")
    # one category per (domain, genre) pair present; items of one pair share its index
    pairs = set(zip(tiny_world.catalogue.domain.tolist(), tiny_world.catalogue.genre.tolist()))
    assert len(genre_names) == len(pairs) == genre.max() + 1
    assert all(name.split("/")[0] in DOMAINS for name in genre_names)
    assert N_CANDIDATES > 25  # the fixture's lists are cut by max_candidates above
