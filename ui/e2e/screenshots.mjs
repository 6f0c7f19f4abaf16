#!/usr/bin/env node
// Screenshots of the home and watch pages at desktop and 375×667 size.
//   node e2e/screenshots.mjs BASE_URL CHANNEL OUT_DIR
// plus OFFLINE_CHANNEL's offline card, a past broadcast and the sign-in dialog
// when OFFLINE_CHANNEL is given (the journey takes its own; this one is for
// looking at the design).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, VIEWPORTS } from "./browser.mjs";

const [base = "http://127.0.0.1:4610", channel = "demo", out = "../tests/artifacts", offline] = process.argv.slice(2);
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
    if (offline) {
      await page.goto(`${base}/${offline}`);
      await page.waitForSelector(".offline-card", { timeout: 15_000 });
      await page.screenshot({ path: join(out, `offline-${name}.png`) });
      const vod = page.locator("a.vod-card").first();
      if ((await vod.count()) > 0) {
        await vod.click();
        await page.waitForSelector(".vod-banner", { timeout: 15_000 });
        await page.waitForTimeout(2500);
        await page.screenshot({ path: join(out, `vod-${name}.png`) });
      }
      await page.getByRole("button", { name: "Sign in to chat" }).click();
      await page.waitForSelector("dialog[open]");
      await page.screenshot({ path: join(out, `signin-${name}.png`) });
    }
    await context.close();
  }
} finally {
  await close();
}
console.log(errors.length ? `console errors:\n${errors.join("\n")}` : "no console errors");
