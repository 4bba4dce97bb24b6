"""A circuit breaker per provider, inside each worker: after ``THRESHOLD`` transient failures
in a row (429, 5xx, timeouts) the provider is left alone for a pause that doubles with every
failed trial (30 s, 1 min, ... up to 10 min); messages due meanwhile are deferred to the end
of the pause with the reason ``delayed: <provider> unavailable`` (staff screens then show a
banner, ``messaging.delays``). When the pause ends, one message is the trial: a success
closes the circuit, a failure opens it again for twice as long."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.metrics import CIRCUIT_OPENED

log = logging.getLogger(__name__)

THRESHOLD = 5
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(minutes=10)
DELAYED_REASON = "delayed: {provider} unavailable"


@dataclass
class Breaker:
    provider: str
    failures: int = 0
    pause: timedelta = FIRST_PAUSE
    open_until: datetime | None = None

    def closed_at(self, now: datetime) -> datetime | None:
        """None when a message may go to the provider now, else when it may."""
        if self.open_until is not None and now < self.open_until:
            return self.open_until
        return None

    def succeeded(self) -> None:
        if self.open_until is not None:
            log.info("provider=%s circuit closed", self.provider)
        self.failures, self.pause, self.open_until = 0, FIRST_PAUSE, None

    def failed(self, now: datetime) -> None:
        self.failures += 1
        trial_failed = self.open_until is not None  # the first message after a pause
        if self.failures < THRESHOLD and not trial_failed:
            return
        if trial_failed:
            self.pause = min(self.pause * 2, LONGEST_PAUSE)
        self.open_until = now + self.pause
        CIRCUIT_OPENED.labels(provider=self.provider).inc()
        log.warning("provider=%s circuit open for %ds after %d failures", self.provider,
                    self.pause.total_seconds(), self.failures)
