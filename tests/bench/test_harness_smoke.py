"""The load and fault harness (``make bench``) at its smoke scale: every workload runs, each
figure stands beside its ceiling, the results file and the table are written, and the fault
run (provider faults and a SIGKILLed worker) loses and duplicates nothing. Its own scratch
databases on the test server; never the PostgreSQL restart (that is ``make bench`` only)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.core import clock
from bench import run
from tests.conftest import on_postgres

pytestmark = pytest.mark.skipif(not on_postgres(), reason=(
    "needs PostgreSQL: runs in the PostgreSQL pass (TEST_DATABASE_URL)"))


@pytest.fixture
def scratch_url():
    server = make_url(os.environ["TEST_DATABASE_URL"])
    url = server.set(database=f"fd_bench_smoke_{os.getpid()}")
    yield url.render_as_string(hide_password=False)
    admin = server.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def test_the_smoke_scale_measures_everything_and_the_fault_run_loses_nothing(
        scratch_url, tmp_path, capsys):
    out = tmp_path / "latest.json"
    with clock.frozen_at(datetime.now(UTC)):  # the processes it starts keep the wall clock
        run.main_with(["--scale", "smoke", "--database-url", scratch_url, "--out", str(out)])

    result = json.loads(out.read_text())
    rows = {row["what"].split(" (")[0].split(",")[0]: row for row in result["rows"]}
    assert set(rows) == {"inbound webhook storm", "outbox drain", "slot file",
                         "fault run: 20% provider faults", "Stripe checkout"}
    assert [row["what"] for row in result["rows"] if row["what"].startswith("slot file")] == [
        "slot file (SMART Scheduling Links, 20 clients)", "slot file, If-None-Match (304)"]
    for row in result["rows"]:
        if row["ceiling"] is not None:
            assert row["result"] > 0 and row["ceiling"] > 0, row
    for name in ("inbound webhook storm", "outbox drain", "slot file", "Stripe checkout"):
        assert rows[name]["result"] > 0 and rows[name]["ceiling"] > 0
    assert rows["inbound webhook storm"]["routed_per_s"] > 0  # the worker routed every text
    assert result["fault_run"]["lost"] == 0 and result["fault_run"]["duplicated"] == 0
    # The emails went through the fake SendGrid and are counted too. (Whether the smoke run's
    # seven meet an injected fault depends on when the worker is killed: a killed worker's
    # claimed batch waits for the catch-up passes, which run without faults; the emails'
    # faults are checked at small and full scale, and by tests/bench/test_fake_providers.py.)
    assert result["fault_run"]["emails"] > 0 and result["fault_run"]["email"] == {
        "lost": 0, "duplicated": 0}
    assert "email_faults_injected" in result["fault_run"]
    assert result["checkout"]["unaccounted"] == 0
    assert result["checkout"]["opened"] + result["checkout"]["refused"] == 20
    assert result["fault_run"]["worker_kills"] == 1
    assert result["fault_run"]["left_unsent"] == 0
    assert result["machine"]["cpus"] == os.cpu_count()
    assert "| inbound webhook storm" in capsys.readouterr().out
