#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the store's
# PostgreSQL tests, and prints the EXACTQL_TEST_DATABASE_URL to use as its
# last line of standard output:
#
#   export EXACTQL_TEST_DATABASE_URL="$(bash .ci/postgres.sh | tail -n1)"
#
# On this machine kind PostgreSQL is installed and started before a session;
# on a fresh Debian machine the script installs Debian's `postgresql`
# package, creates the cluster, lets local and loopback connections in
# without a password (a throw-away test server, as on the CI machines) and
# creates the database `test`. Progress goes to standard error. Run as root.
set -euo pipefail

host=127.0.0.1
port=5432
db=test
log() { printf 'postgres.sh: %s\n' "$*" >&2; }

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  log "PostgreSQL is not installed: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
fi

version="$(ls /etc/postgresql | sort -V | tail -n1)"
if [ ! -d "/etc/postgresql/$version/main" ]; then
  log "creating cluster $version/main"
  pg_createcluster "$version" main --port "$port" >&2
fi

hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  log "letting local and loopback test connections in without a password ($hba)"
  tmp="$(mktemp)"
  { printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n'; cat "$hba"; } >"$tmp"
  cat "$tmp" >"$hba"
  rm -f "$tmp"
  if ready; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2
  fi
fi

if ! ready; then
  log "starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
fi
for _ in $(seq 1 60); do
  ready && break
  sleep 0.5
done
if ! ready; then
  log "PostgreSQL does not answer on $host:$port"
  exit 1
fi

if ! psql -h "$host" -p "$port" -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  log "creating database $db"
  psql -h "$host" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $db" >&2
fi

echo "postgres://postgres@$host:$port/$db?sslmode=disable"
