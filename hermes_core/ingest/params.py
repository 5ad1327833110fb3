"""The ``ingest:`` block of ``params.yaml``: validation and feature-store settings."""

from __future__ import annotations

from pydantic import Field

from hermes_core.params import StrictModel


class IngestParams(StrictModel):
    """Validation and feature-store settings of the ingest stage."""

    chunk_size: int = Field(20000, ge=100)
    quarantine_examples: int = Field(8, ge=0, le=100)
    future_tolerance_seconds: float = Field(0.0, ge=0.0)
