"""Each rank-stage loss against a value worked out by hand on a 2- to 4-item list."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from hermes_core.losses import (
    approx_ndcg_loss,
    ips_softmax_loss,
    lambdaloss,
    listmle_loss,
    pointwise_bce_loss,
    ranknet_loss,
    sampled_softmax_loss,
    softmax_ce_loss,
)


def one_list(values: list[float]) -> torch.Tensor:
    return torch.tensor([values], dtype=torch.float64)


def full_mask(length: int) -> torch.Tensor:
    return torch.ones(1, length, dtype=torch.bool)


def test_listmle_by_hand() -> None:
    # labels (2, 0, 1) -> ground-truth order items 0, 2, 1 with scores 1, 0, 2:
    # [log(e^1 + e^0 + e^2) - 1] + [log(e^0 + e^2) - 0] + [log(e^2) - 2]
    expected = math.log(math.e + 1 + math.e**2) - 1 + math.log(1 + math.e**2)
    assert expected == pytest.approx(1.4076 + 2.1269, abs=1e-4)
    loss = listmle_loss(one_list([1.0, 2.0, 0.0]), one_list([2, 0, 1]), full_mask(3))
    assert float(loss) == pytest.approx(expected, abs=1e-12)


def test_listmle_is_minimal_for_the_label_order_over_all_permutations() -> None:
    # Plackett-Luce likelihood is highest when the largest parameter goes first (Xia et al. 2008, §4)
    labels = one_list([3, 2, 1, 0])
    score_values = [1.5, 0.3, -0.2, -1.1]  # best first
    losses = {
        permutation: float(listmle_loss(one_list([score_values[p] for p in permutation]), labels, full_mask(4)))
        for permutation in itertools.permutations(range(4))
    }
    correct = losses[(0, 1, 2, 3)]
    assert all(correct < loss for permutation, loss in losses.items() if permutation != (0, 1, 2, 3))


def test_listmle_stays_finite_when_scores_drift_far_apart() -> None:
    # scores [0, -200] in label order: L = log(e^0 + e^-200) - 0 + log(e^-200) + 200 = log(1 + e^-200) ~ 1e-87,
    # i.e. 0 in float32; a plain cumulative sum of e^{s - max} underflows to log(0) = -inf at the second item
    scores = torch.tensor([[0.0, -200.0]], requires_grad=True)
    loss = listmle_loss(scores, torch.tensor([[1.0, 0.0]]), torch.tensor([[True, True]]))
    assert torch.isfinite(loss) and abs(loss.item()) < 1e-6
    loss.backward()
    assert torch.isfinite(scores.grad).all()
    # the reverse order costs the whole spread: log(e^-200 + 1) + 200 + log(1) - 0 = 200
    reverse = listmle_loss(torch.tensor([[-200.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[True, True]]))
    assert float(reverse) == pytest.approx(200.0, rel=1e-6)


def test_listmle_ties_are_broken_by_the_seed() -> None:
    scores = one_list([0.9, -0.4, 0.1, 2.0])
    tied = one_list([1, 1, 1, 0])
    first = float(listmle_loss(scores, tied, full_mask(4), seed=7))
    assert float(listmle_loss(scores, tied, full_mask(4), seed=7)) == first
    # three tied items with distinct scores: 6 orders, 6 different likelihoods; 10 seeds reach several
    assert len({round(float(listmle_loss(scores, tied, full_mask(4), seed=seed)), 12) for seed in range(10)}) > 1
    distinct = one_list([3, 1, 2, 0])
    assert float(listmle_loss(scores, distinct, full_mask(4), seed=0)) == float(
        listmle_loss(scores, distinct, full_mask(4), seed=123)
    )


def test_softmax_ce_by_hand() -> None:
    # targets (2/3, 1/3, 0); loss = -(2/3 (1 - lse) + 1/3 (0 - lse)) = lse - 2/3
    log_sum_exp = math.log(math.e + 1 + math.exp(-1))
    loss = softmax_ce_loss(one_list([1.0, 0.0, -1.0]), one_list([2, 1, 0]), full_mask(3))
    assert float(loss) == pytest.approx(log_sum_exp - 2 / 3, abs=1e-12)


def test_softmax_ce_with_one_relevant_item_is_the_sampled_softmax() -> None:
    generator = torch.Generator().manual_seed(3)
    scores = torch.randn(4, 5, generator=generator, dtype=torch.float64)
    labels = torch.nn.functional.one_hot(torch.tensor([0, 4, 2, 2]), 5)
    mask = torch.ones(4, 5, dtype=torch.bool)
    assert float(softmax_ce_loss(scores, labels, mask)) == pytest.approx(
        float(sampled_softmax_loss(scores, labels, mask)), abs=1e-12
    )


def test_approx_ndcg_by_hand() -> None:
    # scores (0.5, 0, -1), labels (1, 2, 0), T = 1: smooth rank_i = 1 + sum_{j != i} sigmoid(s_j - s_i)
    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    rank_0 = 1 + sigmoid(-0.5) + sigmoid(-1.5)
    rank_1 = 1 + sigmoid(0.5) + sigmoid(-1.0)
    approx_dcg = 1 / math.log2(1 + rank_0) + 3 / math.log2(1 + rank_1)  # gains 2^1 - 1, 2^2 - 1; item 2 gains 0
    ideal = 3 / math.log2(2) + 1 / math.log2(3)
    loss = approx_ndcg_loss(one_list([0.5, 0.0, -1.0]), one_list([1, 2, 0]), full_mask(3), temperature=1.0)
    assert float(loss) == pytest.approx(-approx_dcg / ideal, abs=1e-12)


def true_ndcg(scores: list[float], labels: list[float]) -> float:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    dcg = sum((2 ** labels[i] - 1) / math.log2(rank + 2) for rank, i in enumerate(order))
    ideal = sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(sorted(labels, reverse=True)))
    return dcg / ideal


def test_approx_ndcg_tends_to_the_true_ndcg_as_the_temperature_falls() -> None:
    scores = [0.3, 1.2, -0.7, 0.9]
    labels = [2.0, 0.0, 1.0, 3.0]
    ndcg = true_ndcg(scores, labels)
    # order 1, 3, 0, 2: DCG = 0 + 7 / log2 3 + 3 / 2 + 1 / log2 5; IDCG = 7 + 3 / log2 3 + 1 / 2
    assert ndcg == pytest.approx(6.3472 / 9.3928, abs=1e-4)
    errors = [
        abs(-float(approx_ndcg_loss(one_list(scores), one_list(labels), full_mask(4), temperature=t)) - ndcg)
        for t in (0.1, 0.05, 0.01, 0.001)
    ]
    # (at T = 1 errors of opposite sign partly cancel, so the decrease is checked from T = 0.1 down)
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 1e-3  # at T = 0.1 the smooth ranks are visibly off
    assert errors[-1] < 1e-9  # smallest score gap 0.3 / 0.001: sigmoid(-300) ~ 5e-131


def test_lambdaloss_by_hand() -> None:
    # scores (0, 1, -1) -> ranks (2, 1, 3); labels (2, 0, 1) -> gains (3, 0, 1) / IDCG
    ideal = 3 + 1 / math.log2(3)
    gain = [3 / ideal, 0.0, 1 / ideal]
    rank = [2, 1, 3]
    score = [0.0, 1.0, -1.0]
    pairs = [(0, 1), (0, 2), (2, 1)]  # y_i > y_j

    def inverse_discount(r: int) -> float:
        return 1 / math.log2(1 + r)

    def pair_term(i: int, j: int, weighting: str) -> float:
        rho = abs(inverse_discount(rank[i]) - inverse_discount(rank[j]))
        gap = abs(rank[i] - rank[j])
        delta = inverse_discount(gap) - inverse_discount(gap + 1)
        weight = {"lambdarank": rho, "ndcg_loss2": delta, "ndcg_loss2pp": rho + 10 * delta}[weighting]
        return -weight * abs(gain[i] - gain[j]) * math.log2(1 / (1 + math.exp(-(score[i] - score[j]))))

    for weighting in ("lambdarank", "ndcg_loss2", "ndcg_loss2pp"):
        expected = sum(pair_term(i, j, weighting) for i, j in pairs)
        loss = lambdaloss(one_list(score), one_list([2, 0, 1]), full_mask(3), weighting=weighting)
        assert float(loss) == pytest.approx(expected, abs=1e-12), weighting
    # the LambdaRank pair (0, 1): swapping ranks 2 and 1 changes NDCG by |3 / IDCG| * (1 - 1/log2 3)
    assert pair_term(0, 1, "lambdarank") > 0


def test_ranknet_by_hand() -> None:
    # pairs (0, 1), (0, 2), (2, 1) with s_i - s_j = -1, 1, -2; mean of log(1 + e^{-(s_i - s_j)})
    expected = (math.log(1 + math.e) + math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 3
    loss = ranknet_loss(one_list([0.0, 1.0, -1.0]), one_list([2, 0, 1]), full_mask(3))
    assert float(loss) == pytest.approx(expected, abs=1e-12)


def test_ranknet_equals_a_loop_over_pairs() -> None:
    generator = torch.Generator().manual_seed(11)
    scores = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 3, (3, 6), generator=generator)
    mask = torch.rand(3, 6, generator=generator) > 0.25
    mask[:, 0] = True
    per_list = []
    for row in range(3):
        terms = [
            math.log(1 + math.exp(-2.0 * float(scores[row, i] - scores[row, j])))
            for i in range(6)
            for j in range(6)
            if mask[row, i] and mask[row, j] and labels[row, i] > labels[row, j]
        ]
        per_list.append(sum(terms) / len(terms) if terms else 0.0)
    loss = ranknet_loss(scores, labels, mask, sigma=2.0)
    assert float(loss) == pytest.approx(sum(per_list) / 3, abs=1e-12)


def test_pointwise_bce_by_hand() -> None:
    # targets (1, 0, 0): -log sigmoid(1), -log(1 - sigmoid(-1)), -log(1 - sigmoid(0))
    expected = (math.log(1 + math.exp(-1)) * 2 + math.log(2)) / 3
    loss = pointwise_bce_loss(one_list([1.0, -1.0, 0.0]), one_list([2, 0, 0]), full_mask(3))
    assert float(loss) == pytest.approx(expected, abs=1e-12)


def test_ips_softmax_with_unit_propensities_is_the_softmax_ce() -> None:
    generator = torch.Generator().manual_seed(5)
    scores = torch.randn(3, 5, generator=generator, dtype=torch.float64)
    clicks = torch.tensor([[1, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]])
    mask = torch.ones(3, 5, dtype=torch.bool)
    ones = torch.ones(3, 5, dtype=torch.float64)
    assert float(ips_softmax_loss(scores, clicks, mask, ones)) == pytest.approx(
        float(softmax_ce_loss(scores, clicks, mask)), abs=1e-12
    )


def test_ips_softmax_by_hand() -> None:
    # clicks at positions 1 and 3 (propensities 1 and 1/3) of scores (1, 0, -1)
    log_sum_exp = math.log(math.e + 1 + math.exp(-1))
    weighted_sum = 1 / 1 * (1 - log_sum_exp) + 1 / (1 / 3) * (-1 - log_sum_exp)
    scores = one_list([1.0, 0.0, -1.0])
    clicks = one_list([1, 0, 1])
    propensities = one_list([1.0, 1 / 2, 1 / 3])
    normalised = ips_softmax_loss(scores, clicks, full_mask(3), propensities)
    assert float(normalised) == pytest.approx(-weighted_sum / 2, abs=1e-12)  # 2 clicks
    unnormalised = ips_softmax_loss(scores, clicks, full_mask(3), propensities, normalise_by_clicks=False)
    assert float(unnormalised) == pytest.approx(-weighted_sum, abs=1e-12)
