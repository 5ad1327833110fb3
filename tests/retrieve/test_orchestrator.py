"""The fan-out orchestrator (``hermes_core.retrieve.orchestrator``): budgets, failures, the
circuit breaker, latency accounting and deterministic order.

Slow sources block on a ``threading.Event`` that the test releases after the request has been
answered, so "late" never depends on how loaded the machine is; only the slow source's own
budget (50 ms) is waited for. Sources that must answer get a generous budget (30 s).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from hermes_core.retrieve.blending import SourceResult, blend
from hermes_core.retrieve.orchestrator import (
    CircuitBreaker,
    LatencySummary,
    Orchestrator,
    RetrievalRequest,
)

GENEROUS_S = 30.0
SHORT_S = 0.05


def request(user: int = 0, query_class: str = "free_text") -> RetrievalRequest:
    return RetrievalRequest(user=user, history=np.array([1, 2, 3]), query_class=query_class, query_text="robots")


def fixed(items: list[int], scores: list[float]):
    def source(_: RetrievalRequest) -> SourceResult:
        return SourceResult(np.array(items), np.array(scores))
    return source


def raising(_: RetrievalRequest) -> SourceResult:
    raise RuntimeError("graph store unavailable")


class Gate:
    """A source that blocks until released, and remembers whether it ever got to answer."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.answered = threading.Event()

    def __call__(self, _: RetrievalRequest) -> SourceResult:
        self.release.wait(GENEROUS_S)
        self.answered.set()
        return SourceResult(np.array([999]), np.array([1.0]))


@pytest.fixture
def gate() -> Iterator[Gate]:
    blocking = Gate()
    yield blocking
    blocking.release.set()  # let the worker thread finish so the pool can wind down


def test_the_blend_answers_without_a_raising_and_a_late_source(gate: Gate) -> None:
    sources = {"ann": fixed([1, 2, 3], [0.9, 0.8, 0.7]), "graph": raising, "sasrec": gate,
               "popular": fixed([3, 4], [5.0, 4.0])}
    budgets = {"ann": GENEROUS_S, "graph": GENEROUS_S, "sasrec": SHORT_S, "popular": GENEROUS_S}
    with Orchestrator(sources, budgets) as orchestrator:
        answer = orchestrator.retrieve(request())
        # the request came back while the late source was still blocked: it did not wait for it
        assert not gate.answered.is_set()
        gate.release.set()
        assert list(answer.results) == ["ann", "popular"]
        assert {s: o.status for s, o in answer.outcomes.items()} == {
            "ann": "ok", "graph": "error", "sasrec": "timeout", "popular": "ok"}
        assert answer.outcomes["graph"].error == "RuntimeError: graph store unavailable"
        assert answer.failed == ("graph", "sasrec")
        assert orchestrator.counters["graph"].as_dict() == {"ok": 0, "error": 1, "timeout": 0, "skipped": 0}
        assert orchestrator.counters["sasrec"].as_dict() == {"ok": 0, "error": 0, "timeout": 1, "skipped": 0}
        assert dict(orchestrator.counters["graph"].error_types) == {"RuntimeError": 1}
        blended = blend(answer.results, {"ann": 1.0, "graph": 1.0, "sasrec": 1.0, "popular": 1.0}, top_n=10)
        # the other sources' candidates, deduplicated (item 3 from both), never the late item 999
        np.testing.assert_array_equal(np.sort(blended.items), [1, 2, 3, 4])
        assert blended.provenance(int(np.flatnonzero(blended.items == 3)[0])) == ("ann", "popular")


def test_a_late_result_is_discarded_even_once_it_arrives(gate: Gate) -> None:
    with Orchestrator({"slow": gate, "fast": fixed([1], [1.0])}, {"slow": SHORT_S, "fast": GENEROUS_S},
                      failure_threshold=5) as orchestrator:
        first = orchestrator.retrieve(request())
        gate.release.set()
        assert gate.answered.wait(GENEROUS_S)
        assert "slow" not in first.results
        second = orchestrator.retrieve(request())  # the released gate answers at once now
        assert orchestrator.counters["slow"].timeout == 1
        assert second.outcomes["fast"].status == "ok"


def test_a_malformed_result_is_an_error_of_that_source() -> None:
    def duplicates(_: RetrievalRequest) -> SourceResult:
        return type("Look", (), {"items": np.array([1, 1]), "scores": np.array([0.2, 0.1])})()

    with Orchestrator({"bad": duplicates, "good": fixed([1], [1.0])}, GENEROUS_S) as orchestrator:
        answer = orchestrator.retrieve(request())
    assert answer.outcomes["bad"].status == "error"
    assert answer.outcomes["bad"].error.startswith("ValueError: items contain duplicates")
    assert list(answer.results) == ["good"]


