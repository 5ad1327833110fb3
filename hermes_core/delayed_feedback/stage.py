"""What ``notebooks/05_delayed_feedback.ipynb`` runs, in the order it runs it.

1. :func:`load_stream`: the world's click-to-conversion stream (written by the ingest stage) and
   the world's conversion parameters;
2. :func:`problem_tables`: the unseen share of conversions against the elapsed time, the delays
   per domain beside an exponential with the same mean, and the rows of each method's stream;
3. :func:`click_features` and :func:`protocol_config`: the model's inputs and the protocol;
4. :func:`run_streaming`: every method over every seed (:mod:`~hermes_core.delayed_feedback.protocol`),
   then :func:`~hermes_core.delayed_feedback.summary.method_table`;
5. :func:`elapsed_weight_table` and :func:`elapsed_weight_on_clicks`: :math:`W(E)` on a grid and on
   every click of the streaming period (the design's claim);
6. :func:`auxiliary_checks`: the auxiliary classifiers against the outcomes of the streaming period;
7. :func:`run_delay_comparison`: the same clicks with exponential, Weibull and log-normal delays.

The maths lives in the modules named above; this one wires the ``delayed_feedback`` parameters
into them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from hermes_core.delayed_feedback import features as feature_module
from hermes_core.delayed_feedback.assumptions import (
    auxiliary_calibration,
    elapsed_weight_check,
    elapsed_weight_curves,
    stream_composition,
)
from hermes_core.delayed_feedback.delays import delay_summary, domain_mean_delays, redraw_delays, unseen_share
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.params import DelayedFeedbackParams
from hermes_core.delayed_feedback.protocol import ProtocolConfig, ProtocolRun, run_protocol
from hermes_core.delayed_feedback.summary import method_table
from hermes_core.delayed_feedback.training import FitConfig
from hermes_core.delayed_feedback.training_rows import METHODS, ClickTimes
from hermes_core.workspace import Workspace
from hermes_core.world.conversions import ConversionStream
from hermes_core.world.params import DOMAINS, ConversionParams
from hermes_core.world.world import World

__all__ = ["load_stream", "problem_tables", "click_features", "protocol_config", "run_streaming", "seed_summary",
           "throughput", "elapsed_weight_table", "elapsed_weight_on_clicks", "auxiliary_checks", "run_delay_comparison"]


# ----------------------------------------------------------------------------- 1 · inputs
def load_stream(workspace: Workspace) -> tuple[ConversionStream, ConversionParams, str]:
    """The world's conversion stream, its parameters and a sentence on it.

    Raises ``FileNotFoundError`` naming the folder when the ingest stage wrote no world (the
    stage needs the synthetic world: ``data.source: world``).
    """
    try:
        world = World.load(workspace.world)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"no synthetic world at {workspace.world}: the delayed-feedback stage needs the "
                                "world's conversion stream (run 01_ingest with data.source: world)") from error
    stream, conversions = world.conversions, world.params.conversions
    note = (f"Conversion stream: {stream.n_clicks:,} clicks over {conversions.click_days} days, "
            f"{int(stream.true_label.sum()):,} counted conversions ({stream.true_label.mean():.2%}); delays "
            f"{conversions.delay_distribution} (shape {conversions.delay_shape:g}) with mean "
            + ", ".join(f"{d} {getattr(conversions.delay_mean_days, d):g}" for d in DOMAINS)
            + f" days; attribution window {conversions.attribution_window_days:g} days.")
    return stream, conversions, note


# ----------------------------------------------------------------------------- 2 · the problem
@dataclass(frozen=True, eq=False)
class ProblemTables:
    """The notebook's first section: unseen share, delays per domain, stream composition."""

    unseen: pd.DataFrame  # delays.unseen_share on the grid
    exponential: pd.DataFrame  # the exponential's unseen share with each group's mean delay, same grid
    delays: pd.DataFrame  # delays.delay_summary
    composition: pd.DataFrame  # assumptions.stream_composition
    grid: np.ndarray


