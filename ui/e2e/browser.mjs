// Shared Chromium launcher for the player's browser scripts: Debian's
// chromium through playwright-core, headless, with a fresh profile.

import { chromium } from "playwright-core";

/** Flags proven to work on this machine (see shared/platform-facts.md). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches Chromium; returns the browser and a `close()`. Playwright gives
 * every `launch()` a fresh temporary user-data-dir (it refuses an explicit
 * `--user-data-dir`, which only `launchPersistentContext` accepts, and that
 * would allow a single context), and removes it on close.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/** Viewports the player is checked at. */
export const VIEWPORTS = {
  desktop: { width: 1366, height: 800 },
  phone: { width: 375, height: 667 },
};
