"""Fusion towers: the gated and cross-attention formulas, masking, the in-batch logits of the loss,
training on centred features (as production prepares them), exact scoring and the one-vector index."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from hermes_core.encode.fusion import (
    CrossAttentionFusion,
    GatedFusion,
    parameter_groups,
    in_batch_logits,
    make_fusion_model,
    masked_modality_softmax,
    score_items,
    train_fusion,
)
from hermes_core.encode.params import FusionParams
from hermes_core.index.query_side import prepare_features
from hermes_core.losses import in_batch_labels_and_mask, sampled_softmax_loss

D_Q, D_V, D_T, D_K, D_OUT = 6, 5, 4, 3, 7


@pytest.fixture(scope="module", autouse=True)
def single_torch_thread() -> Iterator[None]:
    """These models are tiny: one thread is ~4x faster than two, and on shared cores a
    two-thread barrier per small op can stall for a whole time slice (seen: 1 s -> 50 s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _random_batch(n: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, D_Q, generator=generator),
        torch.randn(n, D_V, generator=generator),
        torch.randn(n, D_T, generator=generator),
    )


def test_forward_matches_the_formula_computed_by_hand() -> None:
    model = make_fusion_model("cross_attention", D_Q, D_V, D_T, d_k=D_K, output_dim=D_OUT, seed=1)
    assert isinstance(model, CrossAttentionFusion)
    queries, vision, text = _random_batch(4)
    masks = torch.ones(4, 2, dtype=torch.bool)
    fused, alpha = model(queries, vision, text, masks)
    # nn.Linear stores W^T: x @ weight.T is x W
    q = queries.numpy() @ model.attention_query.weight.detach().numpy().T
    key_v = vision.numpy() @ model.key_vision.weight.detach().numpy().T
    key_t = text.numpy() @ model.key_text.weight.detach().numpy().T
    logits = np.stack([(q * key_v).sum(1), (q * key_t).sum(1)], axis=1) / math.sqrt(D_K)
    expected_alpha = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    value_v = vision.numpy() @ model.value_vision.weight.detach().numpy().T
    value_t = text.numpy() @ model.value_text.weight.detach().numpy().T
    expected_z = expected_alpha[:, :1] * value_v + expected_alpha[:, 1:] * value_t
    np.testing.assert_allclose(alpha.detach().numpy(), expected_alpha, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.detach().numpy(), expected_z, rtol=1e-5, atol=1e-6)
    assert fused.shape == (4, D_OUT) and alpha.shape == (4, 2)


def test_alpha_sums_to_one_masks_missing_and_both_missing_is_zero_without_nan() -> None:
    model = make_fusion_model("cross_attention", D_Q, D_V, D_T, d_k=D_K, output_dim=D_OUT, seed=2)
    queries, vision, text = _random_batch(4)
    masks = torch.tensor([[True, True], [True, False], [False, True], [False, False]])
    # placeholders of missing modalities may be NaN (e.g. undecodable): they must not leak
    vision = vision.clone()
    text = text.clone()
    vision[[2, 3]] = float("nan")
    text[[1, 3]] = float("nan")
    vision.requires_grad_(True)
    fused, alpha = model(queries, vision, text, masks)
    assert torch.allclose(alpha[:3].sum(dim=1), torch.ones(3))
    assert alpha[1, 1] == 0.0 and alpha[1, 0] == 1.0
    assert alpha[2, 0] == 0.0 and alpha[2, 1] == 1.0
    assert torch.equal(alpha[3], torch.zeros(2)) and torch.equal(fused[3], torch.zeros(D_OUT))
    assert torch.isfinite(fused).all()
    fused.sum().backward()
    for name, parameter in model.named_parameters():
        if name.startswith("query_projection"):  # the query tower is not part of Z
            continue
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_masked_softmax_of_an_all_masked_row_has_finite_gradient() -> None:
    logits = torch.zeros(1, 2, requires_grad=True)
    alpha = masked_modality_softmax(logits, torch.zeros(1, 2, dtype=torch.bool))
    alpha.sum().backward()
    assert torch.equal(alpha, torch.zeros(1, 2)) and torch.isfinite(logits.grad).all()  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["cross_attention", "text_only", "image_only", "concat"])
