#!/usr/bin/env bash
# Sourced by tests/run.sh. Provides STUDIO_TEST_POSTGRES_URL: a PostgreSQL server the store tests
# may create databases on. Uses STUDIO_TEST_POSTGRES_URL or DATABASE_URL when set; otherwise starts
# a throwaway cluster (initdb + pg_ctl) on a free port under tests/.run/pg and defines
# postgres_stop to remove it. Never depends on a server that happens to be running already.

postgres_stop() { :; }

if [ -n "${STUDIO_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL: using STUDIO_TEST_POSTGRES_URL"
elif [ -n "${DATABASE_URL:-}" ] && [[ "$DATABASE_URL" == postgres* ]]; then
  export STUDIO_TEST_POSTGRES_URL="$DATABASE_URL"
  echo "PostgreSQL: using DATABASE_URL"
else
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_dir="$STUDIO_TEST_RUN_DIR/pg"
  if [ -f "$pg_dir/data/postmaster.pid" ]; then
    "$pg_bin/pg_ctl" -D "$pg_dir/data" stop -m immediate >/dev/null 2>&1 ||
      runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_dir"
  mkdir -p "$pg_dir"
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # initdb refuses to run as root: run the cluster as the postgres system user when we are root.
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-sync >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; exit 1; }
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
    >/dev/null || { cat "$pg_dir/server.log" >&2; exit 1; }
  export STUDIO_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  postgres_stop() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" stop -m fast >/dev/null 2>&1 || true
  }
  echo "PostgreSQL: throwaway cluster on 127.0.0.1:$pg_port"
fi
