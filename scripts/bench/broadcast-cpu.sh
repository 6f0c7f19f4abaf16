#!/usr/bin/env bash
# CPU and memory of a 720p30 test-source broadcast: the AeThex engine (examples/broadcast,
# release build) against the equivalent gst-launch-1.0 pipeline and ffmpeg libx264, all at
# preset veryfast, 3500 kbit/s video, 160 kbit/s AAC, 0.5 s GOP, writing Matroska.
# Also prints the engine's start-to-first-preview-frame time.
#
#   scripts/bench/broadcast-cpu.sh [SECONDS=60]
#
# Prints CPU seconds per minute of output and peak RSS for each. Not a test: numbers only.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-60}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/aethex/target}
cargo build --release --quiet -p aethex-broadcast --example broadcast
BIN=$CARGO_TARGET_DIR/release/examples/broadcast
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TICKS=$(getconf CLK_TCK)

# measure NAME CMD... : runs CMD for $SECS s, prints CPU s/min and peak RSS, stops it with SIGINT.
measure() {
  local name=$1; shift
  "$@" > "$TMP/$name.out" 2>&1 &
  local pid=$! peak=0 rss
  for _ in $(seq "$SECS"); do
    sleep 1
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
  done
  local cpu
  cpu=$(awk -v t="$TICKS" '{ sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) / t }' "/proc/$pid/stat")
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  awk -v n="$name" -v c="$cpu" -v s="$SECS" -v r="$peak" \
    'BEGIN { printf "%-28s %6.1f CPU s/min  (%5.1f %% of a core)  peak RSS %4d MB\n", n, c * 60 / s, c * 100 / s, r / 1024 }'
}

measure engine+preview "$BIN" --duration 0 --record "$TMP/engine.mkv"
grep -E '^(started_ms|first_preview_ms)' "$TMP/engine+preview.out" | tr '\n' ' '; echo
measure engine-no-preview "$BIN" --duration 0 --no-preview --record "$TMP/engine2.mkv"
measure gst-launch gst-launch-1.0 -e \
  videotestsrc is-live=true ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 \
  ! queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0 \
  ! x264enc tune=zerolatency speed-preset=veryfast bitrate=3500 key-int-max=15 option-string=scenecut=0 bframes=0 \
  ! h264parse ! matroskamux name=m ! filesink location="$TMP/gst.mkv" \
  audiotestsrc is-live=true freq=440 volume=0.3 ! audio/x-raw,rate=48000,channels=2 \
  ! avenc_aac bitrate=160000 ! aacparse ! m.
measure ffmpeg-libx264 ffmpeg -v error -re -f lavfi -i testsrc2=size=1280x720:rate=30 -re -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -c:v libx264 -preset veryfast -tune zerolatency -b:v 3500k -g 15 -x264-params scenecut=0 -pix_fmt yuv420p \
  -c:a aac -b:a 160k -ac 2 -y "$TMP/ffmpeg.mkv"
