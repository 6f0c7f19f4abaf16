#!/usr/bin/env node
// Web player journey in Chromium against a running server with a real ffmpeg
// publisher. Started by scripts/e2e/player.sh, which builds and starts
// aethex-server, registers the users and rotates the stream key.
//
// Environment:
//   E2E_BASE_URL            http://127.0.0.1:PORT of the server
//   E2E_CHANNEL             the owner's channel (= owner's username)
//   E2E_OWNER_PASSWORD      owner's password
//   E2E_VIEWER_USER / E2E_VIEWER_PASSWORD   a second, ordinary account
//   E2E_PUBLISH_URL         rtmp://HOST:PORT/live/KEY for the publisher
//   E2E_PUBLISH_HLS_DIR     (development stub only, instead of the URL) write HLS here
//   E2E_ARTIFACTS           where screenshots go (default tests/artifacts)
//
// Prints one line per check and ends with `N passed, N failed`; exits 1 on failure.

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, VIEWPORTS } from "./browser.mjs";

const env = (name, dflt) => {
  const v = process.env[name] ?? dflt;
  if (v === undefined) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return v;
};
const BASE = env("E2E_BASE_URL");
const CHANNEL = env("E2E_CHANNEL");
const OWNER_PASSWORD = env("E2E_OWNER_PASSWORD");
const VIEWER = env("E2E_VIEWER_USER");
const VIEWER_PASSWORD = env("E2E_VIEWER_PASSWORD");
const PUBLISH_URL = process.env.E2E_PUBLISH_URL;
const PUBLISH_HLS_DIR = process.env.E2E_PUBLISH_HLS_DIR;
const ARTIFACTS = env("E2E_ARTIFACTS", "tests/artifacts");
/** The issue's bound: playback resumes by itself within this long after the publisher is back. */
const RESUME_BOUND_MS = 10_000;

let passed = 0;
let failed = 0;
const consoleErrors = [];

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? ` – ${detail}` : ""}`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    return false;
  }
}

/** Polls `fn` until it returns a truthy value; throws `what` on timeout. */
async function waitFor(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last instanceof Error ? ` (${last.message})` : ""}`);
}

// --- publisher -------------------------------------------------------------
let publisher = null;
function startPublisher() {
  const input = ["-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i", "sine"];
  const encode = ["-c:v", "libx264", "-g", "15", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-c:a", "aac"];
  const output = PUBLISH_URL
    ? ["-f", "flv", PUBLISH_URL]
    : ["-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments+program_date_time", join(PUBLISH_HLS_DIR, "index.m3u8")];
  if (!PUBLISH_URL) mkdirSync(PUBLISH_HLS_DIR, { recursive: true });
  publisher = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", ...input, ...encode, ...output], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  // ffmpeg names the URL in its errors: never let the stream key reach a log.
  const key = PUBLISH_URL ? PUBLISH_URL.slice(PUBLISH_URL.lastIndexOf("/") + 1) : null;
  publisher.stderr.on("data", (d) => {
    const text = d.toString();
    process.stderr.write(`ffmpeg: ${key ? text.split(key).join("<stream key>") : text}`);
  });
}
function killPublisher() {
  if (publisher && publisher.exitCode === null) publisher.kill("SIGKILL");
  publisher = null;
}

async function channelLive() {
  const res = await fetch(`${BASE}/api/v1/channels/${CHANNEL}`);
  return res.ok && (await res.json()).live === true;
}

// --- pages -------------------------------------------------------------------
async function openWatch(browser, label, viewport = VIEWPORTS.desktop) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const url = msg.location()?.url ?? "";
    // While a broadcast is down the live playlist answers 404 (the contract's
    // "offline"): Chromium logs that as a resource error. Anything else counts.
    if (/status of 404/.test(msg.text()) && url.includes(`/hls/${CHANNEL}/`)) return;
    consoleErrors.push(`${label}: ${msg.text()} ${url}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${label}: uncaught ${e.message}`));
  page.on("dialog", (d) => void d.accept());
  await page.goto(`${BASE}/${CHANNEL}`);
  await page.waitForSelector(".chat-list");
  return { context, page };
}

