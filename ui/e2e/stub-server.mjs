#!/usr/bin/env node
// DEVELOPMENT STUB of aethex-server's web-facing contract (shared/contract.md),
// for working on the player before the real server's chat/ingest are merged
// and for screenshots. Not used by scripts/test: the journey runs against the
// real server (scripts/e2e/player.sh).
//
// It serves ui/dist, the /api/v1 JSON API (in memory), the chat WebSocket and
// HLS. There is no RTMP: a channel is "live" while `{hls-root}/{channel}/index.m3u8`
// is being refreshed (e.g. by `ffmpeg … -f hls`), so the player's recovery can
// be exercised with a real encoder.
//
//   node e2e/stub-server.mjs --dist dist --hls-root /tmp/hls [--seed]
// prints `listening http=127.0.0.1:PORT rtmp=127.0.0.1:0` like the real server.

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const DIST = opt("dist", "dist");
const HLS_ROOT = opt("hls-root", "/tmp/aethex-stub-hls");
const PORT = Number(opt("port", "0"));
const SEED = args.includes("--seed");
// Optional: take /hls, /vod and the VOD list from a running media server
// (e.g. the ingest feature on its own) instead of a directory.
const UPSTREAM = opt("media-upstream", null);
const upstreamLive = new Map();

const users = new Map(); // username -> {id, username, display_name, password}
const tokens = new Map(); // token -> username
const channels = new Map(); // name -> {name, display_name, bio, title, moderators:Set, bans:Map(username->until|Infinity), slow, messages:[]}
const vods = new Map(); // name -> [vod]
const sockets = new Set(); // {channel, username, role, send(obj)}
let nextUserId = 1;
let nextMessageId = 1;

function addUser(username, password, display_name = username) {
  const user = { id: nextUserId++, username, display_name, password };
  users.set(username, user);
  channels.set(username, {
    name: username,
    display_name,
    bio: "",
    title: "",
    moderators: new Set(),
    bans: new Map(),
    slow: 0,
    lastSent: new Map(),
    recent: new Map(),
    messages: [],
  });
  return user;
}

const publicUser = (u) => ({ id: u.id, username: u.username, display_name: u.display_name });

function isLive(name) {
  if (UPSTREAM) return upstreamLive.get(name) ?? false;
  const p = join(HLS_ROOT, name, "index.m3u8");
  try {
    return Date.now() - statSync(p).mtimeMs < 4000;
  } catch {
    return false;
  }
}

function viewersOf(name) {
  const seen = new Set();
  for (const s of sockets) if (s.channel === name) seen.add(s.id);
  return seen.size;
}

function channelJson(c) {
  const live = isLive(c.name);
  return {
    name: c.name,
    display_name: c.display_name,
    bio: c.bio,
    live,
    title: c.title,
    viewers: live ? Math.max(viewersOf(c.name), c.fakeViewers ?? 0) : 0,
    started_at: live ? new Date(Date.now() - 3600_000).toISOString() : null,
  };
}

function send(res, status, body, headers = {}) {
  const data = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(data);
}
const fail = (res, status, code, message) => send(res, status, { error: { code, message } });

function authUser(req) {
  const h = req.headers.authorization ?? "";
  const token = h.startsWith("Bearer ") ? h.slice(7) : new URL(req.url, "http://x").searchParams.get("token");
  const name = token ? tokens.get(token) : undefined;
  return name ? users.get(name) : undefined;
}

async function readJson(req) {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  try {
    return JSON.parse(raw || "null");
  } catch {
    return undefined;
  }
}

function roleOf(c, username) {
  if (!username) return "anonymous";
  if (username === c.name) return "owner";
  if (c.moderators.has(username)) return "moderator";
  return "viewer";
}

function broadcast(channel, frame) {
  for (const s of sockets) if (s.channel === channel) s.send(frame);
}

