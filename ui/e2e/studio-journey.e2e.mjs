// The creator's whole journey in the real studio window (Xvfb + tauri-driver):
// sign up → onboarding → go live with the test source → HLS on the server → a chat
// message from a second WebSocket client shows in the studio → the creator deletes it
// → it disappears for the other client → viewer count 1 while it watches → end stream.
// Prints `studio journey: N passed, N failed`; screenshots go to ARTIFACT_DIR.
// Usage: node ui/e2e/studio-journey.e2e.mjs /path/to/aethex-studio ARTIFACT_DIR
// (JOURNEY_SERVER_EXE: the built-in server's expected binary; JOURNEY_T0_MS: epoch ms
// an install began, for the install → live measure.)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import WebSocket from "ws";
import { WebDriver } from "./webdriver.mjs";

const [app, artifacts = "tests/artifacts"] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
let passed = 0;
let failed = 0;
const results = [];
const check = async (name, fn) => {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message ?? e}`);
    return false;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (what, fn, timeoutMs = 30000) => {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(250);
  }
};

const stamp = Date.now().toString(36).slice(-6);
const creator = `creator_${stamp}`;
const viewer = `viewer_${stamp}`;
const password = "correct horse battery staple";

const launched = Date.now();
const driver = await WebDriver.start("http://127.0.0.1:4444", {
  browserName: "wry",
  "tauri:options": { application: app },
});
const js = (script, args = []) => driver.execute(script, args);
const visible = (css) => js(`const e=document.querySelector(arguments[0]); return !!e && e.offsetParent !== null;`, [css]);
const clickJs = (css) => js(`document.querySelector(arguments[0]).click(); return true;`, [css]);
const setValue = async (css, value) => {
  const el = await driver.waitFor(css);
  await driver.type(el, value);
};
const shot = async (name) => {
  const png = await driver.screenshot();
  writeFileSync(`${artifacts}/${name}.png`, Buffer.from(png, "base64"));
};

let serverUrl = "";
let ws = null;
const wsFrames = [];
try {
  await check("the studio boots on the built-in server offer", async () => {
    await until("boot", () => js("return document.body.dataset.ready === '1'"), 60000);
    console.log(`measure: launch → window ready ${Date.now() - launched} ms`);
    await until("server step", () => visible("#step-server"));
    await shot("1-onboarding-server");
  });

  await check("a wrong password says so in the window", async () => {
    await clickJs("#btn-local");
    await until("account step", () => visible("#step-account"), 30000);
    serverUrl = await js("return document.body.dataset.server");
    if (!serverUrl.startsWith("http://127.0.0.1:")) throw new Error(`server ${serverUrl}`);
    await clickJs("#tab-signin");
    await setValue("#username", creator);
    await setValue("#password", "not the password");
    await clickJs("#btn-auth");
    const text = await until("the error box", async () =>
      (await visible("#onboard-error")) && js("return document.querySelector('#onboard-error').textContent"), 20000);
    if (!/wrong username or password/i.test(text)) throw new Error(`error box said ${JSON.stringify(text)}`);
    await shot("2a-onboarding-wrong-password");
    await clickJs("#tab-signup");
    await js("document.querySelector('#username').value=''; document.querySelector('#password').value=''; return true;");
  });

  await check("sign up on the built-in server", async () => {
    await setValue("#username", creator);
    await setValue("#password", password);
    await shot("2-onboarding-account");
    await clickJs("#btn-auth");
    await until("profile step", () => visible("#step-profile"), 30000);
  });

  await check("onboarding sets display name and bio", async () => {
    await js("document.querySelector('#display-name').value=''; return true;");
    await setValue("#display-name", "Creator Journey");
    await setValue("#bio", "Streaming the e2e test pattern");
    await shot("3-onboarding-profile");
    await clickJs("#btn-profile");
    globalThis.studioOpened = Date.now();
    await until("studio", () => visible("#studio"), 30000);
    const ch = await (await fetch(`${serverUrl}/api/v1/channels/${creator}`)).json();
    if (ch.display_name !== "Creator Journey" || ch.bio !== "Streaming the e2e test pattern") {
      throw new Error(`channel ${JSON.stringify(ch)}`);
    }
  });

  await check("the preview shows engine frames", async () => {
    await until("a preview frame", () => js("return Number(document.body.dataset.previewFrames||0) > 0"), 60000);
    const firstFrameMs = Date.now() - launched;
    console.log(`measure: launch → first preview frame (incl. onboarding clicks) ${firstFrameMs} ms; studio opened → first frame ${Date.now() - globalThis.studioOpened} ms`);
    await sleep(1500);
    await shot("4-studio-preview");
  });

  let goneLive = await check("go live with the test source", async () => {
    await setValue("#title", "Journey stream");
    await clickJs("#btn-golive");
    await until("End Stream button", () => visible("#btn-end"), 60000);
    console.log(`measure: launch → live ${Date.now() - launched} ms`);
    // Set by scripts/e2e/packages.sh: when the package install began.
    if (process.env.JOURNEY_T0_MS) {
      console.log(`measure: install → live ${((Date.now() - Number(process.env.JOURNEY_T0_MS)) / 1000).toFixed(1)} s`);
    }
    await sleep(3000);
    await shot("5-studio-live");
  });

  if (goneLive) {
    await check("studio memory while live at 720p30 with preview", async () => {
      const pid = execFileSync("pgrep", ["-n", "-x", "aethex-studio"]).toString().trim();
      const rss = Number(execFileSync("ps", ["-o", "rss=", "-p", pid]).toString().trim()) / 1024;
      let webkit = 0;
      let server = 0;
      try {
        const kids = execFileSync("pgrep", ["-P", pid]).toString().trim().split(/\s+/);
        for (const k of kids) {
          const mb = Number(execFileSync("ps", ["-o", "rss=", "-p", k]).toString().trim()) / 1024;
          const name = readFileSync(`/proc/${k}/comm`, "utf8").trim();
          if (name.startsWith("aethex-server")) server += mb;
          else webkit += mb;
        }
      } catch { /* no children */ }
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const kb = (k) => Number((roll.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")) ?? [0, 0])[1]) / 1024;
      console.log(
        `measure: studio RSS live 720p30 ${rss.toFixed(0)} MB (anonymous ${kb("Anonymous").toFixed(0)} MB, ` +
          `file-backed ${(kb("Rss") - kb("Anonymous")).toFixed(0)} MB; + WebKit children ${webkit.toFixed(0)} MB, ` +
          `+ built-in server child ${server.toFixed(0)} MB; scripts/bench/studio-memory.sh for the full picture)`,
      );
    });
  }

  if (process.env.JOURNEY_SERVER_EXE) {
    await check(`the built-in server runs ${process.env.JOURNEY_SERVER_EXE}`, async () => {
      const pid = execFileSync("pgrep", ["-n", "-x", "aethex-studio"]).toString().trim();
      const kids = execFileSync("pgrep", ["-P", pid]).toString().trim().split(/\s+/);
      const exes = kids.map((k) => { try { return readlinkSync(`/proc/${k}/exe`); } catch { return ""; } });
      if (!exes.includes(process.env.JOURNEY_SERVER_EXE)) throw new Error(`children run ${exes.join(", ")}`);
    });
  }

  await check("HLS appears on the server", async () => {
    await until("the live playlist", async () => {
      const r = await fetch(`${serverUrl}/hls/${creator}/index.m3u8`);
      return r.ok && (await r.text()).includes("#EXTM3U");
    }, 45000);
  });

  await check("a chat message from a second client shows in the studio", async () => {
    const reg = await fetch(`${serverUrl}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: viewer, password }),
    });
    if (!reg.ok) throw new Error(`register viewer: ${reg.status}`);
    const { token } = await reg.json();
    ws = new WebSocket(`${serverUrl.replace("http", "ws")}/ws/chat/${creator}?token=${encodeURIComponent(token)}`);
    ws.on("message", (d) => wsFrames.push(JSON.parse(String(d))));
    await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
    await until("hello", () => wsFrames.some((f) => f.type === "hello"), 15000);
    ws.send(JSON.stringify({ type: "send", text: "hello from the journey" }));
    await until("the message in the studio", () =>
      js("return [...document.querySelectorAll('.chat-msg .text')].some(e => e.textContent === 'hello from the journey')"), 20000);
    await shot("6-studio-chat");
  });

  await check("the viewer count reads 1 while the other client watches", async () => {
    const seen = new Set();
    try {
      await until("viewers = 1", async () => {
        const v = await js("return document.querySelector('#viewer-count').textContent");
        seen.add(v);
        return v === "1";
      }, 20000);
    } catch (e) {
      throw new Error(`${e.message}; the studio showed ${[...seen].join(", ")}`);
    }
  });

  await check("the creator deletes it and it disappears for the other client", async () => {
    const msg = wsFrames.find((f) => f.type === "message" && f.text === "hello from the journey");
    if (!msg) throw new Error("the other client never got its own message back");
    await clickJs(`.chat-msg[data-id="${msg.id}"] .del`);
    await until("gone in the studio", () => js(`return !document.querySelector('.chat-msg[data-id="${msg.id}"]')`), 15000);
    await until("deleted for the other client", () => wsFrames.some((f) => f.type === "deleted" && f.id === msg.id), 15000);
  });

  await check("end the stream", async () => {
    await clickJs("#btn-end");
    await until("Go Live again", () => visible("#btn-golive"), 30000);
    await shot("7-studio-ended");
  });

  await check("settings are remembered and the store holds no key", async () => {
    await clickJs("#btn-settings");
    await js("document.querySelector('#set-fps').value='24'; return true;");
    await js("document.querySelector('#form-settings').requestSubmit(); return true;");
    await until("settings saved", async () => {
      const s = JSON.parse(await js("return window.__TAURI_INTERNALS__.invoke('load_settings').then(JSON.stringify)"));
      return s.fps === 24;
    }, 15000);
    const key = await js("return window.__TAURI_INTERNALS__.invoke('reveal_key', {name: 'own server', own: true})");
    if (!key || key.length < 16) throw new Error("no own stream key in the keyring");
    // tauri-plugin-store keeps relative paths in the app data dir.
    const store = `${process.env.XDG_DATA_HOME}/live.aethex.studio/studio.json`;
    const text = readFileSync(store, "utf8");
    if (text.includes(key)) throw new Error("the stream key is in the store file");
    if (!text.includes('"fps": 24') && !text.includes('"fps":24')) throw new Error(`store: ${text.slice(0, 300)}`);
  });
} finally {
  if (ws) ws.close();
  await driver.quit();
}

