// The real studio window under Xvfb, driven through tauri-driver + WebKitWebDriver:
// the window opens, loads the studio front-end and answers a Rust command.
// Usage: node ui/e2e/studio-smoke.e2e.mjs /path/to/aethex-studio ARTIFACT_DIR
import { writeFileSync, mkdirSync } from "node:fs";
import { WebDriver } from "./webdriver.mjs";

const [app, artifacts = "tests/artifacts"] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
let passed = 0;
let failed = 0;
const check = async (name, fn) => {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
};

const driver = await WebDriver.start("http://127.0.0.1:4444", {
  browserName: "wry",
  "tauri:options": { application: app },
});
try {
  await check("the studio window opens with its title", async () => {
    const title = await driver.title();
    if (!title.includes("AeThex Studio")) throw new Error(`title was ${JSON.stringify(title)}`);
  });
  await check("the front-end runs and reaches a Rust command", async () => {
    const info = await driver.execute(
      "return window.__TAURI_INTERNALS__.invoke('app_info').then(v => JSON.stringify(v))",
    );
    const parsed = JSON.parse(await info);
    if (!String(parsed.gstreamer).includes("GStreamer")) throw new Error(`app_info: ${info}`);
  });
  await check("the studio page renders", async () => {
    const app = await driver.waitFor("#app");
    const text = await driver.text(app);
    if (!text.trim()) throw new Error("the studio page is empty");
  });
  await check("a screenshot of the window is saved", async () => {
    const png = await driver.screenshot();
    writeFileSync(`${artifacts}/studio-smoke.png`, Buffer.from(png, "base64"));
  });
} finally {
  await driver.quit();
}
console.log(`studio: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
