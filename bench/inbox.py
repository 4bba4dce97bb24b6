"""Inbox latency on PostgreSQL: 100,000 conversations (one patient each) holding 1,000,000
messages. Times, through Flask's test client as a signed-in front-desk member (in-process: the
app's own cost, without HTTP; each request in its own application context and database
session, as in production), after a warm-up, median and p95 of:

- the first inbox page (open conversations by last activity, 30 rows, unread per staff
  member, the tab's unread count),
- a search by phone: the page for a posted search token (blind index → patient →
  conversation), and the POST that makes the token plus that page;
- as the ceiling in the same run, a signed-in page that reads no data (the session lookup,
  its touch and a render: what every staff request costs).

    .venv/bin/python -m bench.inbox [--database URL] [--runs 50]

Recreates the scratch database (default ``frontdesk_bench_inbox``) each run. Message bodies
repeat a few ciphertexts (COPY of 1,000,000 rows); names, numbers and contacts are real
per-row ciphertexts and blind indexes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from datetime import timedelta

import psycopg
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.clock import utcnow
from app.core.types import keyring
from app.extensions import db
from app.messaging.models import Conversation
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import blind_index
from bench.common import fresh_database, libpq_url, percentile
from tests import factories

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/frontdesk_bench_inbox"
CONVERSATIONS = 100_000
MESSAGES = 1_000_000
WARM_UP = 5


def phone(n: int) -> str:
    return f"+1312{2_000_000 + n:07d}"


def seed(url: str) -> tuple[int, list[str]]:
    """The practice, patients, conversations and messages; returns the practice id and the
    patients' numbers."""
    now = utcnow()
    practice = Practice(name="Lakeside Family Dental", phone="+13125550100",
                        timezone="America/Chicago")
    db.session.add(practice)
    db.session.commit()
    numbers = [phone(n) for n in range(CONVERSATIONS)]
    for start in range(0, CONVERSATIONS, 10_000):
        rows = []
        for n in range(start, start + 10_000):
            person = Patient(practice_id=practice.id, given_name="Maria",
                             family_name=f"Bench{n}", mobile_phone=numbers[n],
                             date_of_birth=now.date() - timedelta(days=8_000 + n % 20_000),
                             preferred_language="en", sex="female", preferred_channel="sms")
            person.refresh_indexes()
            rows.append({c.name: getattr(person, c.key) for c in Patient.__table__.columns
                         if c.name != "id" and getattr(person, c.key) is not None}
                        | {"created_at": now, "updated_at": now})
        db.session.execute(insert(Patient.__table__), rows)
        db.session.execute(insert(Conversation.__table__), [{
            "practice_id": practice.id, "channel": "sms", "contact": numbers[n],
            "contact_index": blind_index.phone_index(numbers[n]), "unread": False,
            "closed": n % 5 == 0, "created_at": now} for n in range(start, start + 10_000)])
        db.session.commit()
        print(f"  {start + 10_000:,} patients and conversations", file=sys.stderr)
    db.session.execute(text(
        "INSERT INTO conversation_patient (conversation_id, patient_id) "
        "SELECT c.id, p.id FROM conversation c JOIN patient p ON p.id = c.id"))
    db.session.commit()
    _copy_messages(url, practice.id, now)
    db.session.execute(text(
        "UPDATE conversation c SET last_message_at = m.last, last_inbound_at = m.inbound, "
        "last_message_id = m.last_id, needs_action = m.flagged "
        "FROM (SELECT conversation_id, max(created_at) AS last, max(created_at) FILTER "
        "(WHERE direction = 'inbound') AS inbound, max(id) AS last_id, "
        "bool_or(needs_staff_action) AS flagged FROM message GROUP BY conversation_id) m "
        "WHERE m.conversation_id = c.id"))
    db.session.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")  # the statistics see the columns just set (not all NULL)
    return practice.id, numbers


def _copy_messages(url: str, practice_id: int, now) -> None:  # noqa: ANN001
    ring = keyring()
    bodies = [ring.encrypt(f"Bench message {n}: can I move my visit?", context="message.body")
              for n in range(20)]
    random.seed(7)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cursor:
        with cursor.copy(
                "COPY message (practice_id, conversation_id, patient_id, direction, channel, "
                "purpose, body, status, attempts, is_immediate_reply, capped, "
                "needs_staff_action, created_at, updated_at) FROM STDIN") as copy:
            for n in range(MESSAGES):
                conversation = n % CONVERSATIONS + 1
                inbound = n % 3 != 0
                at = now - timedelta(minutes=random.randrange(0, 60 * 24 * 365))
                copy.write_row((practice_id, conversation, conversation,
                                "inbound" if inbound else "outbound", "sms", "conversation",
                                bodies[n % 20], "received" if inbound else "delivered", 0,
                                False, False, n % 997 == 0, at, at))
                if n % 200_000 == 199_999:
                    print(f"  {n + 1:,} messages", file=sys.stderr)
        conn.commit()


