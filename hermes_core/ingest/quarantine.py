"""The quarantine as the notebook reads it: counts per table and reason, examples, and the check
against the malformed records the world injected on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from hermes_core.ingest.validate import IngestResult

if TYPE_CHECKING:
    from hermes_core.ingest.stage import IngestStageResult


def counts_table(result: IngestResult) -> pd.DataFrame:
    """Records in, accepted and quarantined per table, with the quarantined share in per cent."""
    frame = pd.DataFrame(result.counts).T.rename_axis("table")
    frame["quarantined (%)"] = (100 * frame["quarantined"] / frame["in"].where(frame["in"] > 0)).round(2)
    return frame


def quarantine_examples(result: IngestResult, per_reason: int) -> pd.DataFrame:
    """The first ``per_reason`` quarantined records of each reason, raw text cut to 80 characters."""
    columns = ["table", "source", "reason", "messages", "raw"]
    if result.quarantine.empty:
        return pd.DataFrame(columns=columns)
    examples = result.quarantine.groupby("reason", group_keys=False).head(max(1, per_reason))[columns]
    return examples.assign(raw=examples["raw"].str.slice(0, 80))


@dataclass(frozen=True)
class InjectionRecovery:
    """How the quarantine compares with the malformed records the world injected on purpose."""

    injected: int
    recovered: int  # injected records that were quarantined
    false_quarantines: int  # quarantined records that were not injected

    @property
    def recovered_share(self) -> float | None:
        """``recovered / injected``; ``None`` when nothing was injected."""
        return self.recovered / self.injected if self.injected else None


def injection_recovery(stage: IngestStageResult) -> InjectionRecovery | None:
    """Injected vs quarantined records, matched by ``(table, "<table>.jsonl:<line>")``;
    ``None`` for a source without injected records (MovieLens)."""
    if stage.world is None:
        return None
    quarantine = stage.result.quarantine
    found = set(zip(quarantine["table"], quarantine["source"])) if not quarantine.empty else set()
    expected = {(i.table, f"{i.table}.jsonl:{i.line}") for i in stage.injected}
    return InjectionRecovery(len(expected), len(found & expected), len(found - expected))


def reasons_table(result: IngestResult) -> pd.DataFrame:
    """Quarantined records per reason (first reason of each record), most frequent first;
    index ``reason``, one column ``records``."""
    by_reason = result.quarantine_by_reason()
    return pd.Series(by_reason, name="records", dtype=int).sort_values(ascending=False).rename_axis("reason").to_frame()
