// Memory of the real studio while live at 720p30 with preview, driven like the journey
// (Xvfb + tauri-driver): built-in server → sign up → profile → preview → Go Live with the
// test source, then samples /proc for SECONDS and prints the numbers; then relaunches
// (session from the keyring) and times launch → first preview frame.
// Usage: node ui/e2e/studio-memory.bench.mjs /path/to/aethex-studio [SECONDS]
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { WebDriver } from "./webdriver.mjs";

const [app, secondsArg = "30"] = process.argv.slice(2);
const seconds = Number(secondsArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (what, fn, timeoutMs = 60000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
};

// ---- /proc readers (kB → MB) ----
const mb = (kb) => kb / 1024;
const rollup = (pid) => {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k) => Number((text.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")) ?? [0, 0])[1]);
  return { rss: kb("Rss"), pss: kb("Pss"), anon: kb("Anonymous"), file: kb("Rss") - kb("Anonymous") };
};
const comm = (pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim();
const children = (pid) => {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch { /* thread gone */ }
  }
  return out;
};
const descendants = (pid) => children(pid).flatMap((k) => [k, ...descendants(k)]);
const threads = (pid) => readdirSync(`/proc/${pid}/task`).length;
/** Rss per mapping name from /proc/PID/smaps, biggest first. */
const mappings = (pid) => {
  const by = new Map();
  let name = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) {
      name = head[1] || "[anon mmap]";
      continue;
    }
    const m = line.match(/^Rss:\s+(\d+)/);
    if (m) by.set(name, (by.get(name) ?? 0) + Number(m[1]));
  }
  return [...by.entries()].sort((a, b) => b[1] - a[1]);
};

const session = () =>
  WebDriver.start("http://127.0.0.1:4444", { browserName: "wry", "tauri:options": { application: app } });
const studioPid = () => Number(execFileSync("pgrep", ["-n", "-f", `^${app}`]).toString().trim());

const stamp = Date.now().toString(36).slice(-6);
const launched = Date.now();
const driver = await session();
const js = (script, args = []) => driver.execute(script, args);
const visible = (css) => js(`const e=document.querySelector(arguments[0]); return !!e && e.offsetParent !== null;`, [css]);
const clickJs = (css) => js(`document.querySelector(arguments[0]).click(); return true;`, [css]);
const setValue = async (css, value) => driver.type(await driver.waitFor(css), value);

try {
  await until("boot", () => js("return document.body.dataset.ready === '1'"));
  console.log(`launch → window ready: ${Date.now() - launched} ms`);
  await until("server step", () => visible("#step-server"));
  await clickJs("#btn-local");
  await until("account step", () => visible("#step-account"));
  await setValue("#username", `bench_${stamp}`);
  await setValue("#password", "correct horse battery staple");
  await clickJs("#btn-auth");
  await until("profile step", () => visible("#step-profile"));
  await clickJs("#btn-profile");
  const opened = Date.now();
  await until("a preview frame", () => js("return Number(document.body.dataset.previewFrames||0) > 0"));
  console.log(`studio opened (after onboarding) → first preview frame: ${Date.now() - opened} ms`);
  await setValue("#title", "Memory bench");
  await clickJs("#btn-golive");
  await until("End Stream button", () => visible("#btn-end"));
  await sleep(3000); // let the encoder, outputs and the server's ingest settle

  const pid = studioPid();
  // utime + stime in clock ticks (100 Hz on Linux), fields 14 and 15 of /proc/PID/stat.
  const cpuTicks = (p) => {
    const f = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  const cpuStart = cpuTicks(pid);
  const wallStart = Date.now();
  const samples = [];
  const framesBefore = Number(await js("return document.body.dataset.previewFrames||0"));
  for (let i = 0; i < seconds; i++) {
    const s = rollup(pid);
    const kids = { webkit: { rss: 0, pss: 0 }, server: { rss: 0, pss: 0 }, other: { rss: 0, pss: 0 } };
    for (const k of descendants(pid)) {
      try {
        const r = rollup(k);
        const c = comm(k);
        const slot = c.startsWith("WebKit") ? kids.webkit : c.startsWith("aethex-server") ? kids.server : kids.other;
        slot.rss += r.rss;
        slot.pss += r.pss;
      } catch { /* exited */ }
    }
    samples.push({ ...s, kids, threads: threads(pid) });
    await sleep(1000);
  }
  const cpuPercent = ((cpuTicks(pid) - cpuStart) / 100 / ((Date.now() - wallStart) / 1000)) * 100;
  const framesAfter = Number(await js("return document.body.dataset.previewFrames||0"));
  const live = await visible("#btn-end");
  const stat = (f) => {
    const v = samples.map(f);
    return `avg ${mb(v.reduce((a, b) => a + b, 0) / v.length).toFixed(0)} / max ${mb(Math.max(...v)).toFixed(0)} MB`;
  };
  console.log(`\nlive at 720p30 with preview, ${samples.length} samples (1/s), still live: ${live}, ` +
    `preview ${((framesAfter - framesBefore) / seconds).toFixed(1)} frames/s`);
  console.log(`studio process  RSS ${stat((s) => s.rss)}  (anonymous ${stat((s) => s.anon)}, file-backed ${stat((s) => s.file)})`);
  console.log(`studio process  PSS ${stat((s) => s.pss)}  threads ${samples.at(-1).threads}  CPU ${cpuPercent.toFixed(0)} % of one core`);
  console.log(`WebKit children RSS ${stat((s) => s.kids.webkit.rss)}  PSS ${stat((s) => s.kids.webkit.pss)}`);
  console.log(`built-in server child RSS ${stat((s) => s.kids.server.rss)}  PSS ${stat((s) => s.kids.server.pss)}`);
  if (samples.some((s) => s.kids.other.rss)) console.log(`other children RSS ${stat((s) => s.kids.other.rss)}`);
  console.log(`all together    PSS ${stat((s) => s.pss + s.kids.webkit.pss + s.kids.server.pss + s.kids.other.pss)}`);
  console.log("\nstudio process, biggest mappings by RSS:");
  for (const [name, kb] of mappings(pid).slice(0, 14)) console.log(`  ${mb(kb).toFixed(1).padStart(7)} MB  ${name}`);
  for (const k of descendants(pid)) {
    try {
      const name = comm(k);
      if (!name.startsWith("WebKit")) continue;
      const r = rollup(k);
      console.log(`\n${name} (pid ${k}): RSS ${mb(r.rss).toFixed(0)} MB (anonymous ${mb(r.anon).toFixed(0)}, file-backed ${mb(r.file).toFixed(0)}), PSS ${mb(r.pss).toFixed(0)} MB; biggest mappings:`);
      for (const [m, kb] of mappings(k).slice(0, 6)) console.log(`  ${mb(kb).toFixed(1).padStart(7)} MB  ${m}`);
    } catch { /* exited */ }
  }
  await clickJs("#btn-end");
  await until("Go Live again", () => visible("#btn-golive"), 30000);
} finally {
  await driver.quit();
}

// Relaunch: the session comes back from the keyring, so this is launch → first frame.
await sleep(1000);
const relaunched = Date.now();
const again = await session();
try {
  await until("a preview frame", () => again.execute("return Number(document.body.dataset.previewFrames||0) > 0"));
  console.log(`\nrelaunch (signed in) → first preview frame: ${Date.now() - relaunched} ms`);
} finally {
  await again.quit();
}
