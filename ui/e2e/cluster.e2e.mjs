#!/usr/bin/env node
// Cluster player journey in Chromium: the stream is published to node A; a
// viewer watches through node B (which does not own the stream and forwards
// live HLS to A), another through A. Chat sent on one node shows on the
// other, and the viewer count is the cluster total. Started by
// scripts/e2e/cluster-player.sh, which starts PostgreSQL, Redis, both nodes
// and the publisher.
//
// Environment: E2E_NODE_A, E2E_NODE_B (http://HOST:PORT), E2E_CHANNEL,
// E2E_VIEWER_USER / E2E_VIEWER_PASSWORD, E2E_ARTIFACTS.
// Prints one line per check and ends with `N passed, N failed`; exits 1 on failure.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, VIEWPORTS } from "./browser.mjs";

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return v;
};
const A = env("E2E_NODE_A");
const B = env("E2E_NODE_B");
const CHANNEL = env("E2E_CHANNEL");
const VIEWER = env("E2E_VIEWER_USER");
const VIEWER_PASSWORD = env("E2E_VIEWER_PASSWORD");
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? "tests/artifacts";

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

async function openWatch(browser, base, label) {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`${label}: ${msg.text()} ${msg.location()?.url ?? ""}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${label}: uncaught ${e.message}`));
  await page.goto(`${base}/${CHANNEL}`);
  await page.waitForSelector(".chat-list");
  return page;
}

/** Waits until the page's video has played `seconds` of new media. */
async function waitAdvancing(page, seconds, timeoutMs) {
  let base = null;
  return waitFor(`video time to advance ${seconds} s`, async () => {
    const now = await page.evaluate(() => {
      const v = document.querySelector("video");
      return { t: v ? v.currentTime : -1, state: window.__aethexPlayer?.playbackState ?? "none", error: v?.error?.code ?? null };
    });
    if (now.error) throw new Error(`media error ${now.error}`);
    if (now.state !== "playing") return null;
    if (base === null || now.t < base.t) base = now;
    return now.t - base.t >= seconds ? `${now.t.toFixed(1)} s played` : null;
  }, timeoutMs);
}

const messageLocator = (page, text) => page.locator("li.msg", { has: page.locator(".msg-text", { hasText: text }) });

mkdirSync(ARTIFACTS, { recursive: true });
const { browser, close } = await launch();
try {
  const onB = await openWatch(browser, B, "viewer on B");
  await check("the player on a node that does not own the stream plays it", () => waitAdvancing(onB, 3, 45_000));
  await check("that node's live HLS came from the owner", async () => {
    const r = await fetch(`${B}/hls/${CHANNEL}/index.m3u8`);
    const origin = r.headers.get("x-aethex-origin");
    if (r.status !== 200 || !origin) throw new Error(`status ${r.status}, x-aethex-origin ${origin}`);
    return `x-aethex-origin: ${origin}`;
  });
  const onA = await openWatch(browser, A, "viewer on A");
  await check("the player on the owner plays it too", () => waitAdvancing(onA, 2, 45_000));
  await check("the viewer count is the cluster total on both nodes", () =>
    waitFor("2 viewers on A and on B", async () => {
      const counts = await Promise.all([A, B].map(async (n) => (await (await fetch(`${n}/api/v1/channels/${CHANNEL}`)).json()).viewers));
      return counts.every((c) => c >= 2) ? `A ${counts[0]}, B ${counts[1]}` : null;
    }, 30_000));
  await check("chat sent through B shows on the page served by A", async () => {
    await onB.getByRole("button", { name: "Sign in to chat" }).click();
    await onB.fill("#auth-username", VIEWER);
    await onB.fill("#auth-password", VIEWER_PASSWORD);
    await onB.locator("dialog form button[type=submit]").click();
    await onB.waitForSelector(".chat-input:not([disabled])", { timeout: 15_000 });
    const text = `across the cluster ${Date.now()}`;
    await onB.fill(".chat-input", text);
    await onB.press(".chat-input", "Enter");
    await messageLocator(onA, text).waitFor({ timeout: 15_000 });
    await messageLocator(onB, text).waitFor({ timeout: 15_000 });
  });
  await onB.screenshot({ path: join(ARTIFACTS, "cluster-player-node-b.png") });
  await check("no console errors on either page", async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.slice(0, 5).join(" | "));
  });
} finally {
  await close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
