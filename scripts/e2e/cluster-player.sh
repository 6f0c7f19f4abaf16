#!/usr/bin/env bash
# Cluster player journey: a throwaway PostgreSQL, a private redis-server and
# two aethex-server nodes on them (each serving ui/dist); ffmpeg publishes
# to node A; Chromium watches through node B (which forwards live HLS to
# the owner) and through A, chats across them (ui/e2e/cluster.e2e.mjs).
# Ends with `N passed, N failed`; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
BIN=${AETHEX_SERVER_BIN:-$CARGO_TARGET_DIR/debug/aethex-server}
# Under /tmp: the throwaway PostgreSQL runs as user postgres, which cannot
# enter /root (the name avoids the tmp.* pattern something here sweeps).
WORK=$(mktemp -d /tmp/aethex-cluster-e2e.XXXXXX); chmod 755 "$WORK"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null
  scripts/pg-cluster stop "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT
die() { echo "cluster player e2e: $*" >&2; for f in "$WORK"/*.err; do [ -f "$f" ] && tail -n 20 "$f" >&2; done
  echo "0 passed, 1 failed"; exit 1; }

(cd ui && npx vite build --logLevel error) || die "ui build failed"
[ -n "${AETHEX_SERVER_BIN:-}" ] || cargo build -p aethex-server --quiet || die "cargo build failed"
PG=$(scripts/pg-cluster start "$WORK/pg") || die "postgres did not start"
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" >/dev/null & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

node_start() { # id -> sets HTTP_<id>, RTMP_<id>
  AETHEX_WEB_DIR="$ROOT/ui/dist" RUST_LOG=warn "$BIN" --data-dir "$WORK/data-$1" --http 127.0.0.1:0 \
    --rtmp 127.0.0.1:0 --database-url "$PG" --redis-url "redis://127.0.0.1:$RPORT" --node-id "node-$1" \
    >"$WORK/$1.out" 2>"$WORK/$1.err" & pids+=($!)
  local line= _
  for _ in $(seq 300); do line=$(grep -m1 '^listening http=' "$WORK/$1.out" 2>/dev/null) && break; sleep 0.1; done
  [ -n "$line" ] || die "node $1 did not start"
  printf -v "HTTP_$1" 'http://%s' "$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line")"
  printf -v "RTMP_$1" '%s' "$(sed -n 's/.*rtmp=\([^ ]*\).*/\1/p' <<<"$line")"
}
node_start a; node_start b
echo "cluster player e2e: node A $HTTP_a, node B $HTTP_b"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
TOKEN=$(curl -fsS -X POST "$HTTP_a/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"username":"alice","password":"alice-e2e-password"}' | json token) || die "register alice"
curl -fsS -X POST "$HTTP_b/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"username":"bob","password":"bob-e2e-password"}' >/dev/null || die "register bob"
KEY=$(curl -fsS -X POST "$HTTP_a/api/v1/channels/alice/stream-key" -H "authorization: Bearer $TOKEN" | json stream_key) \
  || die "stream key"
ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine \
  -c:v libx264 -g 15 -tune zerolatency -pix_fmt yuv420p -c:a aac -f flv "rtmp://$RTMP_a/live/$KEY" \
  2>"$WORK/ffmpeg.err" & pids+=($!)

E2E_NODE_A=$HTTP_a E2E_NODE_B=$HTTP_b E2E_CHANNEL=alice E2E_VIEWER_USER=bob E2E_VIEWER_PASSWORD=bob-e2e-password \
E2E_ARTIFACTS="$ROOT/tests/artifacts" node ui/e2e/cluster.e2e.mjs | tee "$WORK/journey.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  for f in a b; do echo "--- node $f stderr"; tail -n 20 "$WORK/$f.err"; done
  grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/journey.log" | tail -n1 | grep . || echo "0 passed, 1 failed"
fi
exit "$rc"
