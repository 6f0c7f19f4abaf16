// The creator's chat with moderation: messages (delete one; a name opens timeout / ban /
// unban), slow mode, the send box, and the moderation log. Message text is only ever set
// with textContent.
import { h } from "../../shared/dom";
import type { ChatState } from "../../shared/chatState";
import { fail } from "../actions";
import { commands, type ClientFrame } from "../ipc";
import { watch, type StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

/** "At the bottom" tolerance in pixels: closer than this keeps following new messages. */
const STICK_PX = 40;
/** The user menu's timeout, and slow mode's interval when switched on. */
const TIMEOUT_SECONDS = 600;
const SLOW_SECONDS = 10;

const MARKUP = `
<aside class="right">
  <div class="chat-tabs"><button data-tab="chat" class="active">Chat</button><button data-tab="log">Mod log</button>
    <label class="switch small slow"><input type="checkbox" id="slow" /><span></span>Slow</label></div>
  <div id="chat-pane" class="chat-pane">
    <div id="chat-state" class="muted small"></div>
    <ul id="chat-list" class="chat-list"></ul>
    <form id="form-chat" class="chat-form"><input id="chat-input" placeholder="Say something…" maxlength="500" autocomplete="off" /><button id="chat-send" class="secondary" type="submit">Send</button></form>
  </div>
  <div id="log-pane" class="chat-pane" hidden><ul id="mod-log" class="mod-log"></ul></div>
  <div id="user-menu" class="user-menu" hidden>
    <div id="user-menu-name" class="user-menu-name"></div>
    <button data-act="timeout">Timeout 10 min</button>
    <button data-act="ban" class="danger">Ban</button>
    <button data-act="unban">Unban</button>
  </div>
</aside>`;

/** The chat column. */
export function createChat(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const $ = <T extends HTMLElement = HTMLElement>(sel: string) => part<T>(el, sel);
  const list = $("#chat-list");
  const menu = $("#user-menu");
  const slow = $<HTMLInputElement>("#slow");

  const moderate = async (frame: ClientFrame, entry: string) => {
    try {
      await commands.chatSend(frame);
      store.dispatch({ type: "moderated", entry, now: new Date() });
    } catch (e) {
      fail(store, e);
    }
  };
  const openUserMenu = (username: string, ev: MouseEvent) => {
    menu.dataset.user = username;
    $("#user-menu-name").textContent = username;
    menu.style.left = `${Math.min(ev.clientX, window.innerWidth - 200)}px`;
    menu.style.top = `${ev.clientY}px`;
    menu.hidden = false;
  };
  const renderMessages = (chat: ChatState) => {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
    list.replaceChildren(
      ...chat.messages.map((m) =>
        h(
          "li",
          { class: "chat-msg", attrs: { "data-id": m.id } },
          h("button", { class: "who", on: { click: (ev) => openUserMenu(m.username, ev) } }, m.username),
          h("span", { class: "text" }, m.text),
          h(
            "button",
            {
              class: "del",
              attrs: { title: "Delete message" },
              on: { click: () => void moderate({ type: "delete", id: m.id }, `deleted #${m.id} by ${m.username}`) },
            },
            "✕",
          ),
        ),
      ),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
    slow.checked = chat.slowSeconds > 0;
  };

  const offs = [
    watch(store, (s) => s.chat, renderMessages),
    watch(store, (s) => s.chatStatus, (text) => ($("#chat-state").textContent = text)),
    watch(store, (s) => s.modLog, (log) => $("#mod-log").replaceChildren(...log.map((l) => h("li", {}, l)))),
  ];

  $<HTMLFormElement>("#form-chat").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>("#chat-input");
    const text = input.value.trim();
    if (!text) return;
    try {
      await commands.chatSend({ type: "send", text });
      input.value = "";
    } catch (e) {
      fail(store, e);
    }
  });
  slow.addEventListener("change", () =>
    moderate({ type: "slow", seconds: slow.checked ? SLOW_SECONDS : 0 }, slow.checked ? `slow mode ${SLOW_SECONDS} s` : "slow mode off"),
  );
  menu.querySelectorAll<HTMLButtonElement>("[data-act]").forEach((b) =>
    b.addEventListener("click", async () => {
      const username = menu.dataset.user ?? "";
      menu.hidden = true;
      const act = b.dataset.act;
      if (act === "timeout") await moderate({ type: "timeout", username, seconds: TIMEOUT_SECONDS }, `timed out ${username} 10 min`);
      if (act === "ban") await moderate({ type: "ban", username }, `banned ${username}`);
      if (act === "unban") await moderate({ type: "unban", username }, `unbanned ${username}`);
    }),
  );
  const closeMenu = (ev: MouseEvent) => {
    const target = ev.target as HTMLElement;
    if (!menu.hidden && !menu.contains(target) && !target.classList.contains("who")) menu.hidden = true;
  };
  document.addEventListener("click", closeMenu);
  const tabs = [...el.querySelectorAll<HTMLButtonElement>("[data-tab]")];
  for (const b of tabs) {
    b.addEventListener("click", () => {
      for (const x of tabs) x.classList.toggle("active", x === b);
      $("#chat-pane").hidden = b.dataset.tab !== "chat";
      $("#log-pane").hidden = b.dataset.tab !== "log";
    });
  }

  return {
    el,
    destroy() {
      offs.forEach((off) => off());
      document.removeEventListener("click", closeMenu);
    },
  };
}
