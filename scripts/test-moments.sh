#!/usr/bin/env bash
# The time-sensitive tests again, each run with the clock frozen at another moment
# (FRONTDESK_TEST_NOW, see tests/conftest.py), on SQLite: the suite must pass at any hour on
# any date, and these are the moments that break date and time code. The practices in the
# tests keep Chicago, Denver and New York time. (Night and the fall-back Sunday are covered
# by the whole PostgreSQL pass, at 01:30 in Chicago on that Sunday: see scripts/test.sh.)
#
#   scripts/test-moments.sh [--part K/N] [pytest args]
#
# --part K/N runs only every N-th moment starting at the K-th, so scripts/test.sh can share
# them between its two lanes (one per core).
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
part=1/1
if [ "${1:-}" = "--part" ]; then part=$2; shift 2; fi

MOMENTS=(
  "2026-03-08T08:30:00+00:00"  # the spring-forward Sunday, just after 02:00 became 03:00
  "2024-02-29T18:00:00+00:00"  # a leap day, noon in Chicago (a past one: the tests date their
                               # fixed visits in 2027, ahead of every moment here)
  "2027-01-01T02:30:00+00:00"  # New Year in UTC, still 31 December in the Americas
)
# Tests whose outcome depends on the day or the time of day: slots, calendars, booking
# windows, the waitlist, quiet hours and caps, signed-link expiry, the dashboard's "today",
# the scheduler's jobs, billing's aging, link expiry and plan due dates.
TIME_SENSITIVE=(
  tests/scheduling
  tests/messaging/test_quiet_hours.py
  tests/messaging/test_frequency.py
  tests/messaging/test_dispatcher.py
  tests/messaging/test_inbound_intents.py
  tests/fhir/test_slot.py
  tests/jobs
  tests/security/test_links.py
  tests/home
  tests/billing/test_accounts.py
  tests/billing/test_payment_links.py
  tests/billing/test_plans.py
  tests/billing/test_statements.py
)
# Not time-sensitive, and the slowest of that folder: the races and the demo's calendar.
NOT_AGAIN=(
  --ignore=tests/scheduling/test_booking_race.py
  --ignore=tests/scheduling/test_code_races.py
  --ignore=tests/scheduling/test_demo_calendar.py
)

status=0
k=${part%/*}; n=${part#*/}
for i in "${!MOMENTS[@]}"; do
  [ $(( i % n )) -eq $(( k - 1 )) ] || continue
  moment=${MOMENTS[$i]}
  echo "-- at $moment"
  FRONTDESK_TEST_NOW=$moment env -u TEST_DATABASE_URL $BIN/pytest -q -n "${TEST_WORKERS:-2}" \
    "${TIME_SENSITIVE[@]}" "${NOT_AGAIN[@]}" -m "not browser" "$@" || status=1
done
exit $status