/** Video time and player state inside the page. */
const probe = (page) =>
  page.evaluate(() => {
    const v = document.querySelector("video");
    const p = window.__aethexPlayer;
    const date = p?.engine?.playingDate;
    return {
      t: v ? v.currentTime : -1,
      state: p?.playbackState ?? "none",
      error: v?.error ? v.error.code : null,
      playingDate: date ? date.getTime() : null,
      latency: p ? p.latencyMs() : null,
    };
  });

/**
 * Waits until video time advances by `seconds` while playing (new frames are
 * shown); counting starts at the first sample that satisfies `extra`, and
 * again whenever time jumps back (a restarted stream starts at 0).
 */
async function waitAdvancing(page, seconds, timeoutMs, extra = () => true) {
  let base = null;
  return waitFor(`video time to advance ${seconds} s`, async () => {
    const now = await probe(page);
    if (now.error) throw new Error(`media error ${now.error}`);
    if (now.state !== "playing" || !extra(now)) return null;
    if (base === null || now.t < base.t) base = now;
    return now.t - base.t >= seconds ? now : null;
  }, timeoutMs);
}

async function signIn(page, username, password) {
  await page.getByRole("button", { name: "Sign in to chat" }).click();
  await page.fill("#auth-username", username);
  await page.fill("#auth-password", password);
  await page.locator("dialog form button[type=submit]").click();
  await page.waitForSelector(".chat-input:not([disabled])", { timeout: 15_000 });
}

async function say(page, text) {
  await page.fill(".chat-input", text);
  await page.press(".chat-input", "Enter");
}

const messageLocator = (page, text) => page.locator("li.msg", { has: page.locator(".msg-text", { hasText: text }) });