def problem_tables(stream: ConversionStream, conversions: ConversionParams, params: DelayedFeedbackParams) -> ProblemTables:
    """:func:`~hermes_core.delayed_feedback.delays.unseen_share` on ``problem``'s grid with the matching
    exponential curves, :func:`~hermes_core.delayed_feedback.delays.delay_summary` and
    :func:`~hermes_core.delayed_feedback.assumptions.stream_composition` (clicks settled by the horizon)."""
    grid = np.linspace(0.0, params.problem.max_elapsed_days, params.problem.grid_points)
    unseen = unseen_share(stream, grid)
    delays = delay_summary(stream, conversions.attribution_window_days)
    exponential = pd.concat([pd.DataFrame({"elapsed_days": grid, "group": group,
                                           "unseen_share": np.exp(-grid / delays.loc[group, "mean_days"])})
                             for group in delays.index if np.isfinite(delays.loc[group, "mean_days"])], ignore_index=True)
    composition = stream_composition(ClickTimes.from_stream(stream), params.protocol.waiting_window_days,
                                     stream.conversion_probability, float(conversions.click_days))
    return ProblemTables(unseen, exponential, delays, composition, grid)


# ----------------------------------------------------------------------------- 3 · features and protocol
def click_features(stream: ConversionStream, params: DelayedFeedbackParams) -> ClickFeatures:
    """The model's inputs, standardised on the pre-training clicks."""
    reference = np.flatnonzero(stream.click_time_days < params.protocol.pretrain_days)
    if len(reference) == 0:
        raise ValueError(f"no click before delayed_feedback.protocol.pretrain_days={params.protocol.pretrain_days}")
    return feature_module.click_features(stream, reference, params.model.max_vocabulary)


def protocol_config(params: DelayedFeedbackParams, conversions: ConversionParams) -> ProtocolConfig:
    """The :class:`~hermes_core.delayed_feedback.protocol.ProtocolConfig` of the ``delayed_feedback`` block."""
    p, m, a = params.protocol, params.model, params.auxiliary
    if p.pretrain_days >= conversions.click_days:
        raise ValueError(f"delayed_feedback.protocol.pretrain_days ({p.pretrain_days}) must be below the stream's "
                         f"world.conversions.click_days ({conversions.click_days})")
    return ProtocolConfig(
        pretrain_days=p.pretrain_days, window_days=p.window_days, n_windows=p.n_windows,
        observation_cutoff_days=p.observation_cutoff_days, horizon_days=float(conversions.click_days),
        waiting_window_days=p.waiting_window_days,
        model=FitConfig(m.embedding_dim, m.hidden_units, m.learning_rate, m.l2, m.batch_size, m.pretrain_epochs),
        window_epochs=m.window_epochs,
        auxiliary=FitConfig(a.embedding_dim, a.hidden_units, a.learning_rate, a.l2, a.batch_size, a.epochs),
        auxiliary_min_steps=a.min_steps, label_age_days=a.label_age_days,
        fsiw_counterfactual_days=a.fsiw_counterfactual_days, elapsed_scale_days=a.elapsed_scale_days,
        max_fsiw_weight=a.fsiw_max_weight,
    )  # fmt: skip


# ----------------------------------------------------------------------------- 4 · the streaming runs
def run_streaming(stream: ConversionStream, features: ClickFeatures, config: ProtocolConfig, seeds: tuple[int, ...],
                  device: torch.device | str = "cpu", progress: bool = True, description: str = "streaming"
                  ) -> list[ProtocolRun]:
    """:func:`~hermes_core.delayed_feedback.protocol.run_protocol` for every seed, with one progress bar
    (a step per seed, method and period)."""
    times = ClickTimes.from_stream(stream)
    steps = len(seeds) * len(METHODS) * (len(config.windows(times.click_time)) + 1)
    with tqdm(total=steps, desc=description, leave=False, disable=not progress, mininterval=2.0) as bar:
        return [run_protocol(times, features, config, seed, device, progress=False, bar=bar) for seed in seeds]