class Scripted:
    """A source that fails or succeeds as a script says, counting its calls."""

    def __init__(self, script: list[bool]) -> None:
        self.script, self.calls = list(script), 0

    def __call__(self, _: RetrievalRequest) -> SourceResult:
        succeed = self.script[self.calls]
        self.calls += 1
        if not succeed:
            raise ConnectionError(f"call {self.calls} failed")
        return SourceResult(np.array([7]), np.array([1.0]))


def test_the_breaker_opens_skips_half_opens_reopens_and_closes() -> None:
    # threshold 2, cool-down 3. Calls the source sees: fail, fail (opens) | skip x3 | trial fails
    # (reopens) | skip x3 | trial succeeds (closes) | fail (1 of 2, stays closed) | succeed
    script = Scripted([False, False, False, True, False, True])
    with Orchestrator({"kg": script, "ann": fixed([1], [1.0])}, GENEROUS_S,
                      failure_threshold=2, cooldown_requests=3) as orchestrator:
        statuses, states = [], []
        for user in range(12):
            statuses.append(orchestrator.retrieve(request(user)).outcomes["kg"].status)
            states.append(orchestrator.breakers["kg"].state)
        assert statuses == ["error", "error", "skipped", "skipped", "skipped", "error",
                            "skipped", "skipped", "skipped", "ok", "error", "ok"]
        assert states == ["closed", "open", "open", "open", "open", "open",
                          "open", "open", "open", "closed", "closed", "closed"]
        assert script.calls == 6  # skipped requests never reached the source
        assert orchestrator.breakers["kg"].times_opened == 2
        assert orchestrator.counters["kg"].as_dict() == {"ok": 2, "error": 4, "timeout": 0, "skipped": 6}
        assert orchestrator.counters["ann"].as_dict() == {"ok": 12, "error": 0, "timeout": 0, "skipped": 0}


def test_a_timeout_counts_toward_the_breaker(gate: Gate) -> None:
    with Orchestrator({"slow": gate, "fast": fixed([1], [1.0])}, {"slow": SHORT_S, "fast": GENEROUS_S},
                      failure_threshold=1, cooldown_requests=1) as orchestrator:
        assert orchestrator.retrieve(request()).outcomes["slow"].status == "timeout"
        assert orchestrator.retrieve(request()).outcomes["slow"].status == "skipped"
        gate.release.set()
        orchestrator.budget_s["slow"] = GENEROUS_S  # the half-open trial must not race the machine's load
        assert orchestrator.retrieve(request()).outcomes["slow"].status == "ok"
        assert orchestrator.breakers["slow"].state == "closed"


def test_a_zero_cooldown_tries_again_on_the_next_request() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_requests=0)
    breaker.record(success=False)
    assert breaker.state == "half_open" and breaker.allow()


def test_breaker_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0, cooldown_requests=1)
    with pytest.raises(ValueError, match="cooldown_requests"):
        CircuitBreaker(failure_threshold=1, cooldown_requests=-1)


def test_results_follow_the_configured_order_not_completion_order() -> None:
    # completion order is c, then b, then a: each waits for the one after it to finish
    c_done, b_done = threading.Event(), threading.Event()

    def source_c(_: RetrievalRequest) -> SourceResult:
        c_done.set()
        return SourceResult(np.array([3]), np.array([1.0]))

    def source_b(_: RetrievalRequest) -> SourceResult:
        c_done.wait(GENEROUS_S)
        b_done.set()
        return SourceResult(np.array([2]), np.array([1.0]))

    def source_a(_: RetrievalRequest) -> SourceResult:
        b_done.wait(GENEROUS_S)
        return SourceResult(np.array([1]), np.array([1.0]))

    with Orchestrator({"a": source_a, "b": source_b, "c": source_c}, GENEROUS_S) as orchestrator:
        answer = orchestrator.retrieve(request())
    assert list(answer.results) == ["a", "b", "c"]
    assert list(answer.outcomes) == ["a", "b", "c"]


