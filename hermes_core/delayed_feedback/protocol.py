r"""One streaming run: pre-train every method, then train on window :math:`k`, test on :math:`k+1`.

The protocol of ES-DFM (Yang et al., AAAI 2021; :mod:`~hermes_core.delayed_feedback.streaming`):

1. at the pre-training time :math:`P` (``pretrain_days``), fit the auxiliary classifiers on what is
   known then (:mod:`~hermes_core.delayed_feedback.auxiliary`);
2. each method pre-trains its own model on its own rows of :math:`[0, P)` observed at :math:`P`
   (:mod:`~hermes_core.delayed_feedback.training_rows`): vanilla on the labels seen at :math:`P`,
   the oracle on the true labels, FNW on the rows its pipeline ingested by :math:`P` ... so no
   method uses a label from after :math:`P` except the oracle (whose labels are the truth by
   definition). The reference code pre-trains one shared model on the true labels of its first 30
   days instead, which lets later conversions into the pre-training; here the gap between vanilla
   and the oracle includes pre-training, where the delays bias the most recent days;
3. window :math:`k`, :math:`T_k = P + (k + 1) w`: at :math:`\tau_k = T_k + o` (the observation
   cut-off :math:`o`, 0 in ES-DFM's protocol) each model continues training (same Adam) on window
   :math:`k`'s data as observable at :math:`\tau_k`: a click method on the clicks of
   :math:`[T_k - w, T_k)` with their labels at :math:`\tau_k`, a stream method on the rows its
   pipeline ingested in :math:`[\tau_k - w, \tau_k)` (from :math:`P` for :math:`k = 0`, so every row
   ingested before the last training time is trained on exactly once); then it predicts the clicks of
   :math:`[\tau_k, \tau_k + w)`, scored against their true labels
   (:func:`~hermes_core.delayed_feedback.streaming.window_scores`). With :math:`o = 0` the windows
   are those of :func:`~hermes_core.delayed_feedback.streaming.stream_windows`; a cut-off
   :math:`o > 0` lets the labels mature before training, at the price of a staler model.

DFM's pre-trained delay rates :math:`\lambda(x)` are frozen for the elapsed-weight variant (so
``dfm`` runs before ``elapsed_weight``). Every model of one seed starts from the same draw
(:class:`~hermes_core.delayed_feedback.model.ConversionModel` seeded with ``seed``) and every
period shuffles its rows with ``numpy.random.default_rng([seed, k])`` (``k = 0`` for pre-training),
so two methods that see the same rows with the same weights fit the same model bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from hermes_core.delayed_feedback.auxiliary import (
    AuxiliaryModels,
    ClickAuxiliary,
    auxiliary_inputs,
    click_auxiliary,
    fit_auxiliary,
)
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.model import ConversionModel, model_shape, predict_outputs
from hermes_core.delayed_feedback.streaming import (
    WindowScores,
    average_over_windows,
    stream_windows,
    window_scores,
)
from hermes_core.delayed_feedback.training import FitConfig, FitLog, fit_rows, make_optimizer, n_outputs
from hermes_core.delayed_feedback.ingestion import IngestedRows
from hermes_core.delayed_feedback.training_rows import (
    METHODS,
    STREAM_METHODS,
    ClickTimes,
    TrainingRows,
    method_streams,
    training_rows,
)

MIN_SHARE = 1e-4


@dataclass(frozen=True)
class ProtocolConfig:
    """The settings of one streaming run (the stage builds it from ``delayed_feedback`` parameters)."""

    pretrain_days: float
    window_days: float
    n_windows: int | None  # None: as many as fit before horizon_days
    observation_cutoff_days: float  # labels of window k are read (and the model trains) this long after it ends
    horizon_days: float  # end of the click period: the last test window ends by then
    waiting_window_days: float  # c of ES-DFM, w_1 of DEFER
    model: FitConfig  # the main model; its epochs are the pre-training epochs
    window_epochs: int
    auxiliary: FitConfig
    auxiliary_min_steps: int  # fewest steps of each auxiliary classifier
    label_age_days: float
    fsiw_counterfactual_days: float
    elapsed_scale_days: float
    max_fsiw_weight: float

    def windows(self, click_time: np.ndarray) -> list[ProtocolWindow]:
        """The steps of the run (module docstring, step 3)."""
        room = self.horizon_days - self.pretrain_days - self.observation_cutoff_days
        fitting = int(np.floor(room / self.window_days + 1e-9)) - 1
        n = fitting if self.n_windows is None else self.n_windows
        if n < 1 or n > fitting:
            raise ValueError(f"{n} windows of {self.window_days} days after pretrain_days={self.pretrain_days} (cut-off "
                             f"{self.observation_cutoff_days}) do not fit before the click horizon {self.horizon_days} "
                             f"(at most {fitting}): lower delayed_feedback.protocol.n_windows, window_days, "
                             "observation_cutoff_days or pretrain_days")
        click = np.asarray(click_time, dtype=np.float64)
        out = []
        for k, window in enumerate(stream_windows(click, self.pretrain_days, self.window_days, n)):
            observed_at = window.train_time + self.observation_cutoff_days
            test = np.flatnonzero((click >= observed_at) & (click < observed_at + self.window_days))
            stream_start = self.pretrain_days if k == 0 else observed_at - self.window_days
            out.append(ProtocolWindow(window.train_time - self.window_days, window.train_time, observed_at, test,
                                      stream_start))
        return out


class ProtocolWindow(NamedTuple):
    """One step: train on window ``[train_start, train_end)`` as observable at ``observed_at``, test on ``test_index``."""

    train_start: float
    train_end: float
    observed_at: float  # train_end + the observation cut-off
    test_index: np.ndarray  # clicks made in [observed_at, observed_at + window)
    stream_start: float  # stream methods train on rows ingested in [stream_start, observed_at); P for k = 0


@dataclass(frozen=True, eq=False)
class ProtocolRun:
    """Everything one seed's run produced."""

    seed: int
    windows: pd.DataFrame  # one row per (method, window): method, window, test_start, n, auc, pr_auc, nll, ...
    summary: pd.DataFrame  # one row per method: click-weighted auc, pr_auc, nll over the windows
    auxiliary: AuxiliaryModels
    per_click: ClickAuxiliary  # f_dp, f_rn and the pre-trained DFM rate of every click
    dfm_probability: np.ndarray  # (n_clicks,) the pre-trained DFM model's p(x)
    pretrain: dict[str, FitLog] = field(default_factory=dict)
    rows_trained: dict[str, int] = field(default_factory=dict)  # per method, pre-training + windows, every epoch
    seconds: dict[str, float] = field(default_factory=dict)  # per method, training + prediction
    models: dict[str, ConversionModel] = field(default_factory=dict)  # the final model of each method


