"""Padded lists, the DCN-v2 network and its listwise training: padding changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hermes_core.data.readers.letor import read_letor
from hermes_core.rank.dcn import CrossLayer, DcnV2, standardisation
from hermes_core.rank.lists import RankingLists, from_ranking_dataset, masked_scores, pad_lists
from hermes_core.rank.params import FineRankerParams
from hermes_core.rank.training import fit_dcn, train_fine_ranker, validation_ndcg

torch.set_num_threads(1)


def test_pad_lists_pads_and_truncates() -> None:
    lists = pad_lists([np.ones((2, 3)), 2 * np.ones((4, 3))], [np.array([1, 0]), np.array([0, 1, 2, 3])],
                      [np.array([7, 8]), np.array([1, 2, 3, 4])], length=3)
    assert lists.features.shape == (2, 3, 3)
    assert lists.mask.tolist() == [[True, True, False], [True, True, True]]
    assert lists.items.tolist() == [[7, 8, -1], [1, 2, 3]]  # the second list keeps its first 3
    assert lists.labels.tolist() == [[1, 0, 0], [0, 1, 2]]
    assert (lists.features[0, 2] == 0).all()
    x, y, groups = lists.flat()
    assert x.shape == (5, 3) and groups.tolist() == [2, 3] and y.tolist() == [1, 0, 0, 1, 2]


def test_with_column_and_masked_scores() -> None:
    lists = pad_lists([np.ones((1, 2)), np.ones((2, 2))], [np.zeros(1), np.zeros(2)], [np.zeros(1, int), np.zeros(2, int)])
    extended = lists.with_column(np.array([[5.0, 9.0], [6.0, 7.0]]))
    assert extended.features[:, :, 2].tolist() == [[5.0, 0.0], [6.0, 7.0]]  # 0 at padding
    assert masked_scores(np.array([[1.0, 2.0], [3.0, 4.0]]), lists.mask)[0, 1] == -np.inf


def test_ranking_lists_reject_bad_shapes_and_negative_labels() -> None:
    with pytest.raises(ValueError, match="labels must be >= 0"):
        RankingLists(np.zeros((1, 2, 1), np.float32), np.array([[-1.0, 0.0]]), np.ones((1, 2), bool), np.zeros((1, 2), int))
    with pytest.raises(ValueError, match="features must be"):
        RankingLists(np.zeros((1, 3, 1), np.float32), np.zeros((1, 2)), np.ones((1, 2), bool), np.zeros((1, 2), int))


def test_from_ranking_dataset_groups_queries(tmp_path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("2 qid:1 1:0.5 2:1\n0 qid:1 1:0.1\n1 qid:2 2:3 # a comment\n", encoding="utf-8")
    lists = from_ranking_dataset(read_letor(path))
    assert lists.mask.tolist() == [[True, True], [True, False]]
    assert lists.labels.tolist() == [[2, 0], [1, 0]]
    assert lists.features[1, 0].tolist() == [0.0, 3.0]
    assert lists.items.tolist() == [[0, 1], [2, -1]]


def test_cross_layer_is_the_dcn_v2_formula() -> None:
    torch.manual_seed(0)
    layer = CrossLayer(3)
    x0, xl = torch.randn(2, 3), torch.randn(2, 3)
    w, b = layer.linear.weight, layer.linear.bias
    by_hand = x0 * (xl @ w.T + b) + xl  # x_{l+1} = x_0 * (W x_l + b) + x_l
    assert torch.allclose(layer(x0, xl), by_hand)


def test_network_standardises_with_the_stored_statistics() -> None:
    features = np.array([[[1.0, 10.0], [3.0, 30.0], [0.0, 0.0]]], dtype=np.float32)
    mask = np.array([[True, True, False]])
    mean, std = standardisation(features, mask)
    assert mean.tolist() == [2.0, 20.0] and std.tolist() == [1.0, 10.0]  # padding left out
    net = DcnV2(2, 1, (4,), 0.0, mean, std)
    shifted = DcnV2(2, 1, (4,), 0.0)
    shifted.load_state_dict({**net.state_dict(), "mean": torch.zeros(2), "std": torch.ones(2)})
    x = torch.as_tensor(features)
    standardised = (x - torch.tensor([2.0, 20.0])) / torch.tensor([1.0, 10.0])
    assert torch.allclose(net(x), shifted(standardised))


def _toy_lists(n: int, length: int, seed: int) -> RankingLists:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, length, 3)).astype(np.float32)
    grades = np.clip(np.round(1.5 * features[:, :, 0] - features[:, :, 1] + 1.0), 0, 4).astype(np.float32)
    return RankingLists(features, grades, np.ones((n, length), bool), np.tile(np.arange(length), (n, 1)))


def test_listwise_training_learns_a_separable_ranking() -> None:
    train, validation = _toy_lists(200, 8, 0), _toy_lists(50, 8, 1)
    params = FineRankerParams(epochs=6, batch_lists=20, hidden=(8,), cross_layers=1, learning_rate=0.01)
    untrained = DcnV2(3, 1, (8,), 0.0)
    before = validation_ndcg(untrained, validation)
    ranker = train_fine_ranker(train, validation, "listmle", params, seed=0, device=torch.device("cpu"))
    assert validation_ndcg(ranker.model, validation) > max(before, 0.9)  # the grades are a near-linear function
    assert ranker.curve["epoch"].tolist() == list(range(1, 7))
    assert ranker.best_epoch == int(ranker.curve["validation_ndcg_at_10"].idxmax()) + 1


def test_padding_changes_no_trained_weight() -> None:
    """The same lists with 3 padded slots of garbage features train to the same weights (same seed).

    Labels are made distinct (no ties), because ListMLE draws its tie-breaking keys for the padded
    shape: with ties, a padded list would order tied items differently (a different, equally valid draw)."""
    train, validation = _toy_lists(40, 5, 2), _toy_lists(10, 5, 3)
    train = RankingLists(train.features, train.labels + 0.01 * np.arange(5, dtype=np.float32)[None, :], train.mask,
                         train.items)
    garbage = np.full((40, 3, 3), 1e6, dtype=np.float32)
    padded = RankingLists(np.concatenate([train.features, garbage], axis=1),
                          np.concatenate([train.labels, np.full((40, 3), 4.0, np.float32)], axis=1),
                          np.concatenate([train.mask, np.zeros((40, 3), bool)], axis=1),
                          np.concatenate([train.items, -np.ones((40, 3), int)], axis=1))
    params = FineRankerParams(epochs=2, batch_lists=8, hidden=(4,), cross_layers=1, dropout=0.0)
    for loss in ("listmle", "softmax", "lambdaloss", "pointwise_bce"):
        plain = train_fine_ranker(train, validation, loss, params, seed=5, device=torch.device("cpu"))
        with_padding = train_fine_ranker(padded, validation, loss, params, seed=5, device=torch.device("cpu"))
        for name, value in plain.model.state_dict().items():
            if name == "head.bias" and loss != "pointwise_bce":
                # a listwise loss is invariant to a shift of every score of a list, so the bias's gradient is 0 up to
                # rounding, which Adam's normalisation turns into a drift of order lr: not information about padding
                continue
            assert torch.allclose(value, with_padding.model.state_dict()[name], atol=1e-5), (loss, name)


def test_fit_dcn_reports_the_chosen_epoch_of_any_objective() -> None:
    train, validation = _toy_lists(30, 4, 4), _toy_lists(10, 4, 5)
    labels = torch.as_tensor(train.labels)

    def negative_mean_score_of_relevant(scores: torch.Tensor, batch: torch.Tensor, step: int) -> torch.Tensor:
        return -(scores * labels[batch]).mean() + (scores**2).mean()

    ranker = fit_dcn(train, validation, negative_mean_score_of_relevant, "custom", FineRankerParams(epochs=3, hidden=(4,)),
                     seed=0, device=torch.device("cpu"))
    assert ranker.loss == "custom" and 1 <= ranker.best_epoch <= 3 and len(ranker.curve) == 3
