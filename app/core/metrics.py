"""The process's Prometheus metrics, which the lower layers increment.

Defined here, at the bottom, so messaging, jobs, security and the adapters can count without
importing the ops package that serves them (``app/ops``: ``/metrics``). Labels carry no PHI:
provider names, error codes, webhook names, job names, reasons.

Several processes (gunicorn workers, ``flask worker``, ``flask scheduler``) each count in
their own memory; with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty, shared, writable folder
per machine, cleared at boot) prometheus-client writes every process's values there and
``/metrics`` adds them up.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_SENT = Counter(
    "frontdesk_messages_sent_total", "Messages the provider accepted.",
    ["provider", "channel"])
SEND_ERRORS = Counter(
    "frontdesk_send_errors_total", "Provider calls that failed, by provider and error code.",
    ["provider", "code"])
WEBHOOK_SECONDS = Histogram(
    "frontdesk_webhook_seconds", "Time to answer a provider webhook, by webhook and status.",
    ["webhook", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
JOB_RUNS = Counter(
    "frontdesk_job_runs_total", "Scheduler job runs, by job and outcome.", ["job", "outcome"])
JOB_SECONDS = Histogram(
    "frontdesk_job_seconds", "Scheduler job run time.", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))
SIGN_IN_FAILURES = Counter(
    "frontdesk_sign_in_failures_total", "Refused staff sign-ins, by reason.", ["reason"])
CIRCUIT_OPENED = Counter(
    "frontdesk_provider_circuit_opened_total",
    "Times a provider's circuit breaker opened (sending to it paused).", ["provider"])
