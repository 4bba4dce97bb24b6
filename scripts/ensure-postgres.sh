#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster when nothing answers at PG_HOST:PG_PORT.
# Exits 0 when a server answers afterwards, 1 otherwise.
set -u
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
pg_ready && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do pg_ready && exit 0; sleep 1; done
fi
pg_ready
