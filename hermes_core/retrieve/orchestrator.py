r"""Fan-out to the candidate sources: concurrent calls under a time budget, a per-source circuit
breaker, and latency and failure accounting.

A *source* is any callable ``(request) -> result`` whose result has ``items`` and ``scores``
(:class:`~hermes_core.retrieve.blending.SourceResult` or a look-alike): the ANN, knowledge-graph
and SASRec sources are written against that protocol, not against this module. For each request
the :class:`Orchestrator` submits every source whose breaker lets it through to a thread pool
kept for the orchestrator's life, waits for each at most its budget, and returns a
:class:`BlendInput` holding the results of the sources that answered in time and one
:class:`SourceOutcome` per source (``ok``, ``error`` with the exception's type and message,
``timeout`` or ``skipped``). A late result is discarded and counted as a timeout: the answer
never waits past the largest budget of the sources called.

Latency of a source is the time from the request's fan-out start to the moment its answer was
available (so it includes any wait for a free worker, which the budget also counts); the
request's latency runs from the fan-out start to the end of collection. Both are read from an
injectable ``clock`` (seconds); budgets are enforced by ``concurrent.futures.wait`` on real
time, whatever the clock.

Circuit breaker (Nygard 2007, *Release It!*, "Circuit Breaker"): after ``failure_threshold``
consecutive failures (errors or timeouts) a source is *open* and skipped for the next
``cooldown_requests`` requests, then *half-open*: the next request calls it once as a trial;
success closes the breaker, failure opens it again for another cool-down. The cool-down counts
requests rather than seconds so that a batch run is reproducible: with a wall-clock cool-down,
which requests skip a source would depend on how fast the machine (shared, loaded) got through
the earlier ones, and so would every blended list and metric downstream. At serving time a
count is the seconds times the request rate. Timeouts themselves remain wall-clock events: a
source that answers close to its budget can time out in one run and not in another.

Thread safety: ``retrieve`` holds a lock, so concurrent callers are served one request at a time
(the breaker's counts need a single order of requests); the concurrency is within a request.
Python cannot kill a thread, so a hung source keeps a worker busy until it returns; the default
``max_workers`` (two per source) leaves room for one stuck call per source, and an open breaker
stops new calls to it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hermes_core.retrieve.blending import QUERY_CLASSES, SourceResult

Source = Callable[[Any], Any]
"""``(request) -> result`` with ``result.items`` (int) and ``result.scores`` (float), the source's top-k."""

Status = Literal["ok", "error", "timeout", "skipped"]
STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "skipped")
BreakerState = Literal["closed", "open", "half_open"]
BLEND_KEY = "blend"


@dataclass(frozen=True, eq=False)
class RetrievalRequest:
    """What a request carries to the sources. The orchestrator itself reads only
    ``query_class``; any object with that attribute (one of ``QUERY_CLASSES``) is accepted."""

    user: int
    history: np.ndarray  # (n_history,) item indices, oldest first
    query_class: str
    query_text: str | None = None
    query_vector: np.ndarray | None = None  # (dim,) the encoded query
    constraints: Mapping[str, Any] | None = None  # what query understanding extracted


@dataclass(frozen=True)
class SourceOutcome:
    """What happened to one source on one request."""

    source: str
    status: Status
    latency_ms: float  # fan-out start to answer (or to giving up); NaN when skipped
    error: str | None = None  # "ExceptionType: message" when status is "error"


@dataclass(frozen=True, eq=False)
class BlendInput:
    """One request's fan-out: the results of the sources that answered in time, in the
    orchestrator's source order (never completion order), and every source's outcome."""

    request: Any
    query_class: str
    results: dict[str, SourceResult]
    outcomes: dict[str, SourceOutcome]
    latency_ms: float  # fan-out start to end of collection

    @property
    def failed(self) -> tuple[str, ...]:
        """Sources left out of this request (error, timeout or skipped)."""
        return tuple(s for s, o in self.outcomes.items() if o.status != "ok")


@dataclass
class CircuitBreaker:
    """Count-based breaker of one source (see the module docstring for the states)."""

    failure_threshold: int
    cooldown_requests: int
    state: BreakerState = "closed"
    consecutive_failures: int = 0
    skips_left: int = 0
    times_opened: int = 0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {self.failure_threshold}")
        if self.cooldown_requests < 0:
            raise ValueError(f"cooldown_requests must be >= 0, got {self.cooldown_requests}")

    def allow(self) -> bool:
        """Whether to call the source on this request; counts the request when skipping."""
        if self.state != "open":
            return True
        if self.skips_left > 0:
            self.skips_left -= 1
            return False
        self.state = "half_open"
        return True

    def record(self, success: bool) -> None:
        """Update after a call; a half-open trial closes on success and reopens on failure."""
        if success:
            self.state, self.consecutive_failures = "closed", 0
            return
        self.consecutive_failures += 1
        if self.state == "half_open" or self.consecutive_failures >= self.failure_threshold:
            self._open()

    def _open(self) -> None:
        # the count restarts, so a reopened source is judged by its half-open trial alone
        self.state, self.skips_left, self.consecutive_failures = "open", self.cooldown_requests, 0
        self.times_opened += 1
        if self.cooldown_requests == 0:
            self.state = "half_open"


