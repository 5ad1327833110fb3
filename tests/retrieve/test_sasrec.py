"""SASRec: the attention is causal, padding is ignored, training lowers the loss, scoring is consistent.

The properties are checked on small untrained or briefly trained models (seeded), so they hold for
any weights: a future item never reaches an earlier position, and left padding never reaches a
real one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hermes_core.evaluation.sequential import leave_one_out, sample_candidates
from hermes_core.retrieve.sasrec import SasrecConfig, SasrecModel, left_padded, train_sasrec

N_ITEMS = 20


def untrained_model(max_len: int = 12, n_heads: int = 2) -> SasrecModel:
    torch.manual_seed(0)
    model = SasrecModel(N_ITEMS, SasrecConfig(max_len=max_len, hidden_size=8, n_blocks=2, n_heads=n_heads, dropout=0.3))
    return model.eval()  # dropout off: the same input gives the same output


def features(model: SasrecModel, items: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([items]))[0]  # (length, hidden)


def test_a_future_item_cannot_change_an_earlier_positions_output() -> None:
    model = untrained_model()
    original = [0, 0, 3, 7, 2, 9, 4, 11]
    changed = [0, 0, 3, 7, 2, 15, 4, 11]  # position 5 differs
    before, after = features(model, original), features(model, changed)
    torch.testing.assert_close(after[:5], before[:5], rtol=0, atol=1e-6)
    # the change does reach position 5 and later ones, so the check above could fail
    assert (after[5:] - before[5:]).abs().amax(dim=1).min() > 1e-3


def test_left_padding_is_ignored() -> None:
    model = untrained_model()
    real = [3, 7, 2, 9]
    short = features(model, real)
    for padding in (1, 4, 8):
        padded = features(model, [0] * padding + real)
        torch.testing.assert_close(padded[padding:], short, rtol=0, atol=1e-5)
    # the padding id's embedding is zero, and item 1 (a real item) is not ignored
    assert torch.equal(model.item_embedding.weight[0], torch.zeros(8))
    assert (features(model, [1] + real)[1:] - short).abs().max() > 1e-3


def test_inputs_longer_than_max_len_are_refused_and_histories_are_cut_to_max_len() -> None:
    model = untrained_model(max_len=4)
    with pytest.raises(ValueError, match="longer than max_len=4"):
        features(model, [1, 2, 3, 4, 5])
    assert left_padded([np.array([1, 2, 3, 4, 5, 6]), np.array([7])], 4).tolist() == [[3, 4, 5, 6], [0, 0, 0, 7]]


def cyclic_sequences(n_users: int, n_items: int, length: int, seed: int) -> list[np.ndarray]:
    """Each user walks 1 -> 2 -> ... -> n_items -> 1 from a random start: the next item is the successor."""
    starts = np.random.default_rng(seed).integers(0, n_items, size=n_users)
    return [(start + np.arange(length)) % n_items + 1 for start in starts]


TINY = SasrecConfig(max_len=10, hidden_size=16, n_blocks=1, n_heads=1, dropout=0.1, learning_rate=0.01,
                    batch_size=32, epochs=8, seed=3, device="auto", eval_every=4)


def test_a_tiny_training_run_lowers_the_loss_and_is_deterministic() -> None:
    split = leave_one_out(cyclic_sequences(96, N_ITEMS, 14, seed=0), N_ITEMS)
    validation = sample_candidates(split, "validation", n_negatives=10, seed=0)
    torch_state = torch.get_rng_state()
    fit = train_sasrec(split.train, N_ITEMS, TINY, validation)
    assert torch.equal(torch.get_rng_state(), torch_state)  # the caller's generator is untouched
    losses = [row["loss"] for row in fit.history]
    assert len(losses) == TINY.epochs
    # 2 log 2 = 1.386 is the loss of logits near 0; the successor rule is learnable
    assert losses[0] > 1.0 and losses[-1] < 0.5 * losses[0]
    assert [row["epoch"] for row in fit.history if "validation_hr@10" in row] == [4.0, 8.0]
    assert fit.history[-1]["validation_hr@10"] > 0.9  # target vs 10 negatives: 10 of 11 candidates are shown
    again = train_sasrec(split.train, N_ITEMS, TINY, validation)
    assert [row["loss"] for row in again.history] == losses


def test_scores_rank_the_successor_first_and_candidates_agree_with_full_scores() -> None:
    split = leave_one_out(cyclic_sequences(96, N_ITEMS, 14, seed=0), N_ITEMS)
    fit = train_sasrec(split.train, N_ITEMS, TINY)
    histories = split.histories("test")
    scores = fit.score(histories)
    assert scores.shape == (96, N_ITEMS)  # column j is item j + 1
    unseen = scores.copy()
    for row, history in enumerate(histories):
        unseen[row, history - 1] = -np.inf  # a walk never revisits an item before its test target
    assert (unseen.argmax(axis=1) + 1 == split.targets("test")).mean() > 0.9
    candidates = np.random.default_rng(0).integers(1, N_ITEMS + 1, size=(96, 7))
    np.testing.assert_allclose(fit.score_candidates(histories, candidates),
                               np.take_along_axis(scores, candidates - 1, axis=1), rtol=1e-5, atol=1e-5)


def test_device_auto_is_cpu_without_a_gpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: auto resolves to cuda")
    fit = train_sasrec([np.array([1, 2, 3])], 4, SasrecConfig(max_len=3, hidden_size=4, epochs=1, device="auto"))
    assert fit.device.type == "cpu"
    with pytest.raises(RuntimeError, match="torch sees no CUDA GPU"):
        train_sasrec([np.array([1, 2, 3])], 4, SasrecConfig(max_len=3, hidden_size=4, epochs=1, device="cuda"))


@pytest.mark.parametrize(("setting", "message"), [
    ({"hidden_size": 10, "n_heads": 3}, "hidden_size .10. must be a multiple of n_heads .3."),
    ({"dropout": 1.0}, "SasrecConfig.dropout must lie in"),
    ({"max_len": 0}, "SasrecConfig.max_len must be >= 1"),
    ({"learning_rate": 0.0}, "SasrecConfig.learning_rate must be > 0"),
])
def test_bad_settings_name_the_parameter(setting: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SasrecConfig(**setting)  # type: ignore[arg-type]


def test_training_refuses_items_outside_the_catalogue() -> None:
    with pytest.raises(ValueError, match="training sequence 1 holds an item id outside 1..3"):
        train_sasrec([np.array([1, 2]), np.array([2, 4])], 3, SasrecConfig(epochs=1))
