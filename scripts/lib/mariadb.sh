#!/usr/bin/env bash
# A throwaway MariaDB server for tests. Source this file, then:
#
#   url=$(mariadb_start "$tmp/mariadb" 33306)   # prints mysql://latchkey:PASS@127.0.0.1:33306/latchkey_test
#   LATCHKEY_TEST_MYSQL_URL=$url ./latchkey_tests
#   mariadb_stop "$tmp/mariadb"
#
# The server runs as the current user from a fresh data directory inside DIR, listens on
# 127.0.0.1:PORT and on the socket DIR/mysqld.sock, and reads no system configuration
# (--no-defaults), so it does not depend on (or disturb) the system's mariadb service.
# Logs: DIR/install.log, DIR/error.log. Needs the Debian packages mariadb-server and
# mariadb-client (mariadb-install-db, mariadbd, mariadb, mariadb-admin).

_mariadb_log() { echo "mariadb.sh: $*" >&2; }

_mariadb_bin() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
  done
  return 1
}

# mariadb_start DIR PORT: initialise, start and wait (at most ~30 s); print the URL on stdout.
mariadb_start() {
  local dir="$1" port="$2"
  if [ -z "$dir" ] || [ -z "$port" ]; then
    _mariadb_log "usage: mariadb_start DIR PORT"; return 2
  fi
  local install_db server client admin
  install_db=$(_mariadb_bin mariadb-install-db mysql_install_db) || {
    _mariadb_log "mariadb-install-db not found (apt-get install mariadb-server)"; return 1; }
  server=$(_mariadb_bin mariadbd mysqld) || {
    _mariadb_log "mariadbd not found (apt-get install mariadb-server)"; return 1; }
  client=$(_mariadb_bin mariadb mysql) || {
    _mariadb_log "mariadb client not found (apt-get install mariadb-client)"; return 1; }
  admin=$(_mariadb_bin mariadb-admin mysqladmin) || {
    _mariadb_log "mariadb-admin not found (apt-get install mariadb-client)"; return 1; }

  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  local data="$dir/data" sock="$dir/mysqld.sock" pidfile="$dir/mysqld.pid"
  if [ "${#sock}" -gt 100 ]; then
    _mariadb_log "socket path too long (${#sock} > 100): $sock"; return 1
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    _mariadb_log "a server from $dir is already running (pid $(cat "$pidfile"))"; return 1
  fi
  local me
  me=$(id -un)
  rm -rf "$data"
  # The account named by --user (root when we are root) logs in over the socket by unix_socket
  # authentication; nothing else can log in as an administrator.
  if ! "$install_db" --no-defaults --datadir="$data" --user="$me" --skip-test-db \
      --skip-name-resolve >"$dir/install.log" 2>&1; then
    _mariadb_log "mariadb-install-db failed; see $dir/install.log"; tail -n 20 "$dir/install.log" >&2
    return 1
  fi

  "$server" --no-defaults --user="$me" --datadir="$data" --socket="$sock" \
    --pid-file="$pidfile" --log-error="$dir/error.log" --tmpdir="$dir" \
    --port="$port" --bind-address=127.0.0.1 --skip-networking=0 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-use-native-aio=0 \
    --innodb-flush-log-at-trx-commit=2 --skip-log-bin --max-connections=200 \
    </dev/null >"$dir/stdout.log" 2>&1 &
  local spid=$!
  echo "$spid" >"$dir/server.pid"

  local i ready=0
  for i in $(seq 1 60); do   # 60 x 0.5 s
    if ! kill -0 "$spid" 2>/dev/null; then
      _mariadb_log "mariadbd exited during start; see $dir/error.log"; tail -n 20 "$dir/error.log" >&2
      return 1
    fi
    if "$admin" --no-defaults --socket="$sock" --user="$me" --connect-timeout=2 ping \
        >/dev/null 2>&1; then
      ready=1; break
    fi
    sleep 0.5
  done
  if [ "$ready" != 1 ]; then
    _mariadb_log "mariadbd not ready after 30 s; see $dir/error.log"
    mariadb_stop "$dir"
    return 1
  fi

  # latchkey_test plus latchkey_test_* (the store tests create one database per test there,
  # so test processes can run in parallel).
  local pass
  pass=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 32)
  if ! "$client" --no-defaults --socket="$sock" --user="$me" >"$dir/setup.log" 2>&1 <<SQL
CREATE DATABASE latchkey_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'latchkey'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER 'latchkey'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`latchkey\\_test%\`.* TO 'latchkey'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`latchkey\\_test%\`.* TO 'latchkey'@'localhost';
FLUSH PRIVILEGES;
SQL
  then
    _mariadb_log "creating the test database failed; see $dir/setup.log"; cat "$dir/setup.log" >&2
    mariadb_stop "$dir"
    return 1
  fi
  (umask 077 && echo "$pass" >"$dir/latchkey.password")
  echo "mysql://latchkey:${pass}@127.0.0.1:${port}/latchkey_test"
}

# mariadb_stop DIR: stop the server started from DIR (bounded: TERM, then KILL after 30 s).
mariadb_stop() {
  local dir="$1"
  if [ -z "$dir" ]; then _mariadb_log "usage: mariadb_stop DIR"; return 2; fi
  local pid=""
  [ -f "$dir/server.pid" ] && pid=$(cat "$dir/server.pid")
  [ -z "$pid" ] && [ -f "$dir/mysqld.pid" ] && pid=$(cat "$dir/mysqld.pid")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$dir/server.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  local i
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    _mariadb_log "mariadbd (pid $pid) did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  rm -f "$dir/server.pid"
  return 0
}
