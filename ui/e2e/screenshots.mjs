#!/usr/bin/env node
// Screenshots of the home and watch pages at desktop and 375×667 size.
//   node e2e/screenshots.mjs BASE_URL CHANNEL OUT_DIR
// (the journey takes its own; this one is for looking at the design).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, VIEWPORTS } from "./browser.mjs";

const [base = "http://127.0.0.1:4610", channel = "demo", out = "../tests/artifacts"] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const { browser, close } = await launch();
const errors = [];
try {
  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && errors.push(`${name}: ${m.text()}`));
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    await page.goto(`${base}/`);
    await page.waitForSelector(".channel-grid, .offline-list, .empty-live", { timeout: 15_000 });
    await page.screenshot({ path: join(out, `home-${name}.png`) });
    await page.goto(`${base}/${channel}`);
    await page.waitForSelector(".chat-list", { timeout: 15_000 });
    await page
      .waitForFunction(() => (window.__aethexPlayer?.playbackState ?? "") === "playing", null, { timeout: 15_000 })
      .catch(() => undefined);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(out, `watch-${name}.png`) });
    await context.close();
  }
} finally {
  await close();
}
console.log(errors.length ? `console errors:\n${errors.join("\n")}` : "no console errors");
