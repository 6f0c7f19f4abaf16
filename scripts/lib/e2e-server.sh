# Sourced by browser journeys and benchmarks: builds and starts a real
# aethex-server on port 0 with a temp data dir, serving ui/dist.
# After `start_server`: BASE (http://HOST:PORT), RTMP (HOST:PORT), SERVER_PID,
# WORK (temp dir, removed on exit, server logs in $WORK/stderr).
# Needs ROOT set to the repository root. Functions return non-zero on failure.
# AETHEX_SERVER_BIN=path uses that binary instead of building one.

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
SERVER_PID=
WORK=$(mktemp -d /tmp/aethex-e2e.XXXXXX)
_stop_server() {
  if [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; then wait "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap _stop_server EXIT

SERVER_BIN=${AETHEX_SERVER_BIN:-$CARGO_TARGET_DIR/debug/aethex-server}

# Builds the web player and (unless AETHEX_SERVER_BIN is set) the server binary.
build_all() {
  (cd "$ROOT/ui" && npx vite build --logLevel error) || { echo "ui build failed" >&2; return 1; }
  if [ -z "${AETHEX_SERVER_BIN:-}" ]; then
    cargo build -p aethex-server --quiet || { echo "cargo build -p aethex-server failed" >&2; return 1; }
  fi
  [ -x "$SERVER_BIN" ] || { echo "no server binary at $SERVER_BIN" >&2; return 1; }
}

# Starts the server (extra arguments are passed on) and waits for its
# `listening http=… rtmp=…` line.
start_server() {
  AETHEX_WEB_DIR="$ROOT/ui/dist" RUST_LOG=${RUST_LOG:-info} "$SERVER_BIN" \
    --data-dir "$WORK/data" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 "$@" >"$WORK/stdout" 2>"$WORK/stderr" &
  SERVER_PID=$!
  local line= _
  for _ in $(seq 1 300); do
    line=$(grep -m1 '^listening http=' "$WORK/stdout" 2>/dev/null) && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 20 "$WORK/stderr" >&2
      echo "server exited before listening" >&2
      return 1
    fi
    sleep 0.1
  done
  [ -n "$line" ] || { echo "no 'listening' line within 30 s" >&2; return 1; }
  BASE="http://$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line")"
  RTMP=$(sed -n 's/.*rtmp=\([^ ]*\).*/\1/p' <<<"$line")
}

# register USERNAME PASSWORD: prints the session token.
register() {
  curl -sS -f -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -er .token
}

# rotate_key CHANNEL TOKEN: prints the new stream key (keep it out of logs).
rotate_key() {
  curl -sS -f -X POST "$BASE/api/v1/channels/$1/stream-key" -H "authorization: Bearer $2" | jq -er .stream_key
}
