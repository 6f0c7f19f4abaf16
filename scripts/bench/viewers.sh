#!/usr/bin/env bash
# Benchmark: N simulated LL-HLS viewers (blocking reload + part fetch, as
# hls.js does) against one aethex-server node directly, then against nginx
# running deploy/nginx/aethex-cdn.conf in front of the same node — side by
# side in one run, same live stream, same load generator
# (crates/server/examples/hls_viewers.rs). Prints, for each, part fetch
# p50/p99 and the "spread" (how long after the first viewer the others got a
# new part's playlist) and errors, and the node/nginx ratio of part p99.
# Target from issue 13: p99 ≤ 150 ms at 10 000 viewers.
# Knobs: VIEWERS (default 10000), DUR (s, default 30), RAMP (s, default 10),
# WORKERS (nginx worker_processes, default 2).
# The load generator, the server and nginx share this machine's cores: the
# figures are a floor for what a node serves alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
VIEWERS=${VIEWERS:-10000}; DUR=${DUR:-30}; RAMP=${RAMP:-10}; WORKERS=${WORKERS:-2}
cargo build --release -q -p aethex-server --bin aethex-server --example hls_viewers
BIN=$CARGO_TARGET_DIR/release/aethex-server
LOAD=$CARGO_TARGET_DIR/release/examples/hls_viewers
mkdir -p "$HOME/.cache/aethex"; TMP=$(mktemp -d "$HOME/.cache/aethex/bench.XXXXXX"); trap 'kill $(jobs -p) 2>/dev/null; sleep 0.5; rm -rf "$TMP"' EXIT
ulimit -n 200000 2>/dev/null || ulimit -n 65536

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { for _ in $(seq 100); do l=$(grep -m1 '^listening' "$1" 2>/dev/null) && { echo "$l" | sed "s/.*$2=\([^ ]*\).*/\1/"; return; }; sleep 0.1; done; echo "no listening line in $1" >&2; exit 1; }

RUST_LOG=warn "$BIN" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --data-dir "$TMP/data" --rate-limit 0 \
  >"$TMP/server.out" 2>"$TMP/server.err" &
SRV_PID=$!
HTTP=$(field "$TMP/server.out" http); RTMP=$(field "$TMP/server.out" rtmp)
TOKEN=$(curl -fs -X POST "http://$HTTP/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"username":"benchy","password":"password123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
KEY=$(curl -fs -X POST "http://$HTTP/api/v1/channels/benchy/stream-key" -H "authorization: Bearer $TOKEN" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream_key"])')

# Pre-encoded 720p 3 Mbit/s, published with -c copy (the publisher costs
# almost nothing during the measurement).
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 -map 0:v -map 1:a \
  -c:v libx264 -preset veryfast -b:v 3M -g 30 -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p \
  -c:a aac -b:a 128k "$TMP/source.flv"
ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$TMP/source.flv" -c copy \
  -f flv "rtmp://$RTMP/live/$KEY" 2>"$TMP/ffmpeg.err" &
for _ in $(seq 150); do
  curl -fs "http://$HTTP/hls/benchy/index.m3u8" | grep -q '#EXT-X-PRELOAD-HINT' && break
  sleep 0.2
done

# nginx: the deploy file with this node as the only upstream.
NGX_PORT=$(free_port); mkdir -p "$TMP/nginx/logs"
sed -e "s#^\(\s*\)server 10.0.0.10:8080#\1server $HTTP#" -e '/server 10.0.0.11:8080/d' \
    -e "s#listen 80;#listen 127.0.0.1:$NGX_PORT backlog=8192;#" -e "s#/var/cache/nginx/aethex#$TMP/nginx/cache#" \
    deploy/nginx/aethex-cdn.conf >"$TMP/nginx/cdn.conf"
cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off; worker_processes $WORKERS; worker_rlimit_nofile 200000;
error_log $TMP/nginx/logs/error.log warn; pid $TMP/nginx/nginx.pid;
events { worker_connections 40000; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 120s;
  include $TMP/nginx/cdn.conf; }
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
sleep 0.5

run() { # name url
  "$LOAD" --url "$2" --viewers "$VIEWERS" --duration "$DUR" --ramp "$RAMP" 2>"$TMP/$1.err" | grep '^RESULT' >"$TMP/$1.txt"
  sed 's/^RESULT //' "$TMP/$1.txt"
  [ -s "$TMP/$1.err" ] && sed 's/^/   /' "$TMP/$1.err" | sort | uniq -c | head -5 || true
}
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$TMP/$1.txt"; }
printf "\n%s LL-HLS viewers (blocking reload + part), %s s after a %s s ramp, 720p 3 Mbit/s, parts of ~%s\n" \
  "$VIEWERS" "$DUR" "$RAMP" "$(curl -fs "http://$HTTP/hls/benchy/index.m3u8" | sed -n 's/#EXT-X-PART-INF:PART-TARGET=//p')s"
echo "node direct:"; run node "http://$HTTP/hls/benchy/index.m3u8"
echo "nginx cache in front of the node:"; run nginx "http://127.0.0.1:$NGX_PORT/hls/benchy/index.m3u8"
python3 - "$(val node part_p99_ms)" "$(val nginx part_p99_ms)" "$(val node spread_p99_ms)" "$(val nginx spread_p99_ms)" <<'PY'
import sys
n, g, ns, gs = map(float, sys.argv[1:])
print(f"part p99: node {n:.1f} ms, nginx {g:.1f} ms (node/nginx {n/g:.2f}x); "
      f"spread p99: node {ns:.1f} ms, nginx {gs:.1f} ms; target p99 <= 150 ms")
PY
kill -0 $SRV_PID 2>/dev/null || { echo "aethex-server died" >&2; exit 1; }