def initial_bias(method: str, rows: TrainingRows) -> tuple[float, ...]:
    """The output biases a model starts from: the logit of its rows' positive share and, for DFM,
    :math:`\\log(1 / \\bar d)` with :math:`\\bar d` the mean observed delay (1 day without one)."""
    share = float(np.clip(rows.label.mean() if rows.n_rows else 0.5, MIN_SHARE, 1 - MIN_SHARE))
    bias = [float(np.log(share / (1 - share)))]
    if n_outputs(method) == 2:
        observed = rows.delay[np.isfinite(rows.delay)]
        mean_delay = float(observed.mean()) if len(observed) and observed.mean() > 0 else 1.0
        bias.append(float(-np.log(mean_delay)))
    return tuple(bias)


def window_rows(method: str, times: ClickTimes, window: ProtocolWindow, window_days: float,
                streams: dict[str, IngestedRows]) -> TrainingRows:
    """Window ``window``'s rows of ``method`` as observable at ``window.observed_at`` (module docstring, step 3)."""
    if method in STREAM_METHODS:
        return training_rows(method, times, window.stream_start, window.observed_at, streams)
    return training_rows(method, times, window.train_start, window.train_end, streams, window.observed_at)


def run_protocol(times: ClickTimes, features: ClickFeatures, config: ProtocolConfig, seed: int,
                 device: torch.device | str = "cpu", methods: tuple[str, ...] = METHODS,
                 progress: bool = True, keep_models: bool = False, bar: tqdm | None = None) -> ProtocolRun:
    """Run the protocol (module docstring) for ``methods`` with one ``seed``.

    Progress: one step per method and period on ``bar`` when given (a caller's bar over several
    runs), else on a bar of its own when ``progress``.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    if "elapsed_weight" in methods and "dfm" not in methods:
        raise ValueError("the elapsed-weight variant needs DFM's delay rates: include 'dfm'")
    methods = tuple(m for m in METHODS if m in methods)  # dfm before elapsed_weight
    windows = config.windows(times.click_time)
    streams = method_streams(times, config.waiting_window_days)
    pretrain_at = config.pretrain_days
    auxiliary = fit_auxiliary(times, features, pretrain_at, config.waiting_window_days, config.label_age_days,
                              config.fsiw_counterfactual_days, config.elapsed_scale_days, config.auxiliary, seed, device,
                              config.auxiliary_min_steps)
    per_click = click_auxiliary(auxiliary, features, device)
    true_label = times.true_label
    dfm_probability = np.full(times.n_clicks, np.nan)
    records, pretrain_logs, rows_trained, seconds, models = [], {}, {}, {}, {}
    own_bar = bar is None
    if own_bar:
        bar = tqdm(total=len(methods) * (len(windows) + 1), desc=f"seed {seed}", leave=False, disable=not progress,
                   mininterval=2.0)
    for method in methods:
        started = time.perf_counter()
        rows = training_rows(method, times, 0.0, pretrain_at, streams)
        model = ConversionModel(model_shape(features, config.model.embedding_dim, config.model.hidden_units,
                                            n_outputs(method)), seed, initial_bias(method, rows)).to(device)
        optimizer = make_optimizer(model, config.model)
        log = fit_rows(model, optimizer, method, features, rows,
                       auxiliary_inputs(method, rows, auxiliary, per_click, features, device),
                       epochs=config.model.epochs, batch_size=config.model.batch_size,
                       rng=np.random.default_rng([seed, 0]), device=device, max_fsiw_weight=config.max_fsiw_weight)
        pretrain_logs[method] = log
        rows_trained[method] = log.n_rows
        bar.update(1)
        if method == "dfm":
            outputs = predict_outputs(model, features, device)
            per_click.rate[:] = np.exp(outputs[:, 1])
            dfm_probability = 1.0 / (1.0 + np.exp(-outputs[:, 0]))
        for k, window in enumerate(windows):
            rows = window_rows(method, times, window, config.window_days, streams)
            log = fit_rows(model, optimizer, method, features, rows,
                           auxiliary_inputs(method, rows, auxiliary, per_click, features, device),
                           epochs=config.window_epochs, batch_size=config.model.batch_size,
                           rng=np.random.default_rng([seed, k + 1]), device=device,
                           max_fsiw_weight=config.max_fsiw_weight)
            rows_trained[method] += log.n_rows
            test = window.test_index
            logits = predict_outputs(model, features.take(test), device)[:, 0]
            scores = window_scores(true_label[test].astype(np.int64), 1.0 / (1.0 + np.exp(-logits)))
            records.append({"method": method, "seed": seed, "window": k, "observed_at": window.observed_at,
                            "n": scores.n, "auc": scores.auc, "pr_auc": scores.pr_auc, "nll": scores.nll,
                            "train_rows": rows.n_rows, "train_positive_share": float(rows.label.mean()) if rows.n_rows
                            else float("nan"), "test_positive_share": float(true_label[test].mean()) if len(test)
                            else float("nan")})
            bar.update(1)
        seconds[method] = time.perf_counter() - started
        if keep_models:
            models[method] = model
    if own_bar:
        bar.close()
    table = pd.DataFrame.from_records(records)
    summary = summarise_windows(table)
    return ProtocolRun(seed, table, summary, auxiliary, per_click, dfm_probability, pretrain_logs, rows_trained, seconds,
                       models)


def summarise_windows(table: pd.DataFrame) -> pd.DataFrame:
    """Per method (and seed, when present), the click-weighted mean AUC, PR-AUC and NLL over windows."""
    keys = [key for key in ("seed", "method") if key in table.columns]
    rows = []
    for group, part in table.groupby(keys, sort=False):
        averages = average_over_windows([WindowScores(int(r.n), r.auc, r.pr_auc, r.nll) for r in part.itertuples()])
        rows.append({**dict(zip(keys, group if isinstance(group, tuple) else (group,))), **averages})
    return pd.DataFrame(rows)
