#!/usr/bin/env bash
# Reverse-proxy journey: a real nginx (Debian's, own prefix, random ports, a
# self-signed certificate made here with openssl) runs the templates from
# docs/deploy.md in front of the real aethex-server started with
# --trusted-proxy 127.0.0.1. Checks over HTTPS through nginx: the API and the
# player page, RTMPS publishing through nginx `stream`, the live playlist and a
# blocking `_HLS_msn` reload, the client address the server logs (forwarded by
# nginx, a forged X-Forwarded-For ignored, ignored from an untrusted peer), and
# in Chromium: the player plays over HTTPS and chat round-trips a message
# through the proxied WebSocket (ui/e2e/proxy.e2e.mjs).
# Ends with `N passed, N failed`; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=../lib/e2e-server.sh
. scripts/lib/e2e-server.sh

PASSED=0 FAILED=0
NGINX_PID= FFMPEG_PID=
summary() { echo "$PASSED passed, $FAILED failed"; }
die() { echo "proxy e2e: $*" >&2; FAILED=$((FAILED + 1)); summary; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
cleanup() {
  [ -n "$FFMPEG_PID" ] && kill "$FFMPEG_PID" 2>/dev/null && wait "$FFMPEG_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  _stop_server
}
trap cleanup EXIT

command -v nginx >/dev/null || die "nginx missing (apt install nginx)"
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || die "nginx stream module missing (apt install libnginx-mod-stream)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

build_all || die "build failed"
start_server --trusted-proxy 127.0.0.1 || die "server did not start"
UPSTREAM=${BASE#http://}
echo "proxy e2e: server at $BASE, rtmp at $RTMP"

# --- nginx from the docs' templates ------------------------------------------
NG=$WORK/nginx
mkdir -p "$NG/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$NG/key.pem" -out "$NG/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
HTTPS_PORT=$(free_port) HTTP_PORT=$(free_port) PUB_RTMP=$(free_port) PUB_RTMPS=$(free_port)

# template NAME: the fenced block after `<!-- template: NAME -->` in docs/deploy.md.
template() {
  awk -v name="$1" '
    $0 ~ "<!-- template: " name " -->" { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' docs/deploy.md
}
# subst FILE FROM TO: replace every FROM (fixed string); fail when FROM is absent,
# so a change in the docs that the test no longer matches is noticed.
subst() {
  grep -qF -- "$2" "$1" || die "docs/deploy.md template no longer contains '$2'"
  FROM=$2 TO=$3 perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$1"
}
template nginx-http >"$NG/site.conf"
template nginx-stream >"$NG/stream.conf"
[ -s "$NG/site.conf" ] && [ -s "$NG/stream.conf" ] || die "templates not found in docs/deploy.md"
for f in site.conf stream.conf; do
  subst "$NG/$f" /etc/letsencrypt/live/live.example.com/fullchain.pem "$NG/cert.pem"
  subst "$NG/$f" /etc/letsencrypt/live/live.example.com/privkey.pem "$NG/key.pem"
done
subst "$NG/site.conf" "server 127.0.0.1:8080;" "server $UPSTREAM;"
subst "$NG/site.conf" "listen 443 ssl http2;" "listen 127.0.0.1:$HTTPS_PORT ssl http2;"
subst "$NG/site.conf" "listen 80;" "listen 127.0.0.1:$HTTP_PORT;"
subst "$NG/stream.conf" "server 127.0.0.1:19350;" "server $RTMP;"
subst "$NG/stream.conf" "listen 1935;" "listen 127.0.0.1:$PUB_RTMP;"
subst "$NG/stream.conf" "listen 1936 ssl;" "listen 127.0.0.1:$PUB_RTMPS ssl;"
{
  echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
  [ "$(id -u)" = 0 ] && echo "user root;"
  cat <<EOF
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 512; }
http {
    access_log $NG/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    include $NG/site.conf;
}
include $NG/stream.conf;
EOF
} >"$NG/nginx.conf"
nginx -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" 2>"$NG/test.log" || { cat "$NG/test.log" >&2; die "nginx -t refused the config"; }
nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" -g "daemon off;" &
NGINX_PID=$!
PROXY=https://127.0.0.1:$HTTPS_PORT
for _ in $(seq 1 100); do curl -sk -o /dev/null "$PROXY/healthz" && break; sleep 0.1; done
echo "proxy e2e: nginx at $PROXY (http :$HTTP_PORT, rtmp :$PUB_RTMP, rtmps :$PUB_RTMPS)"

# --- plain HTTPS --------------------------------------------------------------
if [ "$(curl -sk "$PROXY/healthz")" = ok ]; then ok "healthz over HTTPS through nginx"; else fail "healthz over HTTPS"; fi
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$HTTP_PORT/alice")
if [[ $loc == "301 https://127.0.0.1/alice" ]]; then ok "plain HTTP redirects to HTTPS"; else fail "plain HTTP redirect: $loc"; fi
if curl -sk "$PROXY/" | grep -qi '<html'; then ok "player page over HTTPS"; else fail "player page over HTTPS"; fi

BASE_DIRECT=$BASE
OWNER=alice OWNER_PASSWORD=alice-proxy-password
TOKEN=$(curl -sSk -f -X POST "$PROXY/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"username\":\"$OWNER\",\"password\":\"$OWNER_PASSWORD\"}" | jq -er .token) || die "register through the proxy failed"
ok "register through the proxy"
KEY=$(curl -sSk -f -X POST "$PROXY/api/v1/channels/$OWNER/stream-key" -H "authorization: Bearer $TOKEN" | jq -er .stream_key) \
  || die "rotating the key through the proxy failed"

# --- the client address ---------------------------------------------------------
# nginx reaches the server from 127.0.0.1 (trusted); curl talks to nginx from
# 127.0.0.3 and forges an X-Forwarded-For, which nginx keeps on the left.
# The last `failed login` line the server logged (colour codes removed).
last_failed_login() { sed 's/\x1b\[[0-9;]*m//g' "$WORK/stderr" | grep 'failed login' | tail -n1; }
bad_login() { curl -sk -o /dev/null -w '%{http_code}' "$@" -H 'content-type: application/json' \
  -d '{"username":"mallory","password":"wrong-password"}'; }
code=$(bad_login --interface 127.0.0.3 -H 'X-Forwarded-For: 6.6.6.6' -X POST "$PROXY/api/v1/auth/login")
# (The server logs a failed login before it answers: no wait needed.)
if [ "$code" = 401 ] && last_failed_login | grep -q ' client=127\.0\.0\.3 '; then
  ok "server logs the forwarded client 127.0.0.3, not nginx or the forged 6.6.6.6"
else
  fail "forwarded client address (status $code): $(last_failed_login)"
fi
code=$(bad_login --interface 127.0.0.4 -H 'X-Forwarded-For: 6.6.6.6' -X POST "$BASE_DIRECT/api/v1/auth/login")
if [ "$code" = 401 ] && last_failed_login | grep -q ' client=127\.0\.0\.4 '; then
  ok "X-Forwarded-For from an untrusted peer is ignored"
else
  fail "spoofed header from an untrusted peer (status $code): $(last_failed_login)"
fi
if grep 'failed login' "$WORK/stderr" | grep -q '6\.6\.6\.6'; then fail "a forged address reached the logs"; else ok "no forged address in the logs"; fi

# --- RTMPS through nginx stream → live LL-HLS over HTTPS -------------------------
ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine \
  -c:v libx264 -g 15 -tune zerolatency -pix_fmt yuv420p -c:a aac \
  -f flv "rtmps://127.0.0.1:$PUB_RTMPS/live/$KEY" 2>"$WORK/ffmpeg.log" &
FFMPEG_PID=$!
PLAYLIST=
for _ in $(seq 1 150); do
  PLAYLIST=$(curl -sk -f "$PROXY/hls/$OWNER/index.m3u8") && grep -q 'EXT-X-PRELOAD-HINT' <<<"$PLAYLIST" && break
  PLAYLIST=
  kill -0 "$FFMPEG_PID" 2>/dev/null || break
  sleep 0.2
done
if [ -n "$PLAYLIST" ]; then
  ok "RTMPS publish through nginx stream: live playlist over HTTPS"
else
  fail "no live playlist through the proxy ($(tail -n3 "$WORK/ffmpeg.log"))"
fi
# The hinted part (e.g. 7_00047_p1.m4s) is not in the playlist yet: a blocking
# reload for it must be held until it is, and then list it.
HINT=$(sed -n 's/.*PRELOAD-HINT:TYPE=PART,URI="\([^"]*\)".*/\1/p' <<<"$PLAYLIST")
if [[ $HINT =~ _0*([0-9]+)_p([0-9]+)\.m4s$ ]]; then
  MSN=${BASH_REMATCH[1]} PART=${BASH_REMATCH[2]}
  t0=$(date +%s%N)
  RELOAD=$(curl -sk -f -D "$WORK/reload.headers" "$PROXY/hls/$OWNER/index.m3u8?_HLS_msn=$MSN&_HLS_part=$PART")
  held_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if grep -q "URI=\"$HINT\"" <<<"$(grep EXT-X-PART: <<<"$RELOAD")"; then
    ok "blocking reload _HLS_msn=$MSN&_HLS_part=$PART through nginx lists the part (held ${held_ms} ms)"
  else
    fail "blocking reload through nginx did not list $HINT: $(tail -n3 <<<"$RELOAD")"
  fi
  code=$(curl -sk -o /dev/null -w '%{http_code}' "$PROXY/hls/$OWNER/$HINT")
  if [ "$code" = 200 ]; then ok "the hinted part downloads through nginx"; else fail "hinted part: HTTP $code"; fi
else
  fail "no preload hint in the playlist: $(tail -n3 <<<"$PLAYLIST")"
fi

# --- Chromium over HTTPS ---------------------------------------------------------
E2E_BASE_URL=$PROXY E2E_CHANNEL=$OWNER E2E_OWNER_PASSWORD=$OWNER_PASSWORD \
E2E_ARTIFACTS="$ROOT/tests/artifacts" node ui/e2e/proxy.e2e.mjs | tee "$WORK/browser.log" \
  | grep -vE '^[0-9]+ passed, [0-9]+ failed$' # (this script's own summary comes last)
read -r bp bf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$WORK/browser.log" | tail -n1)
PASSED=$((PASSED + ${bp:-0}))
FAILED=$((FAILED + ${bf:-1}))

if ! kill -0 "$NGINX_PID" 2>/dev/null; then fail "nginx exited during the test"; fi
if [ "$FAILED" -ne 0 ]; then
  echo "--- nginx error.log (last 20 lines)"; tail -n 20 "$NG/error.log"
  echo "--- server stderr (last 30 lines)"; tail -n 30 "$WORK/stderr"
fi
summary
[ "$FAILED" -eq 0 ]