async function api(req, res, path) {
  const method = req.method;
  let m;
  if (method === "POST" && (path === "/auth/register" || path === "/auth/login")) {
    const body = await readJson(req);
    if (!body || typeof body.username !== "string" || typeof body.password !== "string") {
      return fail(res, 400, "bad_request", "Send a username and a password.");
    }
    const username = body.username.toLowerCase();
    if (path === "/auth/register") {
      if (!/^[a-z0-9_]{3,25}$/.test(username)) return fail(res, 422, "invalid_username", "Usernames are 3–25 letters, digits or _.");
      if (body.password.length < 8) return fail(res, 422, "weak_password", "Passwords have at least 8 characters.");
      if (users.has(username)) return fail(res, 409, "username_taken", "That username is taken.");
      addUser(username, body.password);
    }
    const u = users.get(username);
    if (!u || u.password !== body.password) return fail(res, 401, "invalid_credentials", "Wrong username or password.");
    const token = randomBytes(16).toString("hex");
    tokens.set(token, username);
    return send(res, path === "/auth/register" ? 201 : 200, { user: publicUser(u), token });
  }
  if (method === "POST" && path === "/auth/logout") {
    const h = req.headers.authorization ?? "";
    tokens.delete(h.slice(7));
    res.writeHead(204).end();
    return;
  }
  if (method === "GET" && path === "/me") {
    const u = authUser(req);
    return u ? send(res, 200, { user: publicUser(u) }) : fail(res, 401, "unauthorized", "Sign in first.");
  }
  if (method === "GET" && path === "/channels") {
    const list = [...channels.values()].map(channelJson).sort((a, b) => Number(b.live) - Number(a.live));
    return send(res, 200, { channels: list });
  }
  if ((m = /^\/channels\/([a-z0-9_]+)$/.exec(path))) {
    const c = channels.get(m[1]);
    if (!c) return fail(res, 404, "not_found", "No such channel.");
    if (method === "GET") return send(res, 200, channelJson(c));
    if (method === "PATCH") {
      const u = authUser(req);
      if (!u || u.username !== c.name) return fail(res, 403, "forbidden", "Only the owner can edit the channel.");
      const body = (await readJson(req)) ?? {};
      for (const k of ["display_name", "bio", "title"]) if (typeof body[k] === "string") c[k] = body[k];
      return send(res, 200, channelJson(c));
    }
  }
  if ((m = /^\/channels\/([a-z0-9_]+)\/vods$/.exec(path)) && method === "GET") {
    return send(res, 200, { vods: vods.get(m[1]) ?? [] });
  }
  if ((m = /^\/channels\/([a-z0-9_]+)\/stream-key$/.exec(path)) && method === "POST") {
    const u = authUser(req);
    if (!u || u.username !== m[1]) return fail(res, 403, "forbidden", "Only the owner has a stream key.");
    return send(res, 200, { stream_key: randomBytes(12).toString("hex") });
  }
  if ((m = /^\/channels\/([a-z0-9_]+)\/chat$/.exec(path)) && method === "GET") {
    const c = channels.get(m[1]);
    if (!c) return fail(res, 404, "not_found", "No such channel.");
    return send(res, 200, { messages: c.messages.slice(-50) });
  }
  if ((m = /^\/channels\/([a-z0-9_]+)\/moderators\/([a-z0-9_]+)$/.exec(path))) {
    const c = channels.get(m[1]);
    const u = authUser(req);
    if (!c || !u || u.username !== c.name) return fail(res, 403, "forbidden", "Only the owner appoints moderators.");
    if (method === "PUT") c.moderators.add(m[2]);
    else c.moderators.delete(m[2]);
    res.writeHead(204).end();
    return;
  }
  return fail(res, 404, "not_found", "No such API route.");
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4" };

function serveFile(res, file, status = 200) {
  try {
    const data = readFileSync(file);
    res.writeHead(status, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    res.end(data);
  } catch {
    fail(res, 404, "not_found", "Not found.");
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://stub");
  const path = url.pathname;
  try {
    if (UPSTREAM && (/^\/(hls|vod)\//.test(path) || /^\/api\/v1\/channels\/[a-z0-9_]+\/vods$/.test(path))) {
      const r = await fetch(`${UPSTREAM}${path}${url.search}`);
      const headers = { "content-type": r.headers.get("content-type") ?? "application/octet-stream", "cache-control": r.headers.get("cache-control") ?? "no-cache" };
      res.writeHead(r.status, headers);
      res.end(Buffer.from(await r.arrayBuffer()));
      return;
    }
    if (path.startsWith("/api/v1/")) return await api(req, res, path.slice(7));
    let m;
    if ((m = /^\/hls\/([a-z0-9_]+)\/([\w.-]+)$/.exec(path))) {
      if (!isLive(m[1])) return fail(res, 404, "offline", "This channel is offline.");
      return serveFile(res, join(HLS_ROOT, m[1], m[2]));
    }
    if ((m = /^\/vod\/(\d+)\/([\w.-]+)$/.exec(path))) return serveFile(res, join(HLS_ROOT, "_vod", m[1], m[2]));
    const file = normalize(join(DIST, path));
    if (file.startsWith(normalize(DIST)) && existsSync(file) && statSync(file).isFile()) return serveFile(res, file);
    return serveFile(res, join(DIST, "index.html"));
  } catch (e) {
    fail(res, 500, "internal", String(e));
  }
});

// --- chat WebSocket (RFC 6455, text frames only) ---
function encodeFrame(text) {
  const payload = Buffer.from(text);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, len]) : len < 65536 ? Buffer.from([0x81, 126, len >> 8, len & 255]) : null;
  if (!head) {
    const h = Buffer.alloc(10);
    h[0] = 0x81;
    h[1] = 127;
    h.writeBigUInt64BE(BigInt(len), 2);
    return Buffer.concat([h, payload]);
  }
  return Buffer.concat([head, payload]);
}

server.on("upgrade", (req, socket) => {
  const url = new URL(req.url, "http://stub");
  const m = /^\/ws\/chat\/([a-z0-9_]+)$/.exec(url.pathname);
  const c = m && channels.get(m[1]);
  if (!c) {
    socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    return;
  }
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const user = authUser(req);
  const client = {
    id: user?.username ?? `anon-${randomBytes(4).toString("hex")}`,
    channel: c.name,
    username: user?.username ?? null,
    send: (obj) => socket.writable && socket.write(encodeFrame(JSON.stringify(obj))),
    lastLive: isLive(c.name),
  };
  sockets.add(client);
  client.send({ type: "hello", channel: c.name, username: client.username, role: roleOf(c, client.username) });
  client.send({ type: "history", messages: c.messages.slice(-50) });
  client.send({ type: "live", live: client.lastLive, title: c.title });
  if (c.slow) client.send({ type: "slow", seconds: c.slow });
  broadcast(c.name, { type: "viewers", count: viewersOf(c.name) });

  let buf = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const op = buf[0] & 15;
      let len = buf[1] & 127;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const data = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < data.length; i++) data[i] ^= mask[i % 4];
      buf = buf.subarray(off + 4 + len);
      if (op === 8) return socket.end();
      if (op === 9) socket.write(Buffer.from([0x8a, 0]));
      if (op === 1) onClientFrame(c, client, data.toString());
    }
  });
  const bye = () => {
    sockets.delete(client);
    broadcast(c.name, { type: "viewers", count: viewersOf(c.name) });
  };
  socket.on("close", bye);
  socket.on("error", bye);
});

