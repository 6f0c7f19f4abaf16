#!/usr/bin/env bash
# Benchmark: RTMP ingest → HLS remux of one 720p30 stream, aethex-server vs
# nginx + libnginx-mod-rtmp (`hls on`), side by side in one run: ONE ffmpeg
# encode is sent to both through the tee muxer, so both remux the same bytes.
# Prints CPU (% of one core) and RSS of each server, the ratio (target
# ≤ 1.0× nginx-rtmp), and the frame→playlist delay distribution of aethex:
# for every LL-HLS part and every segment, (time it first appears in the live
# playlist) minus (wall-clock arrival of its first frame: the segment's
# EXT-X-PROGRAM-DATE-TIME plus the parts before it), and the same for its
# last frame (+ its duration).
# Knobs: DUR (s, default 30), SEG_MS (aethex --hls-segment-ms, default 1000),
# PART_MS (--hls-part-ms, default 200), GOP (frames, default 15 = 0.5 s at 30 fps).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
DUR=${DUR:-30}; SEG_MS=${SEG_MS:-1000}; PART_MS=${PART_MS:-200}; GOP=${GOP:-15}
cargo build --release -q -p aethex-server --bin aethex-server
BIN=$CARGO_TARGET_DIR/release/aethex-server
TMP=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; sleep 1; [ -n "${KEEP:-}" ] || rm -rf "$TMP"; [ -z "${KEEP:-}" ] || echo "kept $TMP"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { for _ in $(seq 100); do l=$(grep -m1 '^listening' "$1" 2>/dev/null) && { echo "$l" | sed "s/.*$2=\([^ ]*\).*/\1/"; return; }; sleep 0.1; done; echo "no listening line in $1" >&2; exit 1; }

# --- aethex-server
RUST_LOG=warn "$BIN" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --data-dir "$TMP/data" --rate-limit 0 \
  --hls-segment-ms "$SEG_MS" --hls-part-ms "$PART_MS" >"$TMP/server.out" 2>"$TMP/server.err" &
SRV_PID=$!
HTTP=$(field "$TMP/server.out" http); RTMP=$(field "$TMP/server.out" rtmp)
TOKEN=$(curl -fs -X POST "http://$HTTP/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"username":"benchy","password":"password123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
KEY=$(curl -fs -X POST "http://$HTTP/api/v1/channels/benchy/stream-key" -H "authorization: Bearer $TOKEN" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream_key"])')

# --- nginx-rtmp, our own process (no master), temp prefix, random port
NGX_PORT=$(free_port); mkdir -p "$TMP/nginx/logs" "$TMP/nginx/hls"
cat >"$TMP/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; worker_processes 1;
error_log $TMP/nginx/logs/error.log warn; pid $TMP/nginx/nginx.pid;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$NGX_PORT; chunk_size 4096;
  application live { live on; record off; hls on; hls_path $TMP/nginx/hls;
    hls_fragment 1s; hls_playlist_length 6s; } } }
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
NGX_PID=$!
sleep 0.5

# --- idle RSS of both, before any stream
IDLE_SRV=$(awk '/VmRSS/ {print $2}' /proc/$SRV_PID/status); IDLE_NGX=$(awk '/VmRSS/ {print $2}' /proc/$NGX_PID/status)

# --- one encode, two ingests
ffmpeg -hide_banner -nostdin -loglevel error -re \
  -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -map 0:v -map 1:a -c:v libx264 -preset veryfast -tune zerolatency -b:v 3M \
  -g "$GOP" -keyint_min "$GOP" -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -flags +global_header \
  -f tee "[f=flv:onfail=ignore]rtmp://$RTMP/live/$KEY|[f=flv:onfail=ignore]rtmp://127.0.0.1:$NGX_PORT/live/bench" \
  2>"$TMP/ffmpeg.err" &
FF_PID=$!

