#!/usr/bin/env node
// Glass-to-glass latency benchmark (a measurement, not a test): opens the
// watch page of a channel that is being published to, and samples
// `Date.now() - hls.playingDate` (the wall clock minus the capture time of the
// frame on screen, from EXT-X-PROGRAM-DATE-TIME) every 250 ms.
//
//   E2E_BASE_URL=… E2E_CHANNEL=… [BENCH_SECONDS=30] node e2e/latency.mjs
// prints samples, min, p50, p95, max in seconds and how often playback stalled.

import { launch, VIEWPORTS } from "./browser.mjs";

const BASE = process.env.E2E_BASE_URL;
const CHANNEL = process.env.E2E_CHANNEL;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
if (!BASE || !CHANNEL) {
  console.error("set E2E_BASE_URL and E2E_CHANNEL");
  process.exit(2);
}

const pct = (sorted, p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];

const { browser, close } = await launch();
try {
  const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
  await page.goto(`${BASE}/${CHANNEL}`);
  await page.waitForFunction(() => window.__aethexPlayer?.playbackState === "playing", null, { timeout: 60_000 });
  // Let the player settle on its target latency before measuring.
  await page.waitForTimeout(5000);
  await page.evaluate(() => {
    window.__stalls = 0;
    document.querySelector("video")?.addEventListener("waiting", () => window.__stalls++);
  });
  const samples = [];
  const behindEdge = [];
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    const [ms, edge] = await page.evaluate(() => {
      const p = window.__aethexPlayer;
      return [p?.latencyMs() ?? null, p?.secondsBehindLive() ?? null];
    });
    if (ms !== null) samples.push(ms);
    if (edge !== null) behindEdge.push(edge * 1000);
    await page.waitForTimeout(250);
  }
  if (samples.length === 0) throw new Error("no program date on the playlist: cannot measure");
  const stalls = await page.evaluate(() => window.__stalls);
  const s = [...samples].sort((a, b) => a - b);
  const f = (ms) => (ms / 1000).toFixed(3);
  console.log(`glass-to-glass over ${SECONDS} s: samples=${s.length} min=${f(s[0])} s p50=${f(pct(s, 50))} s p95=${f(pct(s, 95))} s max=${f(s[s.length - 1])} s stalls=${stalls} (target ≤ 1.5 s)`);
  const e = [...behindEdge].sort((a, b) => a - b);
  const target = await page.evaluate(() => window.__aethexPlayer?.engine?.targetLatency ?? null);
  if (e.length > 0) {
    console.log(`  of which behind the playlist's live edge: p50=${f(pct(e, 50))} s (player target ${target ?? "n/a"} s); the rest is capture → listed in the playlist`);
  }
} finally {
  await close();
}
