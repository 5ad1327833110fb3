"""The encode stage's towers and the arrays it saves for the retrieve stage agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hermes_core.encode.fusion import make_fusion_model
from hermes_core.encode.outputs import query_side_of
from hermes_core.index.query_side import QuerySide


@pytest.mark.parametrize("kind", ["gated", "concat", "text_only", "image_only"])
def test_saved_query_side_searches_like_the_tower(kind: str, tmp_path) -> None:
    torch.manual_seed(0)
    d_t, d_v = 6, 4
    model = make_fusion_model(kind, d_t + d_v, d_v, d_t, d_k=4, output_dim=5).eval()
    if kind == "gated":  # move the gates off their initial value 1
        with torch.no_grad():
            model.gate.weight.normal_()
            model.gate.bias.normal_()
    queries = torch.randn(7, d_t + d_v)
    with torch.no_grad():
        expected = model.index_queries(queries).numpy()
    side = QuerySide.load(query_side_of(model).save(tmp_path / "query_side.npz"))
    np.testing.assert_allclose(side.index_queries(queries.numpy()), expected, rtol=1e-5, atol=1e-6)


def test_cross_attention_has_no_query_side() -> None:
    model = make_fusion_model("cross_attention", 10, 4, 6, d_k=4, output_dim=5)
    with pytest.raises(ValueError, match="cross-attention"):
        query_side_of(model)
