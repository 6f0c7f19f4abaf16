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
# shellcheck source=../lib/e2e-server.sh
. scripts/lib/e2e-server.sh

die() { echo "player e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

build_all || die "build failed"
start_server || die "server did not start"
echo "player e2e: server at $BASE, rtmp at $RTMP"

OWNER=alice OWNER_PASSWORD=alice-e2e-password
VIEWER=bob VIEWER_PASSWORD=bob-e2e-password
OWNER_TOKEN=$(register "$OWNER" "$OWNER_PASSWORD") || die "registering $OWNER failed"
register "$VIEWER" "$VIEWER_PASSWORD" >/dev/null || die "registering $VIEWER failed"
curl -sS -f -X PATCH "$BASE/api/v1/channels/$OWNER" -H "authorization: Bearer $OWNER_TOKEN" \
  -H 'content-type: application/json' -d '{"title":"Player journey","bio":"End-to-end test channel."}' >/dev/null \
  || echo "player e2e: (setting the title failed; continuing)"
KEY=$(rotate_key "$OWNER" "$OWNER_TOKEN") || die "rotating the stream key failed"

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