@dataclass
class SourceCounters:
    """Running totals of one source's outcomes over the orchestrator's life."""

    ok: int = 0
    error: int = 0
    timeout: int = 0
    skipped: int = 0
    error_types: Counter[str] = field(default_factory=Counter)  # exception type name -> count

    def add(self, outcome: SourceOutcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if outcome.status == "error" and outcome.error is not None:
            self.error_types[outcome.error.split(":", 1)[0]] += 1

    def as_dict(self) -> dict[str, int]:
        return {status: getattr(self, status) for status in STATUSES}


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of latencies in milliseconds (numpy's linear interpolation, Hyndman & Fan
    1996 type 7), over the calls that ran; NaN when none ran."""

    p50: float
    p99: float
    n: int

    @classmethod
    def of(cls, latencies_ms: Iterable[float]) -> LatencySummary:
        values = np.array([v for v in latencies_ms if np.isfinite(v)], dtype=np.float64)
        if values.size == 0:
            return cls(float("nan"), float("nan"), 0)
        return cls(float(np.percentile(values, 50)), float(np.percentile(values, 99)), int(values.size))


@dataclass(frozen=True, eq=False)
class BatchReport:
    """A batch of requests: each fan-out, optional blends, latencies and failure counts."""

    inputs: list[BlendInput]
    blends: list[Any] | None  # combine(input) per request, when a combine step was given
    request_latency_ms: np.ndarray  # (n_requests,) fan-out plus combine
    latency_ms: dict[str, LatencySummary]  # per source, plus "blend" for whole requests
    source_failures: dict[str, dict[str, int]]  # source -> {"error", "timeout", "skipped"} counts in this batch

    def as_metrics(self) -> dict[str, Any]:
        """``{"latency_ms": {name: {"p50", "p99", "n"}}, "source_failures": ...}`` for a metrics JSON."""
        return {"latency_ms": {name: {"p50": s.p50, "p99": s.p99, "n": s.n} for name, s in self.latency_ms.items()},
                "source_failures": {name: dict(counts) for name, counts in self.source_failures.items()}}


def summarise_batch(inputs: Sequence[BlendInput], request_latency_ms: Sequence[float]) -> tuple[
        dict[str, LatencySummary], dict[str, dict[str, int]]]:
    """Per-source and whole-request latency percentiles, and per-source failure counts, of a batch.

    A source's latencies are those of its calls that ran (ok, error or timeout); skipped calls
    cost nothing and are left out. The ``"blend"`` entry (:data:`BLEND_KEY`) summarises
    ``request_latency_ms``.
    """
    names: list[str] = []
    for item in inputs:
        names += [s for s in item.outcomes if s not in names]
    latency = {s: LatencySummary.of(i.outcomes[s].latency_ms for i in inputs if s in i.outcomes) for s in names}
    latency[BLEND_KEY] = LatencySummary.of(request_latency_ms)
    failures = {s: {status: sum(1 for i in inputs if s in i.outcomes and i.outcomes[s].status == status)
                    for status in ("error", "timeout", "skipped")} for s in names}
    return latency, failures


class _Call:
    """One submitted source call; the worker stamps when it finished on the orchestrator's clock."""

    def __init__(self, source: Source, request: Any, clock: Callable[[], float]) -> None:
        self.source, self.request, self.clock = source, request, clock
        self.finished_at: float | None = None

    def __call__(self) -> Any:
        try:
            return self.source(self.request)
        finally:
            self.finished_at = self.clock()


class Orchestrator:
    """Concurrent fan-out to named sources with per-source budgets and circuit breakers.

    Parameters
    ----------
    sources
        ``{name: source}``; the mapping's order is the order of every result and outcome.
    budget_s
        Seconds each source may take, one number for all or ``{name: seconds}`` for each.
    failure_threshold
        Consecutive failures (errors or timeouts) that open a source's breaker.
    cooldown_requests
        Requests an open source is skipped for before its half-open trial.
    max_workers
        Threads of the pool kept for the orchestrator's life (default two per source).
    clock
        Seconds for latency measurement (default ``time.perf_counter``); tests inject a fake.
    """

    def __init__(self, sources: Mapping[str, Source], budget_s: float | Mapping[str, float], *,
                 failure_threshold: int = 3, cooldown_requests: int = 10, max_workers: int | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if not sources:
            raise ValueError("sources must name at least one source")
        if BLEND_KEY in sources:
            raise ValueError(f"sources may not use the name {BLEND_KEY!r}: it labels whole-request latencies")
        for name, source in sources.items():
            if not callable(source):
                raise TypeError(f"sources[{name!r}] must be callable, got {type(source).__name__}")
        self.sources: dict[str, Source] = dict(sources)
        self.budget_s = self._budgets(budget_s)
        workers = 2 * len(self.sources) if max_workers is None else max_workers
        if workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {workers}")
        self.breakers = {name: CircuitBreaker(failure_threshold, cooldown_requests) for name in self.sources}
        self.counters = {name: SourceCounters() for name in self.sources}
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retrieve-source")
        self._lock = threading.Lock()

    def _budgets(self, budget_s: float | Mapping[str, float]) -> dict[str, float]:
        if isinstance(budget_s, Mapping):
            missing = [s for s in self.sources if s not in budget_s]
            unknown = [s for s in budget_s if s not in self.sources]
            if missing or unknown:
                raise ValueError(f"budget_s must name exactly the sources; missing {missing}, unknown {unknown}")
            budgets = {s: float(budget_s[s]) for s in self.sources}
        else:
            budgets = {s: float(budget_s) for s in self.sources}
        for name, value in budgets.items():
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"budget_s for source {name!r} must be a positive number of seconds, got {value}")
        return budgets

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(self.sources)

    def retrieve(self, request: Any) -> BlendInput:
        """Call every source the breakers allow, concurrently, and collect what answers in budget."""
        query_class = getattr(request, "query_class", None)
        if query_class not in QUERY_CLASSES:
            raise ValueError(f"request.query_class must be one of {QUERY_CLASSES}, got {query_class!r}")
        with self._lock:
            started = self.clock()
            started_real = time.monotonic()
            calls: dict[str, tuple[_Call, Future[Any]]] = {}
            for name, source in self.sources.items():
                if self.breakers[name].allow():
                    call = _Call(source, request, self.clock)
                    calls[name] = (call, self._pool.submit(call))
            outcomes, results = self._collect(calls, started, started_real)
            for name in self.sources:
                if name not in calls:
                    outcomes[name] = SourceOutcome(name, "skipped", float("nan"))
                else:
                    self.breakers[name].record(outcomes[name].status == "ok")
                self.counters[name].add(outcomes[name])
            ordered_outcomes = {name: outcomes[name] for name in self.sources}
            ordered_results = {name: results[name] for name in self.sources if name in results}
            return BlendInput(request=request, query_class=query_class, results=ordered_results,
                              outcomes=ordered_outcomes, latency_ms=1000.0 * (self.clock() - started))

    def _collect(self, calls: dict[str, tuple[_Call, Future[Any]]], started: float, started_real: float
                 ) -> tuple[dict[str, SourceOutcome], dict[str, SourceResult]]:
        outcomes: dict[str, SourceOutcome] = {}
        results: dict[str, SourceResult] = {}
        deadline = {name: started_real + self.budget_s[name] for name in calls}
        pending = {future: name for name, (_, future) in calls.items()}
        while pending:
            next_deadline = min(deadline[name] for name in pending.values())
            done, _ = wait(pending, timeout=max(0.0, next_deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                call = calls[name][0]
                latency_ms = 1000.0 * ((call.finished_at if call.finished_at is not None else self.clock()) - started)
                try:
                    results[name] = SourceResult.of(future.result())
                    outcomes[name] = SourceOutcome(name, "ok", latency_ms)
                except Exception as exc:  # a source's failure is an outcome, not the request's failure
                    outcomes[name] = SourceOutcome(name, "error", latency_ms, f"{type(exc).__name__}: {exc}")
            now = time.monotonic()
            for future, name in list(pending.items()):
                if deadline[name] <= now and not future.done():
                    future.cancel()  # succeeds only if it never started; a running call finishes unseen
                    del pending[future]
                    outcomes[name] = SourceOutcome(name, "timeout", 1000.0 * (self.clock() - started))
        return outcomes, results

    def run_batch(self, requests: Iterable[Any], combine: Callable[[BlendInput], Any] | None = None) -> BatchReport:
        """Retrieve each request in turn (each one fanned out concurrently) and, if ``combine`` is
        given (e.g. a :func:`~hermes_core.retrieve.blending.blend` call), blend it; report latencies
        (p50, p99 per source and per whole request, fan-out plus combine) and failure counts."""
        inputs: list[BlendInput] = []
        blends: list[Any] | None = [] if combine is not None else None
        request_latency: list[float] = []
        for request in requests:
            blend_input = self.retrieve(request)
            inputs.append(blend_input)
            total_ms = blend_input.latency_ms
            if combine is not None and blends is not None:
                combine_started = self.clock()
                blends.append(combine(blend_input))
                total_ms += 1000.0 * (self.clock() - combine_started)
            request_latency.append(total_ms)
        latency, failures = summarise_batch(inputs, request_latency)
        return BatchReport(inputs=inputs, blends=blends, request_latency_ms=np.array(request_latency),
                           latency_ms=latency, source_failures=failures)

    def close(self) -> None:
        """Release the pool without waiting for calls still running (their results are unused)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