def test_pairwise_scores_equal_inner_products_with_paired_z(kind: str) -> None:
    # s_ij = <q_i P, Z(q_i, item_j)> for every pair, however it is computed
    model = make_fusion_model(kind, D_Q, D_V, D_T, d_k=D_K, output_dim=D_OUT, seed=3)  # type: ignore[arg-type]
    queries, vision, text = _random_batch(5, seed=4)
    masks = torch.tensor([[True, True], [True, False], [False, True], [False, False], [True, True]])
    scores, alpha = model.pairwise_scores(queries, vision, text, masks)
    assert scores.shape == (5, 5) and alpha.shape == (5, 5, 2)
    for i in range(5):
        fused, _ = model(queries[i].expand(5, -1), vision, text, masks)
        expected = fused @ model.encode_queries(queries[i : i + 1])[0]
        assert torch.allclose(scores[i], expected, atol=1e-5)


def test_score_items_is_independent_of_the_chunk_size() -> None:
    model = make_fusion_model("cross_attention", D_Q, D_V, D_T, d_k=D_K, output_dim=D_OUT, seed=5)
    queries, vision, text = _random_batch(23, seed=6)
    masks = np.random.default_rng(0).random((23, 2)) > 0.3
    whole = score_items(model, queries.numpy(), vision.numpy(), text.numpy(), masks, chunk=1000)
    chunked = score_items(model, queries.numpy(), vision.numpy(), text.numpy(), masks, chunk=4)
    np.testing.assert_allclose(whole, chunked, atol=1e-5)


def _in_batch_loss(scores: torch.Tensor, item_ids: torch.Tensor, temperature: float,
                   log_q: torch.Tensor | None = None) -> torch.Tensor:
    """The loss ``train_fusion`` applies to one batch."""
    return sampled_softmax_loss(in_batch_logits(scores, temperature, log_q), *in_batch_labels_and_mask(item_ids))


