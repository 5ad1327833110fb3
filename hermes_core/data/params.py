"""The ``data:`` block of ``params.yaml``: where the pipeline's data come from."""

from __future__ import annotations

from typing import Literal

from hermes_core.params import StrictModel


class DataParams(StrictModel):
    """Where the pipeline's data come from."""

    source: Literal["world", "movielens-100k", "movielens-1m", "movielens-latest"] = "world"
    shared_data_dir: str = "../shared/data"
    movielens_path: str | None = None
    allow_download: bool = False
