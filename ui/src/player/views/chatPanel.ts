// Chat panel: message list with auto-scroll and a "new messages" pill, inline
// moderator tools, refusals, slow-mode countdown and the send box.
// Message text is only ever set with textContent.

import type { Message } from "../../bindings/Message";
import { ChatConnection } from "../chat";
import {
  canModerate,
  canSend,
  chatReducer,
  cooldownSeconds,
  initialChatState,
  type ChatEvent,
  type ChatState,
} from "../../shared/chatState";
import { h, hueOf, icon, replaceChildren } from "../../shared/dom";
import { getSession, onSession } from "../session";
import { openAuthDialog } from "./authDialog";

/** Timeout length offered by the inline tool. */
const TIMEOUT_SECONDS = 600;
/** Slow-mode choices offered to moderators. */
const SLOW_CHOICES = [0, 3, 10, 30, 60];
/** "At the bottom" tolerance in pixels. */
const STICK_PX = 48;

/** A mounted chat panel. */
export interface ChatPanel {
  /** The panel's root element. */
  el: HTMLElement;
  /** Closes the socket and timers. */
  destroy(): void;
}

/** What the watch page wants to hear from the chat socket. */
export interface ChatPanelHooks {
  /** `live` frame: the channel went live or offline. */
  onLive(live: boolean, title: string): void;
  /** `viewers` frame. */
  onViewers(count: number): void;
}

