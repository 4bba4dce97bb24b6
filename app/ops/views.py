"""/healthz (the process answers and reaches its database), /readyz (ready for traffic: the
database answers and its schema is at the code's migration head) and /metrics."""

from __future__ import annotations

import hmac
import os

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from app.ops import health
from app.security.permissions import public

bp = Blueprint("ops", __name__)
metrics_bp = Blueprint("ops_metrics", __name__)  # registered only while METRICS_TOKEN is set


@bp.get("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    if not health.live():
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/readyz")
@public
def readyz():  # type: ignore[no-untyped-def]
    state = health.readiness()
    ready = state == {"database": "ok", "migrations": "at head"}
    return jsonify(status="ready" if ready else "unavailable", **state), 200 if ready else 503


@metrics_bp.get("/metrics")
@public
def metrics() -> Response:
    """Prometheus text format, for a bearer of ``METRICS_TOKEN`` only. Counters of every
    process on this machine with ``PROMETHEUS_MULTIPROC_DIR``."""
    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Response("metrics need the bearer token\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(_exposition(), mimetype=CONTENT_TYPE_LATEST)


def _exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    queues = CollectorRegistry()
    queues.register(health.OutboxCollector())
    queues.register(health.InboundQueueCollector())
    return generate_latest(counters) + generate_latest(queues)