function onClientFrame(c, client, text) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    return client.send({ type: "error", code: "bad_request", message: "Frames are JSON." });
  }
  const role = roleOf(c, client.username);
  const mod = role === "owner" || role === "moderator";
  const refuse = (code, message) => client.send({ type: "error", code, message });
  if (f.type === "send") {
    if (!client.username) return refuse("not_allowed", "Sign in to chat.");
    const ban = c.bans.get(client.username);
    if (ban !== undefined && ban > Date.now()) {
      return ban === Infinity ? refuse("banned", "You are banned from this chat.") : refuse("timed_out", `You are timed out for ${Math.ceil((ban - Date.now()) / 1000)} s.`);
    }
    const t = String(f.text ?? "").trim();
    if (!t) return refuse("bad_request", "Empty message.");
    if (t.length > 500) return refuse("too_long", "Messages are 500 characters at most.");
    const now = Date.now();
    const last = c.lastSent.get(client.username) ?? 0;
    if (!mod && c.slow && now - last < c.slow * 1000) return refuse("slow_mode", `Slow mode: wait ${Math.ceil((c.slow * 1000 - (now - last)) / 1000)} s.`);
    const recent = (c.recent.get(client.username) ?? []).filter((x) => now - x < 10_000);
    if (recent.length >= 8) return refuse("rate_limited", "You are sending messages too quickly.");
    recent.push(now);
    c.recent.set(client.username, recent);
    c.lastSent.set(client.username, now);
    const message = { id: nextMessageId++, username: client.username, text: t, sent_at: new Date().toISOString() };
    c.messages.push(message);
    return broadcast(c.name, { type: "message", ...message });
  }
  if (!mod) return refuse("not_allowed", "Only moderators can do that.");
  if (f.type === "delete") {
    c.messages = c.messages.filter((x) => x.id !== f.id);
    return broadcast(c.name, { type: "deleted", id: f.id });
  }
  if (f.type === "timeout") return void c.bans.set(f.username, Date.now() + f.seconds * 1000);
  if (f.type === "ban") return void c.bans.set(f.username, Infinity);
  if (f.type === "unban") return void c.bans.delete(f.username);
  if (f.type === "slow") {
    c.slow = Number(f.seconds) || 0;
    return broadcast(c.name, { type: "slow", seconds: c.slow });
  }
  return refuse("bad_request", "Unknown frame.");
}