def timed(request, runs: int) -> list[float]:  # noqa: ANN001
    for _ in range(WARM_UP):
        request()
    samples = []
    for _ in range(runs):
        began = clock.perf_counter()
        request()
        samples.append(clock.perf_counter() - began)
    return samples


class Split:
    """Statements and their time per request (SQLAlchemy cursor events): what a request spends
    in the database (execute and fetch) against Python (decrypting, rendering, the rest), and
    the CPU time this process used (what a loaded machine inflates least)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []
        self._began = 0.0

    def before(self, *_args: object) -> None:
        self._began = clock.perf_counter()

    def after(self, _conn, _cursor, statement: str, *_rest: object) -> None:  # noqa: ANN001
        self.statements.append((" ".join(statement.split())[:90],
                                clock.perf_counter() - self._began))

    def measure(self, engine, name: str, request, runs: int) -> str:  # noqa: ANN001
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)
        totals, sqls, counts, cpus = [], [], [], []
        try:
            for _ in range(runs):
                self.statements = []
                began, cpu = clock.perf_counter(), clock.process_time()
                request()
                totals.append(clock.perf_counter() - began)
                cpus.append(clock.process_time() - cpu)
                sqls.append(sum(ms for _, ms in self.statements))
                counts.append(len(self.statements))
        finally:
            event.remove(engine, "before_cursor_execute", self.before)
            event.remove(engine, "after_cursor_execute", self.after)
        total, sql = statistics.median(totals) * 1000, statistics.median(sqls) * 1000
        slowest = sorted(self.statements, key=lambda entry: -entry[1])[:4]
        return (f"  {name}: {counts[-1]} statements, SQL {sql:.1f} ms + Python "
                f"{total - sql:.1f} ms (medians of {runs}); this process's CPU "
                f"{statistics.median(cpus) * 1000:.1f} ms; slowest statements of the last: "
                + "; ".join(f"{ms * 1000:.1f} ms {text}" for text, ms in slowest))


def line(name: str, samples: list[float]) -> str:
    return (f"{name}: median {statistics.median(samples) * 1000:.1f} ms, "
            f"p95 {percentile(samples, 0.95) * 1000:.1f} ms ({len(samples)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--reuse", action="store_true",
                        help="time the database a previous run seeded (seeding takes minutes)")
    args = parser.parse_args()
    url = (make_url(args.database).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False) if args.reuse else fresh_database(args.database))
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "WTF_CSRF_ENABLED": False})
    with app.app_context():  # the set-up; each request below has its own, as in production
        began = clock.perf_counter()
        if args.reuse:
            practice_id = db.session.execute(select(Practice.id)).scalar_one()
            numbers = [phone(n) for n in range(CONVERSATIONS)]
        else:
            practice_id, numbers = seed(url)
            print(f"seeded in {clock.perf_counter() - began:.0f} s", file=sys.stderr)
        email = factories.make_staff(db.session.get(Practice, practice_id),
                                     email=f"bench{clock.time_ns()}@clinic.example").email
        conversations = db.session.execute(select(db.func.count(Conversation.id))).scalar_one()
        engine = db.engine
    client = app.test_client()
    client.post("/sign-in", data={"email": email, "password": factories.STAFF_PASSWORD})
    first = client.get("/inbox")
    assert first.status_code == 200 and first.get_data(as_text=True).count(
        "data-conversation=") == 30, first.status_code
    wanted = numbers[CONVERSATIONS // 2 + 1]
    token_url = client.post("/inbox/search", data={"q": wanted}).headers["Location"]
    found = client.get(token_url).get_data(as_text=True)
    assert found.count("data-conversation=") == 1, "the search should find one conversation"
    print(f"{conversations:,} conversations, {MESSAGES:,} messages")
    print(line("ceiling: a signed-in page with no data (/account/password)",
               timed(lambda: client.get("/account/password"), args.runs)))
    print(line("first inbox page", timed(lambda: client.get("/inbox"), args.runs)))
    print(line("search by phone, the token's page",
               timed(lambda: client.get(token_url), args.runs)))
    print(line("search by phone, POST + page", timed(lambda: client.get(client.post(
        "/inbox/search", data={"q": wanted}).headers["Location"]), args.runs)))
    split = Split()
    print("in-process split (does not depend on the machine's load as much):")
    for name, url_ in (("ceiling", "/account/password"), ("first inbox page", "/inbox"),
                       ("search by phone, the token's page", token_url)):
        print(split.measure(engine, name, lambda u=url_: client.get(u), args.runs))


if __name__ == "__main__":
    main()