def test_in_batch_loss_with_temperature_and_log_q_by_hand() -> None:
    scores = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # each row: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1) = 0.313262
    loss = _in_batch_loss(scores, torch.tensor([0, 1]), temperature=1.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    # both columns are the same item: the other column is no negative, the loss is 0
    assert float(_in_batch_loss(scores, torch.tensor([7, 7]), 1.0)) == pytest.approx(0.0, abs=1e-7)
    # temperature 0.5 doubles the logits: log(1 + e^-2) = 0.126928
    assert float(_in_batch_loss(scores, torch.tensor([0, 1]), 0.5)) == pytest.approx(0.126928, abs=1e-6)
    # logQ: subtracting log Q_j = (0, 1) from the columns: row 0 -> -log(e/(e+e^-1)) = log(1+e^-2),
    # row 1 -> -log(e^0/(e^0+e^0)) = log 2
    log_q = torch.tensor([0.0, 1.0])
    expected = (math.log(1 + math.exp(-2)) + math.log(2)) / 2
    assert float(_in_batch_loss(scores, torch.tensor([0, 1]), 1.0, log_q)) == pytest.approx(expected, abs=1e-6)


def _modality_world(seed: int = 0, n_items: int = 150, n_pairs: int = 1200, dim: int = 12) -> dict[str, np.ndarray]:
    """Queries whose first two dims say which modality identifies the positive item.

    A "vision" query carries a noisy copy of its positive's vision features, a "text" query of
    its text features; the other modality of the items is unrelated noise. The items' features are
    centred and normalised by :func:`prepare_features`, as the stage prepares them, so no modality
    has a mean that an item-keyed attention could pick up.
    """
    rng = np.random.default_rng(seed)
    vision_mean, text_mean = rng.standard_normal(dim), rng.standard_normal(dim)
    vision = rng.standard_normal((n_items, dim)) + vision_mean
    text = rng.standard_normal((n_items, dim)) + text_mean
    positives = rng.integers(0, n_items, n_pairs)
    wants_text = rng.integers(0, 2, n_pairs)
    present = np.ones(n_items, dtype=bool)
    vision, text = prepare_features(vision, present), prepare_features(text, present)
    content = np.where(wants_text[:, None] == 1, text[positives], vision[positives])
    content += 0.1 * rng.standard_normal(content.shape)
    queries = np.concatenate([np.eye(2)[wants_text], content], axis=1)
    return {
        "queries": queries.astype(np.float32),
        "vision": vision.astype(np.float32),
        "text": text.astype(np.float32),
        "masks": np.ones((n_items, 2), dtype=bool),
        "positives": positives,
        "wants_text": wants_text,
    }


TRAIN = FusionParams(
    kind="gated", epochs=12, batch_size=128, learning_rate=1e-2, gate_learning_rate=5e-2, d_k=8, output_dim=16,
    temperature=0.1, show_progress=False,
)


@pytest.fixture(scope="module")
def world() -> dict[str, np.ndarray]:
    return _modality_world()


@pytest.fixture(scope="module")
def trained(world: dict[str, np.ndarray]) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    return _train(world, TRAIN, seed=0)


def _train(
    world: dict[str, np.ndarray], params: FusionParams, seed: int, kind: str | None = None
) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    return train_fusion(
        world["queries"], world["vision"], world["text"], world["masks"], world["positives"],
        params, seed=seed, device="cpu", kind=kind,  # type: ignore[arg-type]
    )


def _top1_accuracy(model: torch.nn.Module, world: dict[str, np.ndarray]) -> float:
    scores = score_items(
        model, world["queries"], world["vision"], world["text"], world["masks"]  # type: ignore[arg-type]
    )
    return float((scores.argmax(axis=1) == world["positives"]).mean())


def test_training_lowers_the_loss_and_gates_the_informative_modality(
    trained: tuple[torch.nn.Module, list[dict[str, float]]], world: dict[str, np.ndarray]
) -> None:
    model, history = trained
    assert isinstance(model, GatedFusion) and len(history) == TRAIN.epochs
    # chance level of a 128-way softmax is log(128) = 4.85; the fused model must go far below
    assert history[-1]["loss"] < 0.3 * history[0]["loss"]
    with torch.no_grad():
        rows = world["positives"]
        _, alpha = model(
            torch.tensor(world["queries"]),
            torch.tensor(world["vision"][rows]),
            torch.tensor(world["text"][rows]),
            torch.tensor(world["masks"][rows]),
        )
    wants_text = world["wants_text"] == 1
    assert float(alpha[wants_text, 1].mean()) > 0.8
    assert float(alpha[~wants_text, 0].mean()) > 0.8


def test_gated_fusion_beats_the_baselines_trained_identically(
    trained: tuple[torch.nn.Module, list[dict[str, float]]], world: dict[str, np.ndarray]
) -> None:
    # each baseline sees only one modality (or a query-independent mix), so it can identify
    # at most the half of the queries that point at "its" modality well
    fused_accuracy = _top1_accuracy(trained[0], world)
    assert fused_accuracy > 0.8
    for kind in ("text_only", "image_only"):
        baseline, history = _train(world, TRAIN, seed=0, kind=kind)
        assert baseline.kind == kind and len(history) == TRAIN.epochs
        assert _top1_accuracy(baseline, world) < fused_accuracy - 0.2


def test_training_is_reproducible_with_a_seed(world: dict[str, np.ndarray]) -> None:
    short = TRAIN.model_copy(update={"epochs": 2, "logq_correction": True})
    runs = [_train(world, short, seed=9) for _ in range(2)]
    assert runs[0][1] == runs[1][1]
    for (name, first), second in zip(runs[0][0].state_dict().items(), runs[1][0].state_dict().values()):
        assert torch.equal(first, second), name


def test_train_fusion_validates_positives(world: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="positives must index items"):
        train_fusion(world["queries"], world["vision"], world["text"], world["masks"],
                     np.full(len(world["queries"]), 10_000), TRAIN, seed=0, device="cpu")
    with pytest.raises(ValueError, match="masks"):
        train_fusion(world["queries"], world["vision"], world["text"], world["masks"][:, :1],
                     world["positives"], TRAIN, seed=0, device="cpu")


def test_gated_tower_starts_exactly_at_concatenation() -> None:
    gated = make_fusion_model("gated", D_Q, D_V, D_T, output_dim=D_OUT, seed=3)
    concat = make_fusion_model("concat", D_Q, D_V, D_T, output_dim=D_OUT, seed=3)
    queries, vision, text = _random_batch(6, seed=2)
    masks = torch.tensor([[True, True], [True, False], [False, True], [True, True], [True, True], [False, False]])
    with torch.no_grad():
        gates = gated.gates(queries)
        np.testing.assert_array_equal(gates.numpy(), np.ones((6, 2), dtype=np.float32))
        assert float(gated.regulariser(queries)) == 0.0
        np.testing.assert_allclose(gated.pairwise_scores(queries, vision, text, masks)[0].numpy(),
                                   concat.pairwise_scores(queries, vision, text, masks)[0].numpy(), atol=1e-6)


def test_gated_scores_are_the_formula_and_one_inner_product_per_item() -> None:
    model = make_fusion_model("gated", D_Q, D_V, D_T, output_dim=D_OUT, seed=4)
    assert isinstance(model, GatedFusion) and not model.profile_layout  # D_Q != D_T + D_V: phi(q) = q
    with torch.no_grad():
        model.gate.weight.normal_(generator=torch.Generator().manual_seed(0))
        model.gate.bias.fill_(0.3)
    queries, vision, text = _random_batch(5, seed=8)
    masks = torch.tensor([[True, True], [True, False], [False, True], [True, True], [False, False]])
    with torch.no_grad():
        scores, alpha = model.pairwise_scores(queries, vision, text, masks)
        w, b = model.gate.weight.numpy(), model.gate.bias.numpy()
        g = 2.0 / (1.0 + np.exp(-(queries.numpy() @ w.T + b)))  # (n_q, 2): [vision, text]
        projected = queries.numpy() @ model.query_projection.weight.numpy().T
        v = np.where(masks[:, :1].numpy(), vision.numpy(), 0) @ model.value_vision.weight.numpy().T
        t = np.where(masks[:, 1:].numpy(), text.numpy(), 0) @ model.value_text.weight.numpy().T
        expected = g[:, :1] * (projected @ v.T) + g[:, 1:] * (projected @ t.T)
        np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5, atol=1e-5)
        # the reported weight g_v / (g_v + g_t) where both modalities are present, 1 / 0 where one is
        np.testing.assert_allclose(alpha[:, 0, 0].numpy(), g[:, 0] / g.sum(1), rtol=1e-5)
        np.testing.assert_allclose(alpha[:, 1].numpy(), np.tile([1.0, 0.0], (5, 1)), atol=1e-6)
        assert float(alpha[:, 4].abs().sum()) == 0.0
        # one vector per item: <index query, item vector> is the score
        items = model.modality_item_vectors(vision, text, masks)["item"]
        assert items.shape == (5, 2 * D_OUT)
        np.testing.assert_allclose((model.index_queries(queries) @ items.T).numpy(), scores.numpy(), atol=1e-5)
        # the two parts sum to the score, for every kind of tower
        for kind in ("gated", "cross_attention", "concat", "text_only", "image_only"):
            tower = make_fusion_model(kind, D_Q, D_V, D_T, d_k=D_K, output_dim=D_OUT, seed=1)
            a, b_part = tower.score_parts(queries, vision, text, masks)
            np.testing.assert_allclose((a + b_part).numpy(),
                                       tower.pairwise_scores(queries, vision, text, masks)[0].numpy(), atol=1e-5)