// --- journey ------------------------------------------------------------------
mkdirSync(ARTIFACTS, { recursive: true });
const { browser, close } = await launch();
try {
  startPublisher();
  const wentLive = await check("channel goes live when the publisher starts", () => waitFor("channel live in the API", channelLive, 30_000));

  const viewer = await openWatch(browser, "anonymous");
  const played = await check("live video plays (time advances, no errors)", async () => {
    if (!wentLive) throw new Error("skipped: the channel never went live");
    const s = await waitAdvancing(viewer.page, 3, 45_000);
    return `t=${s.t.toFixed(1)} s, latency ${s.latency === null ? "n/a" : `${(s.latency / 1000).toFixed(2)} s`}`;
  });

  await check("publisher killed and restarted → playback resumes by itself", async () => {
    if (!played) throw new Error("skipped: video never played");
    await viewer.page.evaluate(() => (window.__noReload = true));
    killPublisher();
    // The page notices: offline card, or time stops advancing.
    await waitFor("the page to notice the stream stopped", async () => {
      const a = await probe(viewer.page);
      await new Promise((r) => setTimeout(r, 1500));
      const b = await probe(viewer.page);
      return b.state === "offline" || b.t === a.t;
    }, 45_000);
    const restartedAt = Date.now();
    startPublisher();
    const s = await waitAdvancing(viewer.page, 1, 60_000, (p) => p.playingDate === null || p.playingDate >= restartedAt - 1500);
    const took = Date.now() - restartedAt;
    if (!(await viewer.page.evaluate(() => window.__noReload === true))) throw new Error("the page reloaded");
    if (took > RESUME_BOUND_MS) throw new Error(`resumed only after ${(took / 1000).toFixed(1)} s (bound ${RESUME_BOUND_MS / 1000} s)`);
    return `resumed ${(took / 1000).toFixed(1)} s after the publisher restarted, state ${s.state}`;
  });

  await check("the interrupted broadcast is kept as a past broadcast and plays", async () => {
    if (!wentLive) throw new Error("skipped: the channel never went live");
    const vods = await waitFor("a past broadcast in the API", async () => {
      const res = await fetch(`${BASE}/api/v1/channels/${CHANNEL}/vods`);
      const body = res.ok ? await res.json() : null;
      return body?.vods?.length > 0 ? body.vods : null;
    }, 30_000);
    const { page, context } = await openWatch(browser, "vod");
    await page.locator(`a.vod-card[href$="?vod=${vods[vods.length - 1].id}"]`).click();
    await page.waitForSelector(".vod-banner", { timeout: 15_000 });
    const s = await waitAdvancing(page, 1, 30_000);
    await context.close();
    return `${vods.length} past broadcast(s); played to t=${s.t.toFixed(1)} s`;
  });

  const owner = await openWatch(browser, "owner");
  const guest = await openWatch(browser, "viewer");
  const stamp = Date.now().toString(36);
  const signedIn = await check("owner and viewer sign in from the chat panel", async () => {
    await signIn(owner.page, CHANNEL, OWNER_PASSWORD);
    await signIn(guest.page, VIEWER, VIEWER_PASSWORD);
  });

  await check("chat round trip between two browser contexts", async () => {
    if (!signedIn) throw new Error("skipped: not signed in");
    await say(guest.page, `hello from ${VIEWER} ${stamp}`);
    await messageLocator(owner.page, `hello from ${VIEWER} ${stamp}`).waitFor({ timeout: 15_000 });
    await say(owner.page, `welcome ${stamp}`);
    await messageLocator(guest.page, `welcome ${stamp}`).waitFor({ timeout: 15_000 });
    // The anonymous viewer reads along.
    await messageLocator(viewer.page, `welcome ${stamp}`).waitFor({ timeout: 15_000 });
  });

  await check("a moderator deletes a message → gone in the other context", async () => {
    if (!signedIn) throw new Error("skipped: not signed in");
    const text = `delete me ${stamp}`;
    await say(guest.page, text);
    const inOwner = messageLocator(owner.page, text);
    await inOwner.waitFor({ timeout: 15_000 });
    await messageLocator(guest.page, text).waitFor({ timeout: 15_000 });
    await inOwner.hover();
    await inOwner.getByRole("button", { name: `Delete message from ${VIEWER}` }).click();
    await messageLocator(guest.page, text).waitFor({ state: "detached", timeout: 15_000 });
    await messageLocator(viewer.page, text).waitFor({ state: "detached", timeout: 15_000 });
    await inOwner.waitFor({ state: "detached", timeout: 15_000 });
  });

  await check("an XSS payload shows as text", async () => {
    if (!signedIn) throw new Error("skipped: not signed in");
    const payload = `<img src=x onerror="window.__xss=1"> ${stamp}`;
    await say(guest.page, payload);
    for (const { page } of [owner, guest, viewer]) {
      const msg = messageLocator(page, stamp).last();
      await msg.waitFor({ timeout: 15_000 });
      const shown = await msg.locator(".msg-text").textContent();
      if (shown !== payload) throw new Error(`rendered as ${JSON.stringify(shown)}`);
      const injected = await page.evaluate(() => ({
        img: document.querySelectorAll(".chat-list img").length,
        xss: window.__xss ?? null,
      }));
      if (injected.img !== 0 || injected.xss !== null) throw new Error(`HTML was injected: ${JSON.stringify(injected)}`);
    }
  });

  await check("375×667: chat under the video, no sideways scroll, screenshot", async () => {
    const phone = await openWatch(browser, "phone", VIEWPORTS.phone);
    if (played) await waitAdvancing(phone.page, 1, 45_000);
    const layout = await phone.page.evaluate(() => {
      const video = document.querySelector(".stage-video").getBoundingClientRect();
      const chat = document.querySelector(".chat").getBoundingClientRect();
      return { videoBottom: video.bottom, chatTop: chat.top, chatHeight: chat.height, scrollWidth: document.documentElement.scrollWidth };
    });
    const file = join(ARTIFACTS, "player-375x667.png");
    await phone.page.screenshot({ path: file });
    await phone.context.close();
    if (layout.chatTop < layout.videoBottom) throw new Error(`chat overlaps the video: ${JSON.stringify(layout)}`);
    if (layout.chatHeight < 200) throw new Error(`chat too small: ${JSON.stringify(layout)}`);
    if (layout.scrollWidth > 375) throw new Error(`page is ${layout.scrollWidth}px wide`);
    return file;
  });

  await owner.page.screenshot({ path: join(ARTIFACTS, "player-desktop.png") });
  await check("no console errors", async () => {
    if (consoleErrors.length > 0) throw new Error(`\n  ${consoleErrors.join("\n  ")}`);
  });
} catch (e) {
  failed++;
  console.log(`FAIL journey aborted: ${e instanceof Error ? e.stack : e}`);
} finally {
  killPublisher();
  await close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
