#!/usr/bin/env bash
# Benchmark: the live edge of one node vs nginx static file serving, side by
# side in one run. One live stream is published to aethex-server; a recent
# complete segment and one LL-HLS part are fetched from it, the same bytes
# are written into an nginx docroot (sendfile on, as a tuned static server
# ships), then wrk hammers each in turn with the same connections and
# threads. Prints req/s and Gbit/s per server and the ratio (target ≥ 1.0×
# nginx), for the segment and the part, at each connection count.
# Knobs: DUR (s per run, default 10), CONNS (default "256 2000"), THREADS
# (wrk threads, default 2), WORKERS (nginx worker_processes, default 2 — the
# cores this machine has; aethex-server uses every core too), REPEAT (runs
# of each, interleaved aethex/nginx; the best of each is shown — on a shared
# machine the best run is the one least disturbed), NICE (priority of the
# whole benchmark, default -10: above background builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
DUR=${DUR:-10}; CONNS=${CONNS:-"256 2000"}; THREADS=${THREADS:-2}; WORKERS=${WORKERS:-2}
REPEAT=${REPEAT:-3}; NICE=${NICE:--10}
renice -n "$NICE" -p $$ >/dev/null 2>&1 || true
command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup" >&2; exit 1; }
cargo build --release -q -p aethex-server --bin aethex-server
BIN=$CARGO_TARGET_DIR/release/aethex-server
mkdir -p "$HOME/.cache/aethex"; TMP=$(mktemp -d "$HOME/.cache/aethex/bench.XXXXXX"); trap 'kill $(jobs -p) 2>/dev/null; sleep 0.5; rm -rf "$TMP"' EXIT
ulimit -n 65536 2>/dev/null || true

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

# Encode once to a file, then publish it with -c copy in a loop: the
# publisher costs almost no CPU during the measurement.
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 -map 0:v -map 1:a \
  -c:v libx264 -preset veryfast -b:v 3M -g 30 -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p \
  -c:a aac -b:a 128k "$TMP/source.flv"
ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$TMP/source.flv" -c copy \
  -f flv "rtmp://$RTMP/live/$KEY" 2>"$TMP/ffmpeg.err" &

# nginx serving the same bytes from its docroot (each run copies there the
# newest segment and part the live playlist lists, so aethex serves them
# from its live window as players would ask for them).
NGX_PORT=$(free_port); mkdir -p "$TMP/nginx/logs" "$TMP/nginx/www"
cat >"$TMP/nginx/nginx.conf" <<CONF
user root; daemon off; worker_processes $WORKERS; worker_rlimit_nofile 65536;
error_log $TMP/nginx/logs/error.log warn; pid $TMP/nginx/nginx.pid;
events { worker_connections 16384; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  open_file_cache max=100 inactive=60s;
  server { listen 127.0.0.1:$NGX_PORT backlog=4096; root $TMP/nginx/www;
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; } } }
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
for _ in $(seq 150); do
  PL=$(curl -fs "http://$HTTP/hls/benchy/index.m3u8" || true)
  [ "$(echo "$PL" | grep -c '^[^#].*\.m4s$')" -ge 2 ] && break
  sleep 0.2
done
newest() { # segment|part -> file name, copied into nginx's docroot
  local pl f
  pl=$(curl -fs "http://$HTTP/hls/benchy/index.m3u8")
  if [ "$1" = segment ]; then f=$(echo "$pl" | grep '^[^#].*\.m4s$' | tail -n1)
  else f=$(echo "$pl" | sed -n 's/^#EXT-X-PART:.*URI="\([^"]*\)".*/\1/p' | tail -n1); fi
  [ -n "$f" ] || { echo "no live $1 listed" >&2; cat "$TMP/server.err" >&2; exit 1; }
  curl -fs "http://$HTTP/hls/benchy/$f" -o "$TMP/nginx/www/$f"
  echo "$f"
}

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
gbit() { awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2);
  m=(u=="GB")?8:(u=="MB")?8/1024:(u=="KB")?8/1048576:0; printf "%.2f", n*m}' "$1"; }
errs() { grep -E 'Socket errors|Non-2xx' "$1" | tr '\n' ' ' || true; }

printf "\nlive edge vs nginx static (sendfile, %s workers), wrk %s threads, best of %s interleaved %s s runs\n" "$WORKERS" "$THREADS" "$REPEAT" "$DUR"
printf "720p30 3 Mbit/s test stream, 1 s segments, 200 ms parts; non-2xx or socket errors are shown under a row\n\n"
printf "%-13s %6s %14s %14s %9s %9s %7s\n" file conns "aethex req/s" "nginx req/s" "aethex Gb" "nginx Gb" ratio
for kind in segment part; do
  for c in $CONNS; do
    file=$(newest "$kind"); size=$(stat -c %s "$TMP/nginx/www/$file")
    a=0; n=0; : >"$TMP/a.txt"; : >"$TMP/n.txt"
    for _ in $(seq "$REPEAT"); do
      wrk -t"$THREADS" -c"$c" -d"${DUR}s" "http://$HTTP/hls/benchy/$file" >"$TMP/a1.txt" 2>&1
      wrk -t"$THREADS" -c"$c" -d"${DUR}s" "http://127.0.0.1:$NGX_PORT/$file" >"$TMP/n1.txt" 2>&1
      r=$(rps "$TMP/a1.txt"); if python3 -c "import sys; sys.exit(not $r > $a)"; then a=$r; cp "$TMP/a1.txt" "$TMP/a.txt"; fi
      r=$(rps "$TMP/n1.txt"); if python3 -c "import sys; sys.exit(not $r > $n)"; then n=$r; cp "$TMP/n1.txt" "$TMP/n.txt"; fi
    done
    printf "%-13s %6s %14s %14s %9s %9s %6.2fx\n" "$kind/$((size / 1024))k" "$c" "$a" "$n" "$(gbit "$TMP/a.txt")" "$(gbit "$TMP/n.txt")" \
      "$(python3 -c "print($a/$n)")"
    for f in a n; do e=$(errs "$TMP/$f.txt"); [ -z "$e" ] || echo "   ($f) $e"; done
  done
done
kill -0 $SRV_PID 2>/dev/null || { echo "aethex-server died" >&2; exit 1; }
