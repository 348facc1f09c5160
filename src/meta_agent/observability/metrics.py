"""Prometheus metrics, declared once (specification §11.2 names), recorded by the layers.

The client records each Graph call, the orchestrator each request and workflow. ``/metrics``
(the HTTP service) and ``meta-agent health --metrics`` expose :data:`REGISTRY`. Labels are
bounded: Graph paths are templated (``act_{id}/campaigns``), never raw ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_COUNT = Counter(
    "meta_agent_requests_total",
    "Requests handled, by agent and action",
    ["agent", "action"],
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "meta_agent_request_duration_seconds",
    "Time to handle a request, by agent and action",
    ["agent", "action"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
ACTIVE_WORKFLOWS = Gauge(
    "meta_agent_active_workflows", "Workflows running in this process", registry=REGISTRY
)
API_CALLS = Counter(
    "meta_agent_api_calls_total",
    "HTTP calls to the Graph API, by endpoint template, method and outcome",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
ERROR_COUNT = Counter(
    "meta_agent_errors_total",
    "Errors, by agent and error kind",
    ["agent", "error_type"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "meta_agent_rate_limit_wait_seconds_total",
    "Seconds spent waiting for Meta's rate limits",
    registry=REGISTRY,
)


QUEUE_WAITING = Gauge(
    "meta_agent_queue_waiting",
    "Workflows waiting on each queue (all processes)",
    ["queue"],
    registry=REGISTRY,
)
QUEUE_RUNNING = Gauge(
    "meta_agent_queue_running",
    "Workflows of each queue running now (all processes)",
    ["queue"],
    registry=REGISTRY,
)
QUEUE_OLDEST = Gauge(
    "meta_agent_queue_oldest_waiting_seconds",
    "Age of the oldest workflow waiting on each queue",
    ["queue"],
    registry=REGISTRY,
)
QUEUE_DONE = Counter(
    "meta_agent_queue_done",
    "Workflows and agent operations this process finished, by queue and outcome",
    ["queue", "outcome"],
    registry=REGISTRY,
)


def queues(depths: dict[str, dict[str, float]]) -> None:
    """Record the queues as the system database has them now."""
    for name, row in depths.items():
        QUEUE_WAITING.labels(queue=name).set(row["waiting"])
        QUEUE_RUNNING.labels(queue=name).set(row["running"])
        QUEUE_OLDEST.labels(queue=name).set(row["oldest_s"])


def api_call(endpoint: str, method: str, status: int | str) -> None:
    """Count one Graph call (``status`` is the HTTP status, or ``error`` when none came)."""
    API_CALLS.labels(endpoint=endpoint or "/", method=method, status=str(status)).inc()


def error(agent: str, error_type: str) -> None:
    """Count one error."""
    ERROR_COUNT.labels(agent=agent, error_type=error_type).inc()


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)
