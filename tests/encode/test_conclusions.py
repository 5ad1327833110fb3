"""The encode stage's conclusions: every comparison follows the verdict of its interval.

Hand-built tables stand in for the stage's outputs; each expected phrase follows from the
interval written next to it (contains 0: a tie; entirely above: beats; entirely below: loses).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hermes_core.encode import conclusions as c


def _differences(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {label: {"first": label.split(" - ")[0], "second": label.split(" - ")[1], "difference": d,
                 "ci_low": low, "ci_high": high, "n_users": 50} for label, (d, low, high) in rows.items()}
    ).T.astype({"difference": float, "ci_low": float, "ci_high": float})


def _cold_table(ndcg: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({name: {"NDCG@10": value, "recall@50": value + 0.1, "users scored (NDCG)": 50,
                                "users excluded (NDCG)": 0} for name, value in ndcg.items()}).T


WORLD_NDCG = {"fused": 0.32, "text": 0.31, "image": 0.20, "concat": 0.35, "text_cosine": 0.33,
              "image_cosine": 0.21, "popularity": 0.315, "random": 0.16}
WORLD_DIFFERENCES = {
    "fused - text": (0.009, 0.003, 0.015),  # excludes 0, above: beats
    "fused - image": (0.12, 0.11, 0.13),
    "fused - concat": (-0.03, -0.036, -0.026),  # excludes 0, below: loses to
    "image - text": (-0.11, -0.12, -0.10),
    "fused - popularity": (0.0075, -0.0017, 0.0168),  # the example: contains 0, a tie
    "concat - text_cosine": (0.02, -0.001, 0.04),  # contains 0: a tie
    "concat - popularity": (0.038, 0.03, 0.046),
    "concat - random": (0.19, 0.18, 0.20),
}


def _findings(**overrides: Any) -> c.EncodeFindings:
    values: dict[str, Any] = {
        "source": "world",
        "modality_counts": {"items": 10, "text_missing": 1, "image_missing": 2, "image_corrupt": 1, "neither": 0},
        "cold_table": _cold_table(WORLD_NDCG), "ndcg_col": "NDCG@10", "recall_col": "recall@50",
        "n_cold_items": 20, "differences": _differences(WORLD_DIFFERENCES),
        "trained": ("fused", "text", "image", "concat"),
        "best_epochs": {"fused": 3, "text": 3, "image": 1, "concat": 4}, "max_epochs": 20,
        "purity": pd.DataFrame({"domain purity of 10 nearest neighbours": [0.8, 0.2], "chance": [0.2, 0.2]},
                               index=["text", "image"]),
        "index": {"index_type": "hnsw", "tower": "fused", "k": 10, "search_recall_at_k": 0.99,
                  "two_stage_recall": 0.94,
                  "certified": 0.89,
                  "n_vectors": 3894, "n_queries": 2152, "qps": 65_000.0, "exact_qps": 128_000.0},
    }
    values.update(overrides)
    return c.EncodeFindings(**values)


def test_comparison_reads_the_verdict_of_the_interval() -> None:
    table = _differences(WORLD_DIFFERENCES)
    assert c.comparison(table, "fused", "text", 0.95).verdict == "beats"
    assert c.comparison(table, "fused", "concat", 0.95).verdict == "loses to"
    assert c.comparison(table, "fused", "popularity", 0.95).verdict == "ties with"
    # the mirror row reads negated: text - fused = -0.009 [-0.015, -0.003], text loses to fused
    mirrored = c.comparison(table, "text", "fused", 0.95)
    assert (mirrored.difference, mirrored.ci_low, mirrored.ci_high) == (-0.009, -0.015, -0.003)
    assert mirrored.verdict == "loses to"
    assert c.comparison(table, "text", "concat", 0.95) is None  # neither row in the table: no claim
    nan_row = _differences({"a - b": (np.nan, np.nan, np.nan)})
    assert c.comparison(nan_row, "a", "b", 0.95) is None


def test_cold_start_lines_phrase_a_tie_as_a_tie() -> None:
    text = "\n".join(c.cold_start_lines(_findings()))
    # the best model by mean NDCG (concat, 0.35) against the runner-up (text_cosine, 0.33): interval contains 0
    assert "`concat` ties with `text_cosine` (the runner-up) on NDCG@10: difference +0.0200 [-0.0010, +0.0400]" in text
    assert "`concat` beats `popularity`" in text and "`concat` beats `random`" in text
    # fused vs popularity +0.0075 [-0.0017, +0.0168] includes 0: a tie, and the sentence says so
    assert ("`fused` ties with `popularity` on NDCG@10: difference +0.0075 [-0.0017, +0.0168] "
            "(95% interval, includes 0)") in text
    assert "`fused` beats `text` (the better single-modality tower)" in text
    assert "`fused` loses to `concat`" in text and "do worse than a fixed concatenation" in text
    assert "`image` loses to `text`" in text


def test_fused_tying_with_concat_adds_nothing_measurable() -> None:
    rows = dict(WORLD_DIFFERENCES, **{"fused - concat": (-0.004, -0.011, 0.003)})
    text = "\n".join(c.cold_start_lines(_findings(differences=_differences(rows))))
    assert "`fused` ties with `concat`" in text and "add nothing measurable over a fixed concatenation" in text


def test_every_verdict_word_in_the_conclusions_matches_its_interval() -> None:
    text = "\n".join(c.encode_conclusions(_findings()))
    claims = re.findall(r"(beats|ties with|loses to) .*? difference [+-][\d.]+ \[([+-][\d.]+), ([+-][\d.]+)\]", text)
    assert len(claims) >= 8
    for verdict, low, high in claims:
        low_value, high_value = float(low), float(high)
        expected = "beats" if low_value > 0 else "loses to" if high_value < 0 else "ties with"
        assert verdict == expected, (verdict, low, high)


def test_training_line_compares_the_best_trained_tower_with_the_untrained_cosine() -> None:
    line = c.training_line(_findings(), "clicks")
    assert "`concat` (the best trained tower) ties with `text_cosine` (untrained)" in line
    assert "training adds nothing measurable" in line
    # every kept epoch (3, 3, 1, 4) is before the last (20)
    assert "peaked before the last epoch" in line
    still = c.training_line(_findings(best_epochs={"fused": 20, "text": 3, "image": 1, "concat": 4}), "clicks")
    assert "`fused` was still improving at the last epoch" in still


def test_purity_line_measures_the_way_from_chance_to_one() -> None:
    # text: (0.8 - 0.2) / (1 - 0.2) = 75%; image at chance: 0%
    line = c.purity_line(_findings().purity)
    assert "text 0.8000 (75% of the way from chance 0.2000 to 1)" in line and "image 0.2000 (0% of the way" in line


@pytest.mark.parametrize(("visual", "content", "expected"), [
    ((0.86, 0.97), (0.05, 0.15), "holds"),  # visual wholly >= 0.85 and content wholly <= 0.15
    ((0.49, 0.51), (0.05, 0.10), "does not hold"),  # visual entirely below 0.85
    ((0.90, 0.95), (0.16, 0.30), "does not hold"),  # content entirely above 0.15
    ((0.84, 0.93), (0.05, 0.10), "is undecided"),  # visual straddles its threshold
    ((0.88, 0.93), (0.10, 0.20), "is undecided"),  # content straddles its threshold
])
def test_alpha_claim_against_the_threshold(visual: tuple[float, float], content: tuple[float, float],
                                           expected: str) -> None:
    table = pd.DataFrame({"mean": [sum(visual) / 2, sum(content) / 2], "ci_low": [visual[0], content[0]],
                          "ci_high": [visual[1], content[1]]}, index=["visual", "content"])
    assert c.alpha_claim(table) == expected


def test_alpha_claim_needs_every_replica_on_the_right_side() -> None:
    table = pd.DataFrame({"mean": [0.90, 0.10], "ci_low": [0.88, 0.08], "ci_high": [0.92, 0.12]},
                         index=["visual", "content"])
    every = pd.DataFrame({"visual": [0.9, 0.88], "content": [0.1, 0.12]}, index=[1, 2])
    assert c.alpha_claim(table, every) == "holds"
    one_misses = every.assign(visual=[0.95, 0.84])
    assert c.alpha_claim(table, one_misses) == "holds on the seed average only"


def test_alpha_line_reads_visual_against_content_through_the_verdict() -> None:
    table = pd.DataFrame({"mean": [0.4990, 0.5011, -0.0021], "ci_low": [0.4989, 0.5005, -0.0027],
                          "ci_high": [0.4991, 0.5017, -0.0015], "queries": [60, 60, 120]},
                         index=["visual", "content", "visual - content"])
    line = c.alpha_line(table, 0.95)
    assert "does not hold" in line and "lower for visual than for content queries" in line
    tied = table.assign(ci_high=[0.4991, 0.5017, 0.0003])
    assert "not measurably different" in c.alpha_line(tied, 0.95)


def test_equal_weight_tolerance_of_the_kept_epoch() -> None:
    # |0.46 - 0.5| = 0.04 <= 0.05: equal weights; |0.44 - 0.5| = 0.06: not
    assert "close to an equal-weight average" in c.attention_epoch_line((0.5, 0.46, 0.47), kept=2)
    line = c.attention_epoch_line((0.5, 0.44, 0.47), kept=2)
    assert "more than 0.05 away" in line and "0.4400" in line and "by epoch 3 it was 0.4700" in line


def test_user_alpha_line_needs_an_interval_that_excludes_zero() -> None:
    summary = {"mean_alpha_vision": 0.5, "std_alpha_vision": 0.003, "rho": 0.047, "ci_low": -0.004, "ci_high": 0.09,
               "n": 2152}
    assert "shows no measurable relation" in c.user_alpha_line(summary, 0.95)
    assert "rises with" in c.user_alpha_line(dict(summary, ci_low=0.01), 0.95)


def test_query_lines_draw_the_image_inference_only_when_the_verdicts_support_it() -> None:
    table = pd.DataFrame({"visual": [0.67, 0.16, 0.69], "content": [0.36, 0.44, 0.04]},
                         index=["fused", "text", "image"])

    def differences(fused_image: tuple[float, float, float]) -> pd.DataFrame:
        rows = [("visual", "fused", "image", *fused_image), ("visual", "fused", "text", 0.5, 0.4, 0.6),
                ("content", "fused", "text", -0.08, -0.2, 0.03)]
        frame = pd.DataFrame(rows, columns=["kind", "first", "second", "difference", "ci_low", "ci_high"])
        frame["comparison"] = frame["first"] + " - " + frame["second"]
        frame["n_queries"] = 18
        frame["verdict"] = [c.compare_interval(d, lo, hi, 0.95).verdict
                            for d, lo, hi in zip(frame["difference"], frame["ci_low"], frame["ci_high"])]
        return frame.set_index(["kind", "comparison"])

    tie = c.query_lines(table, differences((-0.03, -0.08, 0.02)), 10, 0.95)
    assert any("what the image values alone give" in line for line in tie)
    assert "`fused` ties with `text`" in tie[1]  # content: -0.08 [-0.2, +0.03] contains 0
    beaten = c.query_lines(table, differences((0.05, 0.01, 0.09)), 10, 0.95)
    assert not any("what the image values alone give" in line for line in beaten)


def test_movielens_findings_without_images_or_queries() -> None:
    ndcg = {"text": 0.30, "text_cosine": 0.28, "popularity": 0.25, "random": 0.10}
    # the table holds text_cosine - text (listed first by the stage); best vs runner-up reads it negated
    rows = {"text_cosine - text": (-0.02, -0.03, -0.01), "text - popularity": (0.05, 0.02, 0.08),
            "text - random": (0.2, 0.18, 0.22)}
    findings = _findings(source="movielens-100k", cold_table=_cold_table(ndcg), differences=_differences(rows),
                         trained=("text",), best_epochs={"text": 5},
                         purity=pd.DataFrame({"genre purity of 10 nearest neighbours": [0.4], "chance": [0.1]},
                                             index=["text"]))
    lines = c.encode_conclusions(findings)
    text = "\n".join(lines)
    assert "has no images" in text and "alpha_vision" not in text
    assert "`text` beats `text_cosine` (the runner-up)" in text
    assert "training adds measurable quality" in text


def test_world_conclusions_phrase_every_comparison_through_the_verdict(world_run: dict[str, Any]) -> None:

    run, params = world_run["run"], world_run["params"]
    differences = run.differences
    findings = c.findings_from_run(run)
    assert findings.level == params.encode.eval.ci_level and findings.ndcg_col == "NDCG@10"
    text = "\n".join(c.encode_conclusions(findings))
    # each verdict of the differences table about the fused tower appears with its own interval
    for label in ("fused - concat", "fused - popularity"):
        row = differences.loc[label]
        first, second = label.split(" - ")
        assert f"`{first}` {row['verdict']} `{second}`" in text
    assert "The target (alpha_vision at least 0.85" in text and "Spearman correlation" in text
    assert "effective vision share" in text and "true modality weight (a diagnostic" in text
    assert f"finds {run.index_report.search_recall_at_k:.1%} of the exact top 10" in text


def test_predictability_line_reads_the_best_cross_validated_r2_against_its_threshold() -> None:
    table = pd.DataFrame({"cv R2": [-0.004, 0.001], "cv R2 sd": [0.005, 0.009]},
                         index=["gate input + log clicks", "profile norms + log clicks"])
    line = c.predictability_line(table)
    assert "at most 0.0010 (± 0.0090, `profile norms + log clicks`)" in line and "cannot recover" in line
    readable = table.assign(**{"cv R2": [0.30, 0.01]})
    assert "carries part of the weight" in c.predictability_line(readable)


def test_weights_line_says_when_the_ranking_follows_the_query_beyond_the_weights() -> None:
    index = pd.MultiIndex.from_product([["fused", "concat"], ["visual", "content"]], names=["model", "kind"])
    weights = pd.DataFrame({"mean alpha_vision": [0.88, 0.20, np.nan, np.nan],
                            "effective vision share": [0.97, 0.01, 0.78, 0.08],
                            "query share of weight variance": [1.0, 1.0, np.nan, np.nan]}, index=index)
    line = c.weights_line(weights)
    assert "vision share 0.9700 against alpha 0.8800" in line and "0.0100 against 0.2000" in line
    assert "its vision share is 0.7000 higher on visual" in line
    # a fused tower whose shares sit inside its weights gets no such sentence
    inside = weights.copy()
    inside.loc[("fused", "visual"), "effective vision share"] = 0.80
    assert "more completely than its weights say" not in c.weights_line(inside)
