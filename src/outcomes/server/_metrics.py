"""Prometheus metrics of one service process (``GET /metrics``).

Each app has its own :class:`~prometheus_client.CollectorRegistry` (no process-global
state that tests must reset). Request counts and latencies are observed by the access
middleware; writer counters, queue depth and per-model counters are read at scrape time
from the writer's stats and the tracker's published profile snapshot, so recording costs
nothing extra. With ``--workers N`` each worker answers for itself (scrape each, or run
one worker per container).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from outcomes.inference import OutcomeTracker

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _TrackerCollector(Collector):
    """Writer and per-model figures, read when Prometheus scrapes."""

    def __init__(self, tracker: OutcomeTracker) -> None:
        self.tracker = tracker

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        writer = self.tracker.writer
        if writer is not None:
            stats = writer.stats()
            for name, value, text in (
                ("outcomes_receipts_written", stats.written, "Records committed to the store."),
                ("outcomes_receipts_dropped", stats.dropped, "Records dropped (queue full)."),
                ("outcomes_receipts_failed", stats.failed, "Records the store refused."),
            ):
                yield CounterMetricFamily(name, text, value=value)
            yield GaugeMetricFamily(
                "outcomes_writer_queue_depth", "Records waiting for the writer.", value=stats.queued
            )
        snapshot = self.tracker.snapshot("shared")
        calls = CounterMetricFamily(
            "outcomes_model_calls", "Calls per model (all processes).", labels=["model"]
        )
        ok = CounterMetricFamily(
            "outcomes_model_successes", "Successful calls per model.", labels=["model"]
        )
        for model_id, profile in sorted(snapshot.profiles(None).items()):
            calls.add_metric([model_id], profile.calls)
            ok.add_metric([model_id], profile.successes)
        yield calls
        yield ok


class Metrics:
    """The service's metrics: a registry, request counters and the tracker's figures."""

    def __init__(self, tracker: OutcomeTracker) -> None:
        # auto_describe off: describing would collect, i.e. start the snapshot refresher.
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "outcomes_http_requests", "HTTP requests answered.",
            ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "outcomes_http_request_duration_seconds", "Time to answer a request.",
            ["route"], buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.rejected = Counter(
            "outcomes_items_rejected", "Items of write requests refused as invalid.",
            ["endpoint"], registry=self.registry,
        )  # fmt: skip
        self.accepted = Counter(
            "outcomes_items_accepted", "Items of write requests accepted and committed.",
            ["endpoint"], registry=self.registry,
        )  # fmt: skip
        self.registry.register(_TrackerCollector(tracker))
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency. ``method`` outside the HTTP
        methods is counted as ``OTHER``: any token is a method to the HTTP parser, and
        each distinct label value would be a series kept for the process's life."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            if method not in _METHODS:
                key = (method := "OTHER", route, status)
            series = self._series.get(key)
            if series is None:
                # A child per label set, looked up once (labels() takes a lock and builds
                # the label tuple each time); the set is bounded: methods x routes x codes.
                series = self._series[key] = (
                    self.requests.labels(method, route, str(status)),
                    self.latency.labels(route),
                )
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