/** Builds the chat panel for `channel` and connects it. */
export function createChatPanel(channel: string, hooks: ChatPanelHooks): ChatPanel {
  let state: ChatState = initialChatState();
  const nodes = new Map<number, HTMLElement>();
  let nodesFor = ""; // identity the nodes' moderator tools were built for

  const status = h("span", { class: "chat-status", attrs: { "aria-live": "polite" } });
  const slowBadge = h("span", { class: "chat-slow", attrs: { hidden: true } });
  const list = h("ol", {
    class: "chat-list",
    attrs: { role: "log", "aria-live": "polite", "aria-label": "Chat messages", tabindex: 0 },
  });
  const empty = h("p", { class: "chat-empty" }, "No messages yet. Say hi!");
  const pill = h(
    "button",
    { class: "new-pill", attrs: { type: "button", hidden: true } },
    icon("down", 16),
    "New messages",
  );
  const notice = h("div", { class: "chat-notice", attrs: { role: "status", hidden: true } });
  const footer = h("div", { class: "chat-footer" });
  const input = h("input", {
    class: "chat-input",
    attrs: { type: "text", maxlength: 500, "aria-label": "Chat message", autocomplete: "off", enterkeyhint: "send" },
  });
  const sendBtn = h("button", { class: "btn btn-primary send-btn", attrs: { type: "submit" } });
  const form = h("form", { class: "chat-form" }, input, sendBtn);
  const slowSelect = h(
    "select",
    { class: "slow-select", attrs: { "aria-label": "Slow mode" } },
    ...SLOW_CHOICES.map((s) => h("option", { attrs: { value: s } }, s === 0 ? "Slow mode: off" : `Slow mode: ${s} s`)),
  );
  const modRow = h("div", { class: "mod-row" }, slowSelect);
  const anonBox = h(
    "div",
    { class: "chat-anon" },
    h("button", { class: "btn btn-primary", attrs: { type: "button" }, on: { click: () => void openAuthDialog("login") } }, "Sign in to chat"),
    h("button", { class: "btn btn-ghost", attrs: { type: "button" }, on: { click: () => void openAuthDialog("register") } }, "Create account"),
  );

  const el = h(
    "aside",
    { class: "chat", attrs: { "aria-label": "Stream chat" } },
    h("header", { class: "chat-head" }, h("h2", {}, "Stream chat"), slowBadge, status),
    h("div", { class: "chat-body" }, list, empty, pill),
    notice,
    footer,
  );

  const conn = new ChatConnection(channel, () => getSession()?.token ?? null, dispatch);

  function dispatch(e: ChatEvent): void {
    const before = state;
    state = chatReducer(state, e);
    if (e.type === "frame") {
      if (e.frame.type === "live") hooks.onLive(e.frame.live, e.frame.title);
      if (e.frame.type === "viewers") hooks.onViewers(e.frame.count);
    }
    render(before);
  }

  function isAtBottom(): boolean {
    return list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
  }
  function scrollToBottom(): void {
    list.scrollTop = list.scrollHeight;
    pill.hidden = true;
  }

  function messageNode(m: Message): HTMLElement {
    const name = h("span", { class: "msg-user" }, m.username);
    name.style.setProperty("--hue", String(hueOf(m.username)));
    const li = h(
      "li",
      { class: "msg", attrs: { "data-id": m.id, title: new Date(m.sent_at).toLocaleTimeString() } },
      name,
      h("span", { class: "msg-sep", attrs: { "aria-hidden": "true" } }, ": "),
      h("span", { class: "msg-text" }, m.text),
    );
    if (canModerate(state.role)) li.appendChild(modTools(m));
    return li;
  }

  function modTools(m: Message): HTMLElement {
    const tools = h("span", { class: "mod-tools" });
    const tool = (name: "trash" | "clock" | "ban", label: string, run: () => void) =>
      h("button", { class: "icon-btn mod-btn", attrs: { type: "button", "aria-label": label, title: label }, on: { click: run } }, icon(name, 16));
    tools.appendChild(tool("trash", `Delete message from ${m.username}`, () => conn.send({ type: "delete", id: m.id })));
    const targetable = m.username !== state.username && m.username !== channel;
    if (targetable) {
      tools.appendChild(
        tool("clock", `Time out ${m.username} for 10 minutes`, () =>
          conn.send({ type: "timeout", username: m.username, seconds: TIMEOUT_SECONDS }),
        ),
      );
      tools.appendChild(
        tool("ban", `Ban ${m.username}`, () => {
          if (confirm(`Ban ${m.username} from this chat?`)) conn.send({ type: "ban", username: m.username });
        }),
      );
    }
    return tools;
  }

  function renderMessages(): number {
    const identity = `${state.username}|${state.role}`;
    if (identity !== nodesFor) {
      // Signed in/out or became a moderator: rebuild with the right tools.
      for (const n of nodes.values()) n.remove();
      nodes.clear();
      nodesFor = identity;
    }
    const keep = new Set(state.messages.map((m) => m.id));
    for (const [id, n] of nodes) {
      if (!keep.has(id)) {
        n.remove();
        nodes.delete(id);
      }
    }
    let prev: Element | null = null;
    let added = 0;
    for (const m of state.messages) {
      let n = nodes.get(m.id);
      if (!n) {
        n = messageNode(m);
        nodes.set(m.id, n);
        added++;
      }
      const expected: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
      if (expected !== n) list.insertBefore(n, expected);
      prev = n;
    }
    empty.hidden = state.messages.length > 0 || state.connection === "connecting";
    return added;
  }

  function renderFooter(now: number): void {
    const anonymous = state.role === "anonymous";
    if (anonymous) {
      if (footer.dataset.mode !== "anon") {
        replaceChildren(footer, anonBox);
        footer.dataset.mode = "anon";
      }
      return;
    }
    if (footer.dataset.mode !== "user") {
      replaceChildren(footer, form, modRow);
      footer.dataset.mode = "user";
    }
    modRow.hidden = !canModerate(state.role);
    slowSelect.value = String(SLOW_CHOICES.includes(state.slowSeconds) ? state.slowSeconds : 0);
    const wait = cooldownSeconds(state, now);
    const allowed = canSend(state, now);
    input.disabled = state.banned || state.connection !== "open";
    sendBtn.disabled = !allowed;
    sendBtn.replaceChildren(wait > 0 ? `${wait} s` : "Chat");
    sendBtn.setAttribute("aria-label", wait > 0 ? `Wait ${wait} seconds` : "Send message");
    input.placeholder = state.banned
      ? "You are banned from this chat"
      : state.connection !== "open"
        ? "Reconnecting…"
        : wait > 0
          ? `Slow mode: wait ${wait} s`
          : `Send a message as ${state.username ?? ""}`;
  }

  function render(before: ChatState): void {
    const now = Date.now();
    const stick = isAtBottom();
    const added = renderMessages();
    if (stick) scrollToBottom();
    else if (added > 0 && before.messages.length > 0) pill.hidden = false;

    status.textContent =
      state.connection === "open" ? "" : state.connection === "connecting" ? "Connecting…" : "Reconnecting…";
    slowBadge.hidden = state.slowSeconds === 0;
    slowBadge.textContent = `Slow mode ${state.slowSeconds} s`;
    if (state.notice) {
      const dismiss = h(
        "button",
        { class: "icon-btn", attrs: { type: "button", "aria-label": "Dismiss" }, on: { click: () => dispatch({ type: "dismiss_notice" }) } },
        icon("close", 16),
      );
      replaceChildren(notice, h("span", {}, state.notice.text), dismiss);
      notice.dataset.code = state.notice.code;
      notice.hidden = false;
    } else {
      notice.hidden = true;
    }
    renderFooter(now);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !canSend(state, Date.now())) return;
    if (conn.send({ type: "send", text })) input.value = "";
  });
  slowSelect.addEventListener("change", () => conn.send({ type: "slow", seconds: Number(slowSelect.value) }));
  pill.addEventListener("click", scrollToBottom);
  list.addEventListener("scroll", () => {
    if (isAtBottom()) pill.hidden = true;
  });

  // Countdown for slow mode / timeouts.
  const ticker = setInterval(() => {
    if (state.cooldownUntil > 0) renderFooter(Date.now());
  }, 500);
  const unsubscribe = onSession(() => conn.restart());

  render(state);
  conn.start();
  return {
    el,
    destroy() {
      clearInterval(ticker);
      unsubscribe();
      conn.stop();
    },
  };
}
