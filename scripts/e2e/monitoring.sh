#!/usr/bin/env bash
# Monitoring journey: the alert rules and the Grafana dashboard in deploy/
# against a real aethex-server and a real Prometheus (Debian `prometheus`).
#   - promtool check rules + the rules' unit tests (promtool test rules);
#   - the server started with --log-format json: every log line is a JSON object;
#   - a real broadcast (ffmpeg over RTMP), a viewer and a chat message, then
#     /metrics: promtool check metrics accepts the exposition, and every metric
#     the rules and the dashboard use is there;
#   - Prometheus scrapes the server with the rules loaded: every rule evaluates
#     without error and no alert fires on this healthy server; the dashboard's
#     queries all run and the viewers/chat/stream panels return data.
# Ends with `N passed, N failed`; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=../lib/e2e-server.sh
. scripts/lib/e2e-server.sh

PASSED=0 FAILED=0
PROM_PID= FFMPEG_PID= CHAT_PID=
summary() { echo "$PASSED passed, $FAILED failed"; }
die() { echo "monitoring e2e: $*" >&2; FAILED=$((FAILED + 1)); summary; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
cleanup() {
  for p in $CHAT_PID $FFMPEG_PID $PROM_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  _stop_server
}
trap cleanup EXIT
command -v promtool >/dev/null || die "promtool missing (apt install prometheus)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RULES=deploy/prometheus/aethex-alerts.yml
DASH=deploy/grafana/aethex-dashboard.json

# --- the rules on their own ---------------------------------------------------
if promtool check rules "$RULES"; then ok "promtool check rules"; else fail "promtool check rules"; fi
if (cd deploy/prometheus && promtool test rules aethex-alerts.test.yml); then
  ok "alert unit tests (each alert fires on a bad series, not on a healthy one)"
else fail "promtool test rules"; fi

# --- a real server with JSON logs, live, watched, chatting ----------------------
build_all || die "build failed"
start_server --log-format json || die "server did not start"
TOKEN=$(register monitor "monitor-password-1") || die "register failed"
KEY=$(rotate_key monitor "$TOKEN") || die "stream key failed"
ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine \
  -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -c:a aac -f flv "rtmp://$RTMP/live/$KEY" \
  2>"$WORK/ffmpeg.log" &
FFMPEG_PID=$!
for _ in $(seq 100); do curl -fs "$BASE/hls/monitor/index.m3u8" 2>/dev/null | grep -q EXTINF && break; sleep 0.2; done
curl -fs "$BASE/hls/monitor/index.m3u8" | grep -q EXTINF || die "the broadcast never produced a playlist ($(tail -n3 "$WORK/ffmpeg.log"))"
# A viewer that stays, and one chat message round trip (stored, then shown).
cat >"$WORK/chat.mjs" <<'JS'
const [base, token] = process.argv.slice(2);
const url = base.replace('http', 'ws') + '/ws/chat/monitor?token=' + token;
const ws = new WebSocket(url);
let sent = false;
ws.onmessage = (e) => {
  const f = JSON.parse(e.data);
  if (f.type === 'viewers' && !sent) { sent = true; ws.send(JSON.stringify({ type: 'send', text: 'metrics check' })); }
  if (f.type === 'message' && f.text === 'metrics check') console.log('chat round trip ok');
  if (f.type === 'error') { console.log('chat error', e.data); process.exit(1); }
};
ws.onerror = (e) => { console.log('chat socket error', e.message); process.exit(1); };
JS
VIEWER_TOKEN=$(register viewer1 "viewer-password-1") || die "register viewer failed"
node --experimental-websocket --no-warnings "$WORK/chat.mjs" "$BASE" "$VIEWER_TOKEN" >"$WORK/chat.log" 2>&1 &
CHAT_PID=$!
for _ in $(seq 50); do grep -q "round trip ok" "$WORK/chat.log" && break; sleep 0.2; done
if grep -q "round trip ok" "$WORK/chat.log"; then ok "chat message round trip"; else fail "chat: $(cat "$WORK/chat.log")"; fi
sleep 3 # a few more segments for the edge-delay histogram

curl -fsS "$BASE/metrics" >"$WORK/metrics.txt" || die "GET /metrics failed"
if promtool check metrics <"$WORK/metrics.txt" >"$WORK/lint.txt" 2>&1; then
  ok "promtool check metrics accepts /metrics"
else
  # Lint findings (naming advice) are printed; only a parse failure fails.
  if grep -qi "error while linting\|text format parsing error" "$WORK/lint.txt"; then fail "promtool check metrics: $(head -n5 "$WORK/lint.txt")"
  else ok "promtool check metrics parses /metrics (advice: $(wc -l <"$WORK/lint.txt") lines)"; fi
fi
# Every aethex_* name the rules and the dashboard use is exported (a histogram's
# `_bucket` series by its base name).
used=$(grep -ohE 'aethex_[a-z0-9_]+' "$RULES" "$DASH" | sed -E 's/_(bucket|sum|count)$//' | sort -u)
# Object-storage metrics exist only on a node with --s3-*: for those the
# server's source must still record them under that name.
missing=
for m in $used; do
  if [[ $m == aethex_s3_* ]]; then
    grep -rqF "\"$m\"" crates/server/src || missing="$missing $m"
    continue
  fi
  grep -qE "^${m}(_bucket|_sum|_count)?(\{| )" "$WORK/metrics.txt" || missing="$missing $m"
done
if [ -z "$missing" ]; then ok "every metric the rules and dashboard use is exported ($(echo $used | wc -w) names)"
else fail "metrics used by rules/dashboard but not exported:$missing"; fi
viewers=$(sed -n 's/^aethex_viewers{channel="monitor"} \([0-9.]*\)$/\1/p' "$WORK/metrics.txt")
if [ "${viewers:-0}" = 1 ]; then ok "aethex_viewers{channel=monitor} = 1"; else fail "aethex_viewers for monitor: '${viewers:-absent}' (want 1)"; fi
disk=$(sed -n 's/^aethex_data_dir_free_bytes \([0-9.e+]*\)$/\1/p' "$WORK/metrics.txt")
if [ -n "$disk" ] && [ "$disk" != 0 ]; then ok "data-dir free space exported ($disk bytes)"; else fail "aethex_data_dir_free_bytes missing"; fi

# JSON logs: every line of the server's stderr parses, with level and message.
if python3 - "$WORK/stderr" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no log lines"
for l in lines:
    o = json.loads(l)
    assert "level" in o and "timestamp" in o and "message" in o, l
assert any(o.get("message") == "broadcast started" for o in map(json.loads, lines)), "no 'broadcast started' event"
print(f"{len(lines)} JSON log lines")
PY
then ok "--log-format json: every log line is a JSON object"; else fail "--log-format json output"; fi

# --- a real Prometheus with the rules, scraping the server ----------------------
PROM_PORT=$(free_port)
mkdir -p "$WORK/prom"
cp "$RULES" "$WORK/prom/"
cat >"$WORK/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [aethex-alerts.yml]
scrape_configs:
  - job_name: aethex
    static_configs: [{targets: ["${BASE#http://}"]}]
YML
prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prom/log" 2>&1 &
PROM_PID=$!
PROM="http://127.0.0.1:$PROM_PORT"
for _ in $(seq 100); do curl -fs "$PROM/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$PROM/-/ready" >/dev/null || die "prometheus did not start: $(tail -n5 "$WORK/prom/log")"
sleep 8 # scrapes and rule evaluations
up=$(curl -fsS "$PROM/api/v1/query" --data-urlencode 'query=up{job="aethex"}' | jq -r '.data.result[0].value[1]')
if [ "$up" = 1 ]; then ok "prometheus scrapes the server"; else fail "up{job=aethex} = $up"; fi
rules=$(curl -fsS "$PROM/api/v1/rules")
bad=$(jq -r '[.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.lastError)"] | join("; ")' <<<"$rules")
n=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
if [ "$n" -ge 8 ] && [ -z "$bad" ]; then ok "all $n rules evaluate without error"; else fail "rules: n=$n $bad"; fi
firing=$(curl -fsS "$PROM/api/v1/alerts" | jq -r '[.data.alerts[] | .labels.alertname] | join(",")')
if [ -z "$firing" ]; then ok "no alert pending or firing on a healthy server"; else fail "alerts on a healthy server: $firing"; fi
# Every dashboard query runs; the panels for streams, viewers and chat show data.
qfail= empty=
while IFS= read -r q; do
  res=$(curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$q") || { qfail="$qfail | $q"; continue; }
  [ "$(jq -r .status <<<"$res")" = success ] || qfail="$qfail | $q"
done < <(jq -r '.panels[].targets[].expr' "$DASH")
if [ -z "$qfail" ]; then ok "every dashboard query runs"; else fail "dashboard queries failed:$qfail"; fi
for q in 'sum(aethex_live_streams)' 'sum(aethex_viewers)' 'sum(aethex_chat_connections)'; do
  v=$(curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$q" | jq -r '.data.result[0].value[1] // "none"')
  if [ "$v" = 1 ]; then ok "dashboard: $q = 1"; else fail "dashboard: $q = $v (want 1)"; fi
done
summary
[ "$FAILED" -eq 0 ]
