// Minimal W3C WebDriver client over fetch (tauri-driver speaks plain WebDriver;
// no extra dependency needed).

export class WebDriver {
  constructor(base, sessionId) {
    this.base = base;
    this.sessionId = sessionId;
  }

  static async start(base, capabilities, timeoutMs = 60000) {
    const deadline = Date.now() + timeoutMs;
    let lastErr;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${base}/session`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ capabilities: { alwaysMatch: capabilities } }),
        });
        const body = await res.json();
        if (res.ok && body.value?.sessionId) return new WebDriver(base, body.value.sessionId);
        lastErr = new Error(JSON.stringify(body));
      } catch (e) {
        lastErr = e;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`could not start a WebDriver session: ${lastErr}`);
  }

  async cmd(method, path, body) {
    const res = await fetch(`${this.base}/session/${this.sessionId}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  title() { return this.cmd("GET", "/title"); }
  execute(script, args = []) { return this.cmd("POST", "/execute/sync", { script, args }); }
  async find(css) {
    const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return Object.values(v)[0];
  }
  text(el) { return this.cmd("GET", `/element/${el}/text`); }
  click(el) { return this.cmd("POST", `/element/${el}/click`, {}); }
  type(el, text) { return this.cmd("POST", `/element/${el}/value`, { text }); }
  screenshot() { return this.cmd("GET", "/screenshot"); }
  async waitFor(css, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.find(css);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${css}: ${e.message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  async quit() {
    try { await fetch(`${this.base}/session/${this.sessionId}`, { method: "DELETE" }); } catch { /* gone */ }
  }
}
