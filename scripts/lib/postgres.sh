# A throwaway PostgreSQL server for tests. Source this file, then:
#
#   url=$(postgres_start "$tmp/postgres" 54329)   # prints postgresql://latchkey:PASS@127.0.0.1:54329/latchkey_test
#   LATCHKEY_TEST_POSTGRES_URL=$url ./latchkey_tests --gtest_filter='*postgresql*'
#   postgres_stop "$tmp/postgres"
#
# The cluster lives in DIR, listens on 127.0.0.1:PORT only, and does not touch the system's
# clusters. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user that
# Debian's package creates. Needs the Debian package postgresql.

_pg_log() { echo "postgres.sh: $*" >&2; }

_pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

_pg_as() {  # run a command as the cluster owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# postgres_start DIR PORT: initialise, start and wait; print the URL on stdout.
postgres_start() {
  local dir="$1" port="$2" bin
  bin=$(_pg_bindir) || { _pg_log "initdb not found (apt-get install postgresql)"; return 1; }
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  local password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  echo "$password" >"$dir/pwfile" && chmod 600 "$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
  if ! _pg_as "$bin/initdb" -D "$dir/data" -U latchkey --pwfile="$dir/pwfile" -A scram-sha-256 \
      >"$dir/initdb.log" 2>&1; then
    _pg_log "initdb failed; see $dir/initdb.log"; tail -n 20 "$dir/initdb.log" >&2; return 1
  fi
  if ! _pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null; then
    _pg_log "the server did not start; see $dir/server.log"; tail -n 20 "$dir/server.log" >&2
    return 1
  fi
  if ! PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$port" -U latchkey -d postgres -qAt \
      -c "CREATE DATABASE latchkey_test" >/dev/null 2>"$dir/psql.log"; then
    _pg_log "cannot create the test database; see $dir/psql.log"; return 1
  fi
  echo "postgresql://latchkey:$password@127.0.0.1:$port/latchkey_test"
}

postgres_stop() {
  local dir="$1" bin
  bin=$(_pg_bindir) || return 0
  [ -d "$dir/data" ] && _pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  return 0
}
