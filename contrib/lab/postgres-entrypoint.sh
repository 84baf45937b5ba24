#!/bin/sh
# First start: initdb into $PGDATA (a volume) with role `railyard` (password from
# POSTGRES_PASSWORD, SCRAM), database `railyard`, connections allowed from the compose
# networks only by password. Then PostgreSQL in the foreground (SIGTERM: fast shutdown) on
# POSTGRES_LISTEN (default all of the container's addresses) and PGPORT (default 5432).
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
  "$BIN/initdb" -D "$PGDATA" -U railyard --pwfile="$pw" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  "$BIN/postgres" --single -D "$PGDATA" postgres <<SQL >/dev/null
CREATE DATABASE railyard OWNER railyard;
SQL
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses="${POSTGRES_LISTEN:-*}" -c unix_socket_directories=/tmp
