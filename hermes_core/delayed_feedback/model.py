r"""The conversion model: a wide linear part plus a small MLP over field embeddings.

For a click with categorical table rows :math:`x_1, \dots, x_F` (one per field,
:mod:`~hermes_core.delayed_feedback.features`) and standardised numeric columns :math:`z`, output
:math:`j` is

.. math::

    o_j(x) = b_j + \sum_{f=1}^{F} w_{j}[x_f] + v_j^\top z
        + u_j^\top \operatorname{ReLU}\bigl(A\,[e[x_1]; \dots; e[x_F]; z] + a\bigr),

a logistic regression on one-hot fields and numeric columns (the *wide* part, the whole model
when ``hidden_units`` is 0) plus a one-hidden-layer MLP on :math:`d`-dimensional field embeddings
:math:`e` (the *deep* part), as in the small CTR/CVR towers of the delayed-feedback papers (ES-DFM's
reference code uses an MLP on Criteo's hashed fields). A conversion model has one output, the
logit of :math:`p(y = 1 \mid x)`; DFM's has two, that logit and the log delay rate
:math:`\log \lambda(x)`.

Initialisation is seeded (``torch.Generator``): embeddings :math:`\mathcal N(0, 0.01^2)`, linear
layers PyTorch's default uniform draws, wide weights and biases 0, except the first output's bias,
set from ``initial_bias`` (the base rate's logit, and for DFM the log of one over the mean delay), so
that training starts calibrated on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hermes_core.delayed_feedback.features import ClickFeatures


@dataclass(frozen=True)
class ModelShape:
    """Sizes of a :class:`ConversionModel`."""

    n_categories: int
    n_fields: int
    n_numeric: int
    embedding_dim: int
    hidden_units: int
    n_outputs: int = 1

    def __post_init__(self) -> None:
        for name in ("n_categories", "n_fields", "n_outputs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_numeric", "embedding_dim", "hidden_units"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.hidden_units > 0 and self.embedding_dim == 0:
            raise ValueError("a hidden layer needs embedding_dim >= 1")


class ConversionModel(nn.Module):
    """Wide + deep model of the module docstring; ``forward`` returns ``(batch, n_outputs)`` outputs."""

    def __init__(self, shape: ModelShape, seed: int, initial_bias: tuple[float, ...] = ()) -> None:
        super().__init__()
        self.shape = shape
        generator = torch.Generator().manual_seed(int(seed))
        self.wide = nn.Embedding(shape.n_categories, shape.n_outputs)
        self.numeric = nn.Linear(shape.n_numeric, shape.n_outputs) if shape.n_numeric else None
        self.embedding = nn.Embedding(shape.n_categories, shape.embedding_dim) if shape.hidden_units else None
        self.hidden = (nn.Linear(shape.n_fields * shape.embedding_dim + shape.n_numeric, shape.hidden_units)
                       if shape.hidden_units else None)
        self.output = nn.Linear(shape.hidden_units, shape.n_outputs) if shape.hidden_units else None
        with torch.no_grad():
            nn.init.zeros_(self.wide.weight)
            if self.numeric is not None:
                nn.init.zeros_(self.numeric.weight)
                nn.init.zeros_(self.numeric.bias)
            if self.embedding is not None:
                self.embedding.weight.copy_(0.01 * torch.randn(self.embedding.weight.shape, generator=generator))
                for layer in (self.hidden, self.output):
                    bound = 1.0 / np.sqrt(layer.in_features)
                    layer.weight.copy_((torch.rand(layer.weight.shape, generator=generator) * 2 - 1) * bound)
                    layer.bias.copy_((torch.rand(layer.bias.shape, generator=generator) * 2 - 1) * bound)
        if len(initial_bias) > shape.n_outputs:
            raise ValueError(f"initial_bias has {len(initial_bias)} entries for {shape.n_outputs} outputs")
        start = torch.zeros(shape.n_outputs)
        start[:len(initial_bias)] = torch.tensor([float(b) for b in initial_bias])
        self.bias = nn.Parameter(start)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """``categorical`` ``(batch, n_fields)`` int64, ``numeric`` ``(batch, n_numeric)`` float -> ``(batch, n_outputs)``."""
        out = self.bias + self.wide(categorical).sum(dim=1)  # (batch, n_outputs)
        if self.numeric is not None:
            out = out + self.numeric(numeric)
        if self.hidden is not None:
            embedded = self.embedding(categorical).flatten(start_dim=1)  # (batch, n_fields * d)
            hidden = torch.relu(self.hidden(torch.cat([embedded, numeric], dim=1)))
            out = out + self.output(hidden)
        return out


def model_shape(features: ClickFeatures, embedding_dim: int, hidden_units: int, n_outputs: int = 1) -> ModelShape:
    """The :class:`ModelShape` that reads ``features``."""
    return ModelShape(features.n_categories, len(features.vocabulary_sizes), features.n_numeric, embedding_dim,
                      hidden_units, n_outputs)


def predict_outputs(model: ConversionModel, features: ClickFeatures, device: torch.device | str = "cpu",
                    batch_size: int = 65_536) -> np.ndarray:
    """The model's outputs on every row of ``features``: ``(n, n_outputs)`` float64, in evaluation mode."""
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, features.n_rows, batch_size):
            categorical = torch.as_tensor(features.categorical[start:start + batch_size], device=device)
            numeric = torch.as_tensor(features.numeric[start:start + batch_size], device=device)
            parts.append(model(categorical, numeric).double().cpu().numpy())
    model.train()
    if not parts:
        return np.zeros((0, model.shape.n_outputs))
    return np.concatenate(parts)


def predict_probability(model: ConversionModel, features: ClickFeatures, device: torch.device | str = "cpu") -> np.ndarray:
    """:math:`\\sigma(o_1(x))` on every row: the predicted conversion probability ``(n,)`` float64."""
    logits = predict_outputs(model, features, device)[:, 0]
    return 1.0 / (1.0 + np.exp(-logits))
