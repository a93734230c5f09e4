"""Prometheus metrics: requests by route and status, latency histograms, uploads and bytes stored.

Routes are labelled by their template (/files/{file_id}), never by the concrete path, so ids do not
multiply the series. With several worker processes (`serve --workers N` sets PROMETHEUS_MULTIPROC_DIR), each
process writes its values to shared files and /metrics adds up all of them, whichever worker answers.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dicom_api_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "dicom_api_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.uploads = Counter("dicom_api_uploads_total", "Files stored", registry=self.registry)
        self.bytes_stored = Counter("dicom_api_bytes_stored_total", "Bytes of files stored", registry=self.registry)
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        count, latency = self._series.get((method, route, status)) or self._add_series(method, route, status)
        count.inc()
        latency.observe(seconds)

    def _add_series(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The labelled series of a method, route and status, looked up once (labels() takes a lock and
        builds its key at each call): there are as many as routes, methods and statuses, not requests."""
        series = self.requests.labels(method, route, str(status)), self.latency.labels(method, route)
        self._series[method, route, status] = series
        return series

    def render(self) -> Response:
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return metrics.render()
