#!/usr/bin/env bash
# The whole suite on SQLite and on a fresh PostgreSQL database, side by side, each spread over
# two pytest-xdist workers (four processes on two cores: whichever pass finishes first leaves
# its cores to the other), then the time-sensitive tests again at other moments of the clock
# (scripts/test-moments.sh). The outputs are printed whole at the end, so they never interleave.
# The clock of every test is frozen (tests/conftest.py): the SQLite pass runs at 14:00 on a
# Wednesday in Chicago, the PostgreSQL pass at 01:30 on the fall-back Sunday (the hour that
# repeats, in quiet hours), so each run proves daytime, night and a DST change; set
# FRONTDESK_TEST_NOW to run both passes at one moment of your choosing.
# Where no PostgreSQL answers, that pass is reported as skipped in one clear line — and fails
# the run under CI (CI=true), which must test PostgreSQL.
#
#   scripts/test.sh                    everything
#   scripts/test.sh --postgres-only    the PostgreSQL pass alone
#   scripts/test.sh [pytest args]      passes the arguments to every pytest run
#   TEST_WORKERS=N                     xdist workers per pass (default 2; 0 runs in-process)
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
# Compiled modules are kept between the runs' processes (PYTHONDONTWRITEBYTECODE, which some
# machines set, would make every pytest worker rewrite the asserts of all ~250 test modules and
# every subprocess compile the app anew: ~8 s of CPU per worker): in one cache outside the tree.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-$PWD/.cache/pycache}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
NIGHT="2026-11-01T06:30:00+00:00"  # 01:30 in Chicago on the fall-back Sunday (it repeats)
WORKERS=(-n "${TEST_WORKERS:-2}")
only_postgres=false
if [ "${1:-}" = "--postgres-only" ]; then only_postgres=true; shift; fi
logs=$(mktemp -d)
started=$SECONDS

postgres_pass() {
  if ! PG_HOST=$PG_HOST PG_PORT=$PG_PORT bash scripts/ensure-postgres.sh; then
    if [ "${CI:-}" = "true" ]; then
      echo "PostgreSQL pass FAILED: no server answers at $PG_HOST:$PG_PORT, and CI must test PostgreSQL"
      return 1
    fi
    echo "PostgreSQL pass SKIPPED: no server answers at $PG_HOST:$PG_PORT"
    return 0
  fi
  local dbname="frontdesk_test_$$" status=0
  psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "CREATE DATABASE $dbname" || return 1
  FRONTDESK_TEST_NOW=${FRONTDESK_TEST_NOW:-$NIGHT} \
    TEST_DATABASE_URL="postgresql://$PG_USER@$PG_HOST:$PG_PORT/$dbname" $BIN/pytest "${WORKERS[@]}" "$@" \
    || status=$?
  # The run's database and each xdist worker's beside it (<name>_gw0, ...).
  for db in $(psql -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c \
      "SELECT datname FROM pg_database WHERE datname = '$dbname' OR datname LIKE '${dbname}_gw%'"); do
    psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
      -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
  done
  return $status
}

# Sum the closing lines of every pytest run ("=== 12 passed, 1 failed in 3.2s ===").
totals() {
  python3 - "$@" <<'PY'
import re, sys
counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        if re.match(r"^=+ .* in [0-9.]+s", line) or re.match(r"^\d+ (passed|failed)", line):
            for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", line):
                counts["error" if word.startswith("error") else word] += int(n)
failed = counts["failed"] + counts["error"]
print(f"tests: {counts['passed']} passed, {failed} failed, {counts['skipped']} skipped")
PY
}

status=0
# Two lanes, one per core: SQLite then half the moments; PostgreSQL then the other half.
( postgres_pass "$@" > "$logs/postgresql.log" 2>&1; pg=$?
  if [ "$only_postgres" = false ]; then
    bash scripts/test-moments.sh --part 2/2 "$@" > "$logs/moments-2.log" 2>&1 || exit 1
  fi
  exit $pg ) & lane_b=$!
if [ "$only_postgres" = false ]; then
  ( env -u TEST_DATABASE_URL $BIN/pytest "${WORKERS[@]}" "$@" > "$logs/sqlite.log" 2>&1; sq=$?
    bash scripts/test-moments.sh --part 1/2 "$@" > "$logs/moments-1.log" 2>&1 || exit 1
    exit $sq ) & lane_a=$!
  wait $lane_a || status=1
fi
wait $lane_b || status=1
for pass in sqlite moments-1 postgresql moments-2; do
  [ -f "$logs/$pass.log" ] || continue
  echo "== $pass =="
  cat "$logs/$pass.log"
done
echo "== all passes: $([ $status -eq 0 ] && echo green || echo FAILED) in $((SECONDS - started)) s =="
totals "$logs"/*.log
rm -rf "$logs"
exit $status
