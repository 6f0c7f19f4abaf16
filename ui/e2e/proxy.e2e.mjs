#!/usr/bin/env node
// The player behind nginx over HTTPS (self-signed certificate), started by
// scripts/e2e/proxy.sh once the channel is live through the proxy.
//
// Environment:
//   E2E_BASE_URL        https://127.0.0.1:PORT of nginx
//   E2E_CHANNEL         the live channel (= the owner's username)
//   E2E_OWNER_PASSWORD  the owner's password (to chat)
//   E2E_ARTIFACTS       where the screenshot goes
//
// Prints one line per check and ends with `N passed, N failed`; exits 1 on failure.

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
const ARTIFACTS = env("E2E_ARTIFACTS", "tests/artifacts");

let passed = 0;
let failed = 0;
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

mkdirSync(ARTIFACTS, { recursive: true });
const { browser, close } = await launch();
try {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${BASE}/${CHANNEL}`);
  await page.waitForSelector(".chat-list");

  await check("player plays the live stream over HTTPS through nginx", async () => {
    let base = null;
    const now = await waitFor("video time to advance 2 s", async () => {
      const s = await page.evaluate(() => {
        const v = document.querySelector("video");
        return { t: v ? v.currentTime : -1, state: window.__aethexPlayer?.playbackState ?? "none", error: v?.error?.code ?? null };
      });
      if (s.error) throw new Error(`media error ${s.error}`);
      if (s.state !== "playing") return null;
      if (base === null || s.t < base.t) base = s;
      return s.t - base.t >= 2 ? s : null;
    }, 30_000);
    return `t=${now.t.toFixed(1)} s`;
  });

  await check("the player's playlist requests are LL-HLS blocking reloads through nginx", async () => {
    const reloads = await page.evaluate(() =>
      performance.getEntriesByType("resource").filter((e) => e.name.includes("_HLS_msn=")).map((e) => e.name),
    );
    if (reloads.length === 0) throw new Error("no request with _HLS_msn");
    const elsewhere = reloads.find((u) => !u.startsWith(`${BASE}/hls/`));
    if (elsewhere) throw new Error(`not through the proxy: ${elsewhere}`);
    return `${reloads.length} blocking reloads`;
  });

  await check("chat WebSocket connects through nginx (wss://) and round-trips a message", async () => {
    await page.getByRole("button", { name: "Sign in to chat" }).click();
    await page.fill("#auth-username", CHANNEL);
    await page.fill("#auth-password", OWNER_PASSWORD);
    await page.locator("dialog form button[type=submit]").click();
    await page.waitForSelector(".chat-input:not([disabled])", { timeout: 15_000 });
    const text = `hello through nginx ${Date.now()}`;
    await page.fill(".chat-input", text);
    await page.press(".chat-input", "Enter");
    await page.locator("li.msg", { has: page.locator(".msg-text", { hasText: text }) }).waitFor({ timeout: 15_000 });
    const wss = sockets.filter((u) => u.startsWith(BASE.replace(/^https:/, "wss:")));
    if (wss.length === 0) throw new Error(`no wss:// socket to the proxy (saw ${sockets.join(", ") || "none"})`);
    // The message is stored: the history API through the proxy has it too.
    const history = await page.evaluate(async (c) => (await (await fetch(`/api/v1/channels/${c}/chat`)).json()).messages, CHANNEL);
    if (!history.some((m) => m.text === text)) throw new Error("message missing from the chat history");
    return wss[wss.length - 1].replace(/token=[^&]*/, "token=…");
  });

  await page.screenshot({ path: join(ARTIFACTS, "proxy-player-https.png") });
  await context.close();
} catch (e) {
  failed++;
  console.log(`FAIL proxy journey aborted: ${e instanceof Error ? e.message : e}`);
} finally {
  await close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