class FakeClock:
    """Seconds that advance only when a source or the combine step says it took time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, milliseconds: float) -> None:
        self.now += milliseconds / 1000.0


def test_batch_latencies_and_failure_counts_by_hand() -> None:
    clock = FakeClock()

    def timed(milliseconds_by_user: dict[int, float], fail_on: set[int] = frozenset()):
        def source(r: RetrievalRequest) -> SourceResult:
            clock.advance_ms(milliseconds_by_user[r.user])
            if r.user in fail_on:
                raise TimeoutError("backend")
            return SourceResult(np.array([r.user]), np.array([1.0]))
        return source

    sources = {"ann": timed({0: 1, 1: 2, 2: 3, 3: 4}), "kg": timed({0: 10, 1: 10, 2: 10, 3: 10}, fail_on={2})}

    def combine(answer):
        clock.advance_ms(1)
        return blend(answer.results, {"ann": 0.5, "kg": 0.5}, top_n=5)

    # one worker runs the calls one after the other in submission order (ann, then kg), so the
    # fake clock's readings are fixed: ann answers at its own time, kg at ann's time + 10
    with Orchestrator(sources, GENEROUS_S, max_workers=1, failure_threshold=5, clock=clock) as orchestrator:
        report = orchestrator.run_batch([request(user) for user in range(4)], combine=combine)
    np.testing.assert_allclose([i.outcomes["ann"].latency_ms for i in report.inputs], [1, 2, 3, 4])
    np.testing.assert_allclose([i.outcomes["kg"].latency_ms for i in report.inputs], [11, 12, 13, 14])
    # whole request = fan-out (until kg answered) + 1 ms of combine
    np.testing.assert_allclose(report.request_latency_ms, [12, 13, 14, 15])
    # type-7 percentiles of 1, 2, 3, 4: p50 = 2.5; p99 at position 3 * 0.99 = 2.97 -> 3 + 0.97 * 1 = 3.97
    assert report.latency_ms["ann"].p50 == pytest.approx(2.5)
    assert report.latency_ms["ann"].p99 == pytest.approx(3.97)
    assert report.latency_ms["kg"].p50 == pytest.approx(12.5)
    assert report.latency_ms["blend"].p99 == pytest.approx(14.97)
    assert report.latency_ms["blend"].n == 4
    assert report.source_failures == {"ann": {"error": 0, "timeout": 0, "skipped": 0},
                                      "kg": {"error": 1, "timeout": 0, "skipped": 0}}
    assert report.inputs[2].outcomes["kg"].error == "TimeoutError: backend"
    assert [list(b.items) for b in report.blends] == [[0], [1], [2], [3]]
    metrics = report.as_metrics()
    assert metrics["latency_ms"]["blend"] == {"p50": pytest.approx(13.5), "p99": pytest.approx(14.97), "n": 4}
    assert metrics["source_failures"]["kg"]["error"] == 1


def test_skipped_calls_are_left_out_of_the_latency_percentiles() -> None:
    # the two calls that ran took 2 and 4 ms: p50 = 3, p99 = 2 + 0.99 * (4 - 2) = 3.98
    summary = LatencySummary.of([float("nan"), 4.0, float("nan"), 2.0])
    assert (summary.p50, summary.n) == (3.0, 2)
    assert summary.p99 == pytest.approx(3.98)
    empty = LatencySummary.of([float("nan")])
    assert empty.n == 0 and np.isnan(empty.p50)


def test_the_same_batch_gives_the_same_answers() -> None:
    rng = np.random.default_rng(3)
    lists = {name: (rng.permutation(50)[:10], rng.normal(size=10)) for name in ("ann", "kg", "sasrec")}

    def run() -> list[np.ndarray]:
        sources = {name: fixed(list(items), list(scores)) for name, (items, scores) in lists.items()}
        weights = {"ann": 0.4, "kg": 0.4, "sasrec": 0.2}
        with Orchestrator(sources, GENEROUS_S) as orchestrator:
            report = orchestrator.run_batch([request(u) for u in range(3)],
                                            combine=lambda answer: blend(answer.results, weights, top_n=15))
        return [b.items for b in report.blends]

    for first, again in zip(run(), run()):
        np.testing.assert_array_equal(first, again)


def test_bad_settings_and_requests_name_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"budget_s must name exactly the sources; missing \['kg'\]"):
        Orchestrator({"ann": raising, "kg": raising}, {"ann": 1.0})
    with pytest.raises(ValueError, match="budget_s for source 'ann'"):
        Orchestrator({"ann": raising}, 0.0)
    with pytest.raises(ValueError, match="max_workers"):
        Orchestrator({"ann": raising}, 1.0, max_workers=0)
    with pytest.raises(ValueError, match="'blend'"):
        Orchestrator({"blend": raising}, 1.0)
    with pytest.raises(TypeError, match=r"sources\['ann'\]"):
        Orchestrator({"ann": "not callable"}, 1.0)
    with Orchestrator({"ann": raising}, 1.0) as orchestrator:
        with pytest.raises(ValueError, match="request.query_class"):
            orchestrator.retrieve(request(query_class="vague"))
