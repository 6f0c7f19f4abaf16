// Home `/`: live channels first (title, viewers, live badge), then offline ones.

import type { Channel } from "../../bindings/Channel";
import { api } from "../api";
import { avatar, h, hueOf, icon, replaceChildren } from "../../shared/dom";
import { channelHref } from "../router";
import { formatCount } from "../../shared/format";
import type { Page } from "./page";

const REFRESH_MS = 15_000;

/** Builds the channel list and keeps it fresh. */
export function createHomePage(): Page {
  const el = h("main", { class: "home", attrs: { id: "main" } });
  let timer: ReturnType<typeof setTimeout> | null = null;
  let destroyed = false;
  replaceChildren(el, h("div", { class: "home-loading" }, h("div", { class: "spinner", attrs: { role: "img", "aria-label": "Loading" } })));
  document.title = "AeThex Live";

  async function refresh(): Promise<void> {
    try {
      const channels = await api.channels();
      if (!destroyed) render(channels);
    } catch (err) {
      if (!destroyed && !el.querySelector(".channel-grid, .offline-list")) {
        replaceChildren(
          el,
          h("section", { class: "empty-page" }, h("h1", {}, "Cannot load channels"), h("p", {}, err instanceof Error ? err.message : "")),
        );
      }
    }
    if (!destroyed) timer = setTimeout(() => void refresh(), REFRESH_MS);
  }

  function render(channels: Channel[]): void {
    const live = channels.filter((c) => c.live).sort((a, b) => b.viewers - a.viewers);
    const offline = channels.filter((c) => !c.live);
    replaceChildren(
      el,
      h(
        "section",
        { class: "home-section", attrs: { "aria-labelledby": "live-h" } },
        h("h1", { attrs: { id: "live-h" } }, "Live now"),
        live.length > 0
          ? h("ul", { class: "channel-grid" }, ...live.map(liveCard))
          : h("p", { class: "muted empty-live" }, "Nobody is live right now. Channels below start here as soon as they go live."),
      ),
      offline.length > 0
        ? h(
            "section",
            { class: "home-section", attrs: { "aria-labelledby": "offline-h" } },
            h("h2", { attrs: { id: "offline-h" } }, "Offline channels"),
            h("ul", { class: "offline-list" }, ...offline.map(offlineItem)),
          )
        : null,
      channels.length === 0
        ? h("p", { class: "muted" }, "No channels yet. Create an account, then go live from AeThex Studio or any RTMP encoder.")
        : null,
    );
  }

  void refresh();
  return {
    el,
    destroy() {
      destroyed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function liveCard(c: Channel): HTMLElement {
  const display = c.display_name || c.name;
  const thumb = h(
    "span",
    { class: "thumb" },
    h("span", { class: "thumb-letter", attrs: { "aria-hidden": "true" } }, display[0]?.toUpperCase() ?? "?"),
    h("span", { class: "badge badge-live thumb-badge" }, "LIVE"),
    h("span", { class: "thumb-viewers" }, icon("eye", 14), `${formatCount(c.viewers)} watching`),
  );
  thumb.style.setProperty("--hue", String(hueOf(c.name)));
  return h(
    "li",
    {},
    h(
      "a",
      { class: "channel-card", attrs: { href: channelHref(c.name), "data-link": true } },
      thumb,
      h(
        "span",
        { class: "card-meta" },
        avatar(display, 36),
        h("span", { class: "card-text" }, h("span", { class: "card-title" }, c.title || "Live now"), h("span", { class: "card-name" }, display)),
      ),
    ),
  );
}

function offlineItem(c: Channel): HTMLElement {
  const display = c.display_name || c.name;
  return h(
    "li",
    {},
    h(
      "a",
      { class: "offline-item", attrs: { href: channelHref(c.name), "data-link": true } },
      avatar(display, 40),
      h("span", { class: "card-text" }, h("span", { class: "card-name strong" }, display), h("span", { class: "card-sub" }, c.bio || "Offline")),
    ),
  );
}