// Second launch: the session comes back from the keyring, onboarding is skipped.
await sleep(1000);
const again = await WebDriver.start("http://127.0.0.1:4444", {
  browserName: "wry",
  "tauri:options": { application: app },
});
try {
  await check("the next launch resumes the session and the settings", async () => {
    const relaunched = Date.now();
    await until("the studio", async () =>
      (await again.execute("const e=document.querySelector('#studio'); return !!e && e.offsetParent !== null;")) === true, 60000);
    const name = await again.execute("return document.querySelector('#me-name').textContent");
    if (name !== "Creator Journey") throw new Error(`signed in as ${JSON.stringify(name)}`);
    const s = JSON.parse(await again.execute("return window.__TAURI_INTERNALS__.invoke('load_settings').then(JSON.stringify)"));
    if (s.fps !== 24) throw new Error(`fps ${s.fps}`);
    await until("a preview frame", () => again.execute("return Number(document.body.dataset.previewFrames||0) > 0"), 60000);
    console.log(`measure: relaunch (signed in) → first preview frame ${Date.now() - relaunched} ms`);
    const png = await again.screenshot();
    writeFileSync(`${artifacts}/8-relaunch.png`, Buffer.from(png, "base64"));
  });
} finally {
  await again.quit();
}
console.log(`studio journey: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
