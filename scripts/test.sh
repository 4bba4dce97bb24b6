#!/usr/bin/env bash
# The whole suite, twice: on SQLite, then on a fresh PostgreSQL database.
# Where no PostgreSQL answers, that pass is reported as skipped in one clear line.
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
status=0

if [ "${1:-}" != "--postgres-only" ]; then
  echo "== pass 1/2: SQLite =="
  env -u TEST_DATABASE_URL $BIN/pytest "$@" || status=$?
fi

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
if ! pg_ready && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do pg_ready && break; sleep 1; done
fi

echo "== pass 2/2: PostgreSQL =="
if ! pg_ready; then
  echo "PostgreSQL pass SKIPPED: no server answers at $PG_HOST:$PG_PORT"
  exit $status
fi
dbname="frontdesk_test_$$"
psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "CREATE DATABASE $dbname" || exit 1
trap 'psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1' EXIT
shift_args=("$@"); [ "${1:-}" = "--postgres-only" ] && shift_args=("${@:2}")
TEST_DATABASE_URL="postgresql://$PG_USER@$PG_HOST:$PG_PORT/$dbname" $BIN/pytest "${shift_args[@]}" || status=$?
exit $status