def test_profile_layout_gates_read_the_norms_of_the_two_parts() -> None:
    model = make_fusion_model("gated", D_T + D_V, D_V, D_T, output_dim=D_OUT, seed=0)
    assert model.profile_layout
    queries = torch.cat([torch.full((2, D_T), 0.5), torch.zeros(2, D_V)], dim=1)
    queries[1, D_T:] = 1.0
    phi = model.gate_features(queries)
    np.testing.assert_allclose(phi[:, -2:].numpy(), [[0.5 * math.sqrt(D_T), 0.0],
                                                     [0.5 * math.sqrt(D_T), math.sqrt(D_V)]], rtol=1e-6)
    # the gate layer has its own step size; the rest the tower's
    groups = parameter_groups(model, TRAIN)
    assert groups[1]["lr"] == TRAIN.gate_learning_rate and len(groups[1]["params"]) == 2


def test_the_gate_penalty_reads_only_the_penalised_pairs(world: dict[str, np.ndarray]) -> None:
    short = TRAIN.model_copy(update={"epochs": 2, "gate_penalty": 10.0})
    with pytest.raises(ValueError, match="penalised must have shape"):
        train_fusion(world["queries"], world["vision"], world["text"], world["masks"], world["positives"], short,
                     seed=0, device="cpu", penalised=np.ones(3, bool))
    free, _ = train_fusion(world["queries"], world["vision"], world["text"], world["masks"], world["positives"],
                           short, seed=0, device="cpu", penalised=np.zeros(len(world["queries"]), bool))
    held, _ = train_fusion(world["queries"], world["vision"], world["text"], world["masks"], world["positives"],
                           short, seed=0, device="cpu")
    with torch.no_grad():
        q = torch.tensor(world["queries"])
        # a heavy penalty on every pair keeps the gates near 1; with no penalised pair they move freely
        assert float(held.regulariser(q)) < float(free.regulariser(q))
