#!/usr/bin/env bash
# Glass-to-glass latency of the web player (a measurement, not a test).
#
# Publishes ffmpeg's test source in real time (-re) to a real aethex-server and
# samples `Date.now() - hls.playingDate` in Chromium for BENCH_SECONDS (30).
# With -re, frame n is captured at (start + n/30 s); RTMP carries n/30 as the
# frame's timestamp, and the server turns it into EXT-X-PROGRAM-DATE-TIME by
# anchoring timestamp 0 at the first frame's arrival wall clock (≈ capture
# + ~20 ms encode on this machine, shared/platform-facts.md). So the number is
# capture → screen, provided the server stamps PDT that way (the contract asks
# for PDT; a server that stamps segment *write* time under-reports by up to a
# segment). Target: p50 ≤ 1.5 s.
# Prints `glass-to-glass … p50=… p95=…`.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=../lib/e2e-server.sh
. scripts/lib/e2e-server.sh

# The server's defaults: LL-HLS parts of 0.2 s in 1 s segments (0.5 s GOPs from
# -g 15 at 30 fps, like the studio's default keyframe interval).
build_all || exit 1
start_server || exit 1
TOKEN=$(register bench bench-password-1) || { echo "register failed" >&2; exit 1; }
KEY=$(rotate_key bench "$TOKEN") || { echo "stream key failed" >&2; exit 1; }

# The page is opened first and the publisher started after it, so the player
# joins the way a viewer waiting for the stream does (the chat `live` event).
E2E_BASE_URL=$BASE E2E_CHANNEL=bench BENCH_SECONDS=${BENCH_SECONDS:-30} node ui/e2e/latency.mjs &
BENCH=$!
sleep 3
ffmpeg -hide_banner -loglevel error -nostdin -re \
  -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine \
  -c:v libx264 -g 15 -tune zerolatency -preset veryfast -pix_fmt yuv420p -c:a aac \
  -f flv "rtmp://$RTMP/live/$KEY" 2>"$WORK/ffmpeg.log" &
FF=$!
wait "$BENCH"
rc=$?
kill "$FF" 2>/dev/null; wait "$FF" 2>/dev/null
[ $rc -eq 0 ] || { sed "s/$KEY/<stream key>/g" "$WORK/ffmpeg.log" | tail -n 5 >&2; tail -n 20 "$WORK/stderr" >&2; }
exit $rc
