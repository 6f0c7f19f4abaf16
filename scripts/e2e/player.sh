#!/usr/bin/env bash
# Web player journey: the real aethex-server (port 0, temp data dir, serving
# ui/dist), a real ffmpeg RTMP publisher and Chromium (ui/e2e/player.e2e.mjs).
# Registers an owner and a viewer, rotates the owner's stream key, then checks
# playback, recovery after a publisher restart, chat, moderation, XSS and the
# phone layout. Screenshots land in tests/artifacts/.
# Ends with `N passed, N failed`; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}

die() { echo "player e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

(cd ui && npx vite build --logLevel warn) || die "ui build failed"
cargo build -p aethex-server --quiet || die "cargo build -p aethex-server failed"
BIN=$CARGO_TARGET_DIR/debug/aethex-server
[ -x "$BIN" ] || die "no server binary at $BIN"

WORK=$(mktemp -d /tmp/aethex-player-e2e.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

AETHEX_WEB_DIR="$ROOT/ui/dist" RUST_LOG=${RUST_LOG:-info} "$BIN" \
  --data-dir "$WORK/data" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!

line=
for _ in $(seq 1 300); do
  line=$(grep -m1 '^listening http=' "$WORK/stdout" 2>/dev/null) && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$WORK/stderr" >&2; die "server exited before listening"; }
  sleep 0.1
done
[ -n "$line" ] || die "no 'listening' line from the server within 30 s"
HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line")
RTMP=$(sed -n 's/.*rtmp=\([^ ]*\).*/\1/p' <<<"$line")
BASE="http://$HTTP"
echo "player e2e: server at $BASE, rtmp at $RTMP"

register() { # username password -> token
  curl -sS -f -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -er .token
}
OWNER=alice OWNER_PASSWORD=alice-e2e-password
VIEWER=bob VIEWER_PASSWORD=bob-e2e-password
OWNER_TOKEN=$(register "$OWNER" "$OWNER_PASSWORD") || die "registering $OWNER failed"
register "$VIEWER" "$VIEWER_PASSWORD" >/dev/null || die "registering $VIEWER failed"
curl -sS -f -X PATCH "$BASE/api/v1/channels/$OWNER" -H "authorization: Bearer $OWNER_TOKEN" \
  -H 'content-type: application/json' -d '{"title":"Player journey","bio":"End-to-end test channel."}' >/dev/null \
  || echo "player e2e: (setting the title failed; continuing)"
KEY=$(curl -sS -f -X POST "$BASE/api/v1/channels/$OWNER/stream-key" -H "authorization: Bearer $OWNER_TOKEN" | jq -er .stream_key) \
  || die "rotating the stream key failed"

E2E_BASE_URL=$BASE E2E_CHANNEL=$OWNER E2E_OWNER_PASSWORD=$OWNER_PASSWORD \
E2E_VIEWER_USER=$VIEWER E2E_VIEWER_PASSWORD=$VIEWER_PASSWORD \
E2E_PUBLISH_URL="rtmp://$RTMP/live/$KEY" E2E_ARTIFACTS="$ROOT/tests/artifacts" \
  node ui/e2e/player.e2e.mjs | tee "$WORK/journey.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "--- server stderr (last 40 lines)"
  tail -n 40 "$WORK/stderr"
  # Keep the summary as the last line.
  grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/journey.log" | tail -n1 | grep . || echo "0 passed, 1 failed"
fi
exit "$rc"