python3 - "$SRV_PID" "$NGX_PID" "http://$HTTP/hls/benchy/index.m3u8" "$TMP/nginx/hls/bench.m3u8" "$DUR" "$IDLE_SRV" "$IDLE_NGX" <<'PY'
import sys, time, urllib.request, datetime, os, statistics
srv, ngx, url, ngx_pl, dur = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
idle = {srv: int(sys.argv[6]) / 1024, ngx: int(sys.argv[7]) / 1024}
tck = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck
def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) / 1024
def playlist():
    try: return urllib.request.urlopen(url, timeout=2).read().decode()
    except Exception: return None
# warm-up: both must be producing
t0 = time.time()
while time.time() - t0 < 60:
    if playlist() and "#EXTINF" in (playlist() or "") and os.path.exists(ngx_pl): break
    time.sleep(0.2)
else:
    sys.exit("no HLS output from one of the servers within 60 s")
time.sleep(3)
# Phase 1: CPU and RSS, nothing else talking to either server (RSS also
# before the stream, so the per-stream cost is visible: idle RSS is sampled
# by the shell before ffmpeg starts).
c0 = {p: cpu(p) for p in (srv, ngx)}; start = time.time()
rs = {srv: [], ngx: []}
while time.time() - start < dur:
    for p in rs: rs[p].append(rss(p))
    time.sleep(1)
el = time.time() - start
cpu_pct = {p: 100 * (cpu(p) - c0[p]) / el for p in (srv, ngx)}
# Phase 2: frame -> playlist delay, polling the live playlist every 20 ms.
seen = {}; delays = {"part": ([], []), "segment": ([], [])}; start = time.time()
def listed(kind, name, begin, duration, now):
    if name in seen: return
    seen[name] = now
    if now - start > 0.5:   # skip what was listed before we started polling
        delays[kind][0].append(now - begin); delays[kind][1].append(now - begin - duration)
while time.time() - start < dur:
    now = time.time()
    text = playlist()
    if text:
        pdt = None; offset = 0.0; extinf = None
        for line in text.splitlines():
            if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                pdt = datetime.datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00")).timestamp()
                offset = 0.0
            elif line.startswith("#EXT-X-PART:") and pdt is not None:
                attrs = dict(a.split("=", 1) for a in line[12:].split(","))
                d = float(attrs["DURATION"]); uri = attrs["URI"].strip('"')
                listed("part", uri, pdt + offset, d, now); offset += d
            elif line.startswith("#EXTINF:"):
                extinf = float(line[8:].split(",")[0])
            elif line and not line.startswith("#") and pdt is not None:
                listed("segment", line, pdt, extinf, now)
                pdt += extinf; offset = 0.0
    time.sleep(0.02)
def q(v, p): v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
print(f"\n720p30 ~3.1 Mbit/s RTMP ingest -> HLS remux, {el:.0f} s, same stream to both")
print(f"{'server':<28}{'CPU % of 1 core':>18}{'RSS MB idle':>14}{'RSS MB mean':>14}{'RSS MB max':>12}{'per stream':>12}")
for name, p in (("aethex-server", srv), ("nginx + rtmp module (hls)", ngx)):
    print(f"{name:<28}{cpu_pct[p]:>18.2f}{idle[p]:>14.1f}{statistics.mean(rs[p]):>14.1f}{max(rs[p]):>12.1f}{statistics.mean(rs[p]) - idle[p]:>12.1f}")
if cpu_pct[ngx] > 0:
    print(f"CPU ratio aethex/nginx: {cpu_pct[srv] / cpu_pct[ngx]:.2f}x (target <= 1.0x)")
print(f"RSS ratio aethex/nginx: {statistics.mean(rs[srv]) / statistics.mean(rs[ngx]):.2f}x whole process, "
      f"{(statistics.mean(rs[srv]) - idle[srv]) / max(0.1, statistics.mean(rs[ngx]) - idle[ngx]):.2f}x per stream")
for kind, (first, last) in delays.items():
    if first:
        print(f"frame -> playlist delay over {len(first)} {kind}s (s): "
              f"first frame p50 {q(first, .5):.2f} p90 {q(first, .9):.2f} max {max(first):.2f}; "
              f"last frame p50 {q(last, .5):.2f} p90 {q(last, .9):.2f} max {max(last):.2f}")
PY
kill "$FF_PID" 2>/dev/null || true