def seed_summary(runs: list[ProtocolRun]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(windows, summary, table)``: every window of every run, the per-seed averages, and
    :func:`~hermes_core.delayed_feedback.summary.method_table`."""
    windows = pd.concat([run.windows for run in runs], ignore_index=True)
    summary = pd.concat([run.summary for run in runs], ignore_index=True)
    return windows, summary, method_table(summary)


def throughput(runs: list[ProtocolRun]) -> pd.DataFrame:
    """Per method: rows trained (every epoch, pre-training and windows) per second of training and
    prediction, summed over seeds."""
    rows = []
    for method in runs[0].seconds:
        n_rows = sum(run.rows_trained[method] for run in runs)
        seconds = sum(run.seconds[method] for run in runs)
        rows.append({"method": method, "rows": n_rows, "seconds": seconds, "rows_per_second": n_rows / seconds})
    return pd.DataFrame(rows).set_index("method")


# ----------------------------------------------------------------------------- 5 · the elapsed weight
def elapsed_weight_table(conversions: ConversionParams, params: DelayedFeedbackParams) -> pd.DataFrame:
    r""":math:`W(E)` curves for ``problem.probabilities`` and each domain's mean delay (:math:`\lambda = 1/\bar d`),
    on :math:`E = 0` and a log-spaced grid from one minute to ``problem.max_elapsed_days``."""
    grid = np.concatenate([[0.0], np.geomspace(1.0 / 1440.0, params.problem.max_elapsed_days,
                                               params.problem.grid_points - 1)])
    means = dict(zip(DOMAINS, domain_mean_delays(conversions.delay_mean_days)))
    return elapsed_weight_curves(params.problem.probabilities, means, grid)


def elapsed_weight_on_clicks(run: ProtocolRun, stream: ConversionStream, params: DelayedFeedbackParams) -> dict[str, float]:
    r""":func:`~hermes_core.delayed_feedback.assumptions.elapsed_weight_check` with the pre-trained DFM
    model's :math:`p(x)` and :math:`\lambda(x)` on the clicks of the streaming period."""
    streaming = np.flatnonzero(stream.click_time_days >= params.protocol.pretrain_days)
    return elapsed_weight_check(run.dfm_probability[streaming], run.per_click.rate[streaming])


# ----------------------------------------------------------------------------- 6 · auxiliary classifiers
def auxiliary_checks(run: ProtocolRun, stream: ConversionStream, features: ClickFeatures, config: ProtocolConfig,
                     device: torch.device | str = "cpu") -> pd.DataFrame:
    """:func:`~hermes_core.delayed_feedback.assumptions.auxiliary_calibration` on the streaming period of ``run``."""
    return auxiliary_calibration(ClickTimes.from_stream(stream), features, run.auxiliary, run.per_click,
                                 run.dfm_probability, config.pretrain_days, config.horizon_days, config.window_days,
                                 str(device))


# ----------------------------------------------------------------------------- 7 · other delay distributions
@dataclass(frozen=True, eq=False)
class DelayComparison:
    """The streaming protocol on the same clicks with redrawn delays."""

    summary: pd.DataFrame  # distribution, seed, method, auc, pr_auc, nll (window averages)
    tables: dict[str, pd.DataFrame]  # distribution -> summary.method_table
    delays: dict[str, pd.DataFrame]  # distribution -> delays.delay_summary
    seconds: float


def run_delay_comparison(stream: ConversionStream, conversions: ConversionParams, config: ProtocolConfig,
                         params: DelayedFeedbackParams, device: torch.device | str = "cpu",
                         progress: bool = True) -> DelayComparison | None:
    """Every method on the stream with each distribution of ``delay_comparison`` (``None`` when disabled).

    Distribution ``k`` draws its delays with ``numpy.random.default_rng([delay_seed, k])``; the
    features are the world stream's (the clicks are the same).
    """
    comparison = params.delay_comparison
    if not comparison.enabled:
        return None
    started = time.perf_counter()
    means = domain_mean_delays(conversions.delay_mean_days)
    shapes = {"exponential": 1.0, "weibull": comparison.weibull_shape, "lognormal": comparison.lognormal_sigma}
    features = click_features(stream, params)
    seeds = params.seeds[:comparison.n_seeds]
    summaries, tables, delays = [], {}, {}
    for k, distribution in enumerate(comparison.distributions):
        redrawn = redraw_delays(stream, distribution, shapes[distribution], means,
                                np.random.default_rng([comparison.delay_seed, k]))
        delays[distribution] = delay_summary(redrawn, conversions.attribution_window_days)
        runs = run_streaming(redrawn, features, config, seeds, device, progress, description=f"{distribution} delays")
        summary = pd.concat([run.summary for run in runs], ignore_index=True).assign(distribution=distribution)
        summaries.append(summary)
        tables[distribution] = method_table(summary)
    return DelayComparison(pd.concat(summaries, ignore_index=True), tables, delays, time.perf_counter() - started)