// Past broadcasts: every one plays the same short recording made at start-up.
const VOD_TEMPLATE = join(HLS_ROOT, "_vod", "template");
mkdirSync(VOD_TEMPLATE, { recursive: true });
execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30:duration=6",
  "-f", "lavfi", "-i", "sine=duration=6", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
  "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", join(VOD_TEMPLATE, "index.m3u8")]);
let nextVodId = 100;
function addVod(channel, vod) {
  cpSync(VOD_TEMPLATE, join(HLS_ROOT, "_vod", String(vod.id)), { recursive: true });
  vods.set(channel, [vod, ...(vods.get(channel) ?? [])]);
}
const wasLive = new Map();

// Live transitions, as the real server announces them on the chat socket; a
// broadcast that ends becomes a past broadcast.
setInterval(async () => {
  if (UPSTREAM) {
    for (const name of channels.keys()) {
      const r = await fetch(`${UPSTREAM}/hls/${name}/index.m3u8`).catch(() => null);
      upstreamLive.set(name, r?.status === 200);
      await r?.arrayBuffer().catch(() => undefined);
    }
  }
  for (const c of channels.values()) {
    const live = isLive(c.name);
    if (wasLive.get(c.name) && !live) {
      const id = nextVodId++;
      addVod(c.name, { id, title: c.title || "Untitled broadcast", started_at: new Date().toISOString(), duration_seconds: 6, playlist: `/vod/${id}/index.m3u8` });
    }
    wasLive.set(c.name, live);
  }
  for (const s of sockets) {
    const live = isLive(s.channel);
    if (live !== s.lastLive) {
      s.lastLive = live;
      s.send({ type: "live", live, title: channels.get(s.channel)?.title ?? "" });
    }
  }
}, 500).unref();

if (SEED) {
  const seed = [
    ["demo", "Demo Station", "Building a streaming server in Rust — day 12", "Rust, media and too much coffee. Streams most weekdays at 18:00 UTC.", 1284],
    ["pixelpilot", "PixelPilot", "Speedrunning retro platformers (any%)", "Speedrunner. Retro games only.", 342],
    ["lofi_lena", "Lofi Lena", "beats to code to ☕", "Lo-fi beats and chill talk.", 87],
    ["chefmarco", "Chef Marco", "", "Weekend cooking streams.", 0],
    ["night_owl", "Night Owl", "", "Astronomy nights when the sky is clear.", 0],
  ];
  for (const [name, display, title, bio, viewers] of seed) {
    addUser(name, "password123", display);
    Object.assign(channels.get(name), { title, bio, fakeViewers: viewers });
  }
  const c = channels.get("demo");
  const lines = [
    ["pixelpilot", "this latency is unreal, feels like a video call"],
    ["lofi_lena", "hi chat 👋"],
    ["night_owl", "what encoder settings are you using?"],
    ["demo", "x264 zerolatency, 0.5 s GOPs — glass to glass about a second"],
    ["chefmarco", "<img src=x onerror=alert(1)> nice try, this is text"],
    ["pixelpilot", "GG"],
  ];
  for (const [u, t] of lines) c.messages.push({ id: nextMessageId++, username: u, text: t, sent_at: new Date().toISOString() });
  addVod("demo", { id: 1, title: "Day 9: HLS packaging", started_at: "2026-11-21T18:05:00Z", duration_seconds: 6012, playlist: "/vod/1/index.m3u8" });
  addVod("demo", { id: 2, title: "Day 10: RTMP ingest from scratch", started_at: "2026-11-22T18:02:00Z", duration_seconds: 5380, playlist: "/vod/2/index.m3u8" });
  addVod("demo", { id: 3, title: "Day 11: chat moderation and slow mode", started_at: "2026-11-23T18:00:00Z", duration_seconds: 7421, playlist: "/vod/3/index.m3u8" });
  addVod("chefmarco", { id: 4, title: "Fresh pasta, three ways", started_at: "2026-11-22T12:00:00Z", duration_seconds: 4210, playlist: "/vod/4/index.m3u8" });
}

server.listen(PORT, "127.0.0.1", () => {
  console.log(`listening http=127.0.0.1:${server.address().port} rtmp=127.0.0.1:0`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
