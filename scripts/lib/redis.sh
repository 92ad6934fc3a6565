#!/usr/bin/env bash
# A throwaway Redis server for tests. Source this file, then:
#
#   url=$(redis_start "$tmp/redis" 6390)   # prints redis://127.0.0.1:6390/0
#   LATCHKEY_TEST_REDIS_URL=$url ./latchkey_tests
#   redis_stop "$tmp/redis"
#
# The server listens on 127.0.0.1:PORT only, keeps no data on disk (no RDB, no AOF), reads no
# system configuration and runs as the current user. Log: DIR/redis.log. Needs the Debian
# package redis-server. REDIS_PASSWORD, when set, is required from clients (requirepass).

_redis_log() { echo "redis.sh: $*" >&2; }

# redis_start DIR PORT: start and wait (at most ~10 s); print the URL on stdout.
redis_start() {
  local dir="$1" port="$2"
  if [ -z "$dir" ] || [ -z "$port" ]; then
    _redis_log "usage: redis_start DIR PORT"; return 2
  fi
  command -v redis-server >/dev/null 2>&1 || {
    _redis_log "redis-server not found (apt-get install redis-server)"; return 1; }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
    _redis_log "a server from $dir is already running (pid $(cat "$dir/redis.pid"))"; return 1
  fi
  local -a auth=()
  if [ -n "${REDIS_PASSWORD:-}" ]; then auth=(--requirepass "$REDIS_PASSWORD"); fi
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --protected-mode yes "${auth[@]}" || { _redis_log "redis-server failed; see $dir/redis.log"; return 1; }
  local i
  for i in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$port" ${REDIS_PASSWORD:+--no-auth-warning -a "$REDIS_PASSWORD"} ping 2>/dev/null | grep -q PONG; then
      if [ -n "${REDIS_PASSWORD:-}" ]; then
        echo "redis://:${REDIS_PASSWORD}@127.0.0.1:$port/0"
      else
        echo "redis://127.0.0.1:$port/0"
      fi
      return 0
    fi
    sleep 0.1
  done
  _redis_log "redis did not answer on port $port; see $dir/redis.log"; tail -n 20 "$dir/redis.log" >&2
  return 1
}

# redis_stop DIR: stop the server started from DIR (if any) and wait for it to exit.
redis_stop() {
  local dir="$1" pid
  [ -f "$dir/redis.pid" ] || return 0
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || return 0
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
