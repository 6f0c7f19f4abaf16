// The chat panel against a scripted WebSocket: what the server sends is what
// the DOM shows, and user text never becomes markup.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerFrame } from "../../bindings/ServerFrame";
import { createChatPanel, type ChatPanel } from "./chatPanel";

class FakeSocket {
  static last: FakeSocket | null = null;
  static readonly OPEN = 1;
  readyState = 1;
  sent: unknown[] = [];
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  emit(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

const msg = (id: number, username: string, text: string) => ({ id, username, text, sent_at: "2026-01-01T00:00:00Z" });

let panel: ChatPanel | null = null;
beforeEach(() => {
  vi.stubGlobal("WebSocket", FakeSocket);
  localStorage.clear();
});
afterEach(() => {
  panel?.destroy();
  panel?.el.remove();
  panel = null;
  vi.unstubAllGlobals();
});

function mount() {
  panel = createChatPanel("alice", { onLive: vi.fn(), onViewers: vi.fn() });
  document.body.appendChild(panel.el);
  const ws = FakeSocket.last;
  if (!ws) throw new Error("no socket opened");
  return { el: panel.el, ws };
}

const texts = (el: HTMLElement) => [...el.querySelectorAll(".msg-text")].map((n) => n.textContent);

describe("chat panel", () => {
  it("connects anonymously to the channel's socket and offers sign-in", () => {
    const { el, ws } = mount();
    expect(ws.url).toMatch(/\/ws\/chat\/alice(\?viewer=[0-9a-f]{32})?$/);
    expect(ws.url).not.toContain("token=");
    ws.emit({ type: "hello", channel: "alice", username: null, role: "anonymous" });
    expect(el.querySelector(".chat-input")).toBeNull();
    expect(el.textContent).toContain("Sign in to chat");
  });

  it("renders an HTML payload as text, never as markup", () => {
    const { el, ws } = mount();
    const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
    ws.emit({ type: "hello", channel: "alice", username: null, role: "anonymous" });
    ws.emit({ type: "history", messages: [msg(1, "<b>mallory</b>", payload)] });
    ws.emit({ type: "message", ...msg(2, "bob", payload) });
    expect(texts(el)).toEqual([payload, payload]);
    expect(el.querySelector(".msg-user")?.textContent).toBe("<b>mallory</b>");
    expect(el.querySelectorAll("img, script, b")).toHaveLength(0);
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it("shows history then live messages, and removes deleted ones", () => {
    const { el, ws } = mount();
    ws.emit({ type: "hello", channel: "alice", username: null, role: "anonymous" });
    ws.emit({ type: "history", messages: [msg(1, "bob", "one"), msg(2, "bob", "two")] });
    ws.emit({ type: "message", ...msg(3, "carol", "three") });
    expect(texts(el)).toEqual(["one", "two", "three"]);
    ws.emit({ type: "deleted", id: 2 });
    expect(texts(el)).toEqual(["one", "three"]);
    expect(el.querySelector('[data-id="2"]')).toBeNull();
  });

  it("gives moderators inline delete/timeout/ban tools that send frames", () => {
    const { el, ws } = mount();
    ws.emit({ type: "hello", channel: "alice", username: "alice", role: "owner" });
    ws.emit({ type: "history", messages: [msg(7, "bob", "spam")] });
    const button = (label: string) => el.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]`);
    button("Delete message from bob")?.click();
    button("Time out bob for 10 minutes")?.click();
    vi.stubGlobal("confirm", () => true);
    button("Ban bob")?.click();
    expect(ws.sent).toEqual([
      { type: "delete", id: 7 },
      { type: "timeout", username: "bob", seconds: 600 },
      { type: "ban", username: "bob" },
    ]);
  });

  it("gives viewers no moderator tools", () => {
    const { el, ws } = mount();
    ws.emit({ type: "hello", channel: "alice", username: "bob", role: "viewer" });
    ws.emit({ type: "history", messages: [msg(7, "carol", "hi")] });
    expect(el.querySelectorAll(".mod-tools")).toHaveLength(0);
  });

  it("sends typed text and shows refusals", () => {
    const { el, ws } = mount();
    ws.emit({ type: "hello", channel: "alice", username: "bob", role: "viewer" });
    const input = el.querySelector<HTMLInputElement>(".chat-input");
    const form = el.querySelector<HTMLFormElement>(".chat-form");
    if (!input || !form) throw new Error("no send box");
    input.value = "  hello  ";
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(ws.sent).toEqual([{ type: "send", text: "hello" }]);
    expect(input.value).toBe("");

    ws.emit({ type: "error", code: "rate_limited", message: "You are sending messages too quickly." });
    expect(el.querySelector(".chat-notice")?.textContent).toContain("too quickly");

    ws.emit({ type: "slow", seconds: 30 });
    ws.emit({ type: "error", code: "slow_mode", message: "Slow mode: wait 12 s." });
    const send = el.querySelector<HTMLButtonElement>(".send-btn");
    expect(send?.disabled).toBe(true);
    expect(send?.textContent).toBe("12 s");
    expect(el.querySelector(".chat-slow")?.textContent).toBe("Slow mode 30 s");

    ws.emit({ type: "error", code: "banned", message: "You are banned from this chat." });
    expect(input.disabled).toBe(true);
    expect(input.placeholder).toBe("You are banned from this chat");
  });

  it("follows new messages at the bottom, and offers a pill when scrolled up", () => {
    const { el, ws } = mount();
    const list = el.querySelector<HTMLElement>(".chat-list");
    const pill = el.querySelector<HTMLButtonElement>(".new-pill");
    if (!list || !pill) throw new Error("no list");
    let scrollTop = 0;
    Object.defineProperty(list, "scrollHeight", { configurable: true, get: () => 1000 });
    Object.defineProperty(list, "clientHeight", { configurable: true, get: () => 200 });
    Object.defineProperty(list, "scrollTop", { configurable: true, get: () => scrollTop, set: (v: number) => (scrollTop = Math.min(v, 800)) });
    ws.emit({ type: "hello", channel: "alice", username: null, role: "anonymous" });
    ws.emit({ type: "history", messages: [msg(1, "bob", "one")] });
    // At the bottom: stays at the bottom, no pill.
    scrollTop = 800;
    ws.emit({ type: "message", ...msg(2, "bob", "two") });
    expect(scrollTop).toBe(800);
    expect(pill.hidden).toBe(true);
    // Scrolled up to read: the list stays put and the pill appears.
    scrollTop = 100;
    ws.emit({ type: "message", ...msg(3, "bob", "three") });
    expect(scrollTop).toBe(100);
    expect(pill.hidden).toBe(false);
    pill.click();
    expect(scrollTop).toBe(800);
    expect(pill.hidden).toBe(true);
  });
});
