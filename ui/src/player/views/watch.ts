// Watch page `/{channel}` (and `/{channel}?vod={id}`): video, channel header
// with live badge and viewers, chat, profile and past broadcasts.
//
// Going live again needs no reload: the chat socket's `live` frame restarts
// the player at once; polling the channel every few seconds is the fallback
// when the socket is down.

import type { Channel } from "../../bindings/Channel";
import type { Vod } from "../../bindings/Vod";
import { ApiError, api, liveSrc, vodSrc } from "../api";
import { avatar, h, icon, replaceChildren } from "../../shared/dom";
import { channelHref } from "../router";
import { formatCount, formatDuration } from "../../shared/format";
import { createChatPanel } from "./chatPanel";
import type { Page } from "./page";
import { createVideoStage, type VideoStage } from "./videoStage";

/** How often to ask the API whether an offline channel went live. */
const POLL_OFFLINE_MS = 4000;
/** How often to refresh the channel header while live (viewers, title). */
const POLL_LIVE_MS = 20_000;

/** Builds the watch page and starts loading it. */
export function createWatchPage(name: string, vodId: number | null): Page {
  const el = h("main", { class: "watch", attrs: { id: "main" } });
  let destroyed = false;
  let stage: VideoStage | null = null;
  let chat: { destroy(): void } | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let channel: Channel | null = null;
  let vods: Vod[] = [];

  const videoSlot = h("section", { class: "stage", attrs: { "aria-label": "Video" } });
  const info = h("section", { class: "channel-info" });
  const more = h("div", { class: "more" });
  const chatSlot = h("div", { class: "chat-slot" });
  replaceChildren(el, videoSlot, info, chatSlot, more);
  replaceChildren(videoSlot, h("div", { class: "stage-video skeleton" }));

  const vodMode = vodId !== null;

  function renderInfo(): void {
    if (!channel) return;
    const display = channel.display_name || channel.name;
    const badge = channel.live
      ? h("span", { class: "badge badge-live" }, "LIVE")
      : h("span", { class: "badge badge-offline" }, "OFFLINE");
    const viewers = channel.live
      ? h(
          "span",
          { class: "viewers", attrs: { "aria-label": `${channel.viewers} watching now` } },
          icon("eye", 16),
          formatCount(channel.viewers),
        )
      : null;
    const title = channel.title || (channel.live ? "Live now" : "No stream title");
    replaceChildren(
      info,
      avatar(display, 48),
      h(
        "div",
        { class: "channel-meta" },
        h("h1", { class: "channel-name" }, display),
        h("p", { class: "stream-title", attrs: { title } }, title),
      ),
      h("div", { class: "channel-state" }, badge, viewers),
    );
    document.title = channel.live ? `${display} – live on AeThex` : `${display} – AeThex Live`;
  }

  function renderMore(): void {
    if (!channel) return;
    const display = channel.display_name || channel.name;
    const vodItems = vods.map((v) =>
      h(
        "li",
        {},
        h(
          "a",
          {
            class: `vod-card${v.id === vodId ? " current" : ""}`,
            attrs: { href: channelHref(channel!.name, v.id), "data-link": true, "aria-current": v.id === vodId ? "page" : null },
          },
          h("span", { class: "vod-thumb" }, icon("play", 28), h("span", { class: "duration" }, formatDuration(v.duration_seconds))),
          h("span", { class: "vod-title" }, v.title || "Untitled broadcast"),
          h("span", { class: "vod-date" }, formatDate(v.started_at)),
        ),
      ),
    );
    replaceChildren(
      more,
      h(
        "section",
        { class: "about", attrs: { "aria-labelledby": "about-h" } },
        h("h2", { attrs: { id: "about-h" } }, `About ${display}`),
        h("p", { class: "bio" }, channel.bio || `${display} has not written a bio yet.`),
      ),
      h(
        "section",
        { class: "vods", attrs: { "aria-labelledby": "vods-h" } },
        h("h2", { attrs: { id: "vods-h" } }, "Past broadcasts"),
        vodItems.length > 0 ? h("ul", { class: "vod-grid" }, ...vodItems) : h("p", { class: "muted" }, "No past broadcasts yet."),
      ),
    );
  }

  function latestVodHref(): string | null {
    return channel && vods.length > 0 ? channelHref(channel.name, vods[0].id) : null;
  }

  function setLive(live: boolean, title?: string): void {
    if (!channel) return;
    const wasLive = channel.live;
    channel = { ...channel, live, title: title ?? channel.title };
    renderInfo();
    if (vodMode || !stage) return;
    if (live) {
      stage.player.kick();
    } else if (!live && wasLive) {
      stage.showOffline(channel, latestVodHref());
      // A new past broadcast probably just appeared.
      void refreshVods();
    }
    schedulePoll();
  }

  async function refreshVods(): Promise<void> {
    try {
      vods = await api.vods(name);
    } catch {
      vods = [];
    }
    if (!destroyed) renderMore();
  }

  function schedulePoll(): void {
    if (pollTimer) clearTimeout(pollTimer);
    if (destroyed || vodMode) return;
    const state = stage?.player.playbackState;
    const playing = (channel?.live ?? false) && (state === "playing" || state === "buffering" || state === "loading");
    pollTimer = setTimeout(poll, playing ? POLL_LIVE_MS : POLL_OFFLINE_MS);
  }

  async function poll(): Promise<void> {
    try {
      const fresh = await api.channel(name);
      if (destroyed || !channel) return;
      const viewers = fresh.viewers;
      channel = { ...channel, display_name: fresh.display_name, bio: fresh.bio, viewers };
      setLive(fresh.live, fresh.title);
    } catch {
      schedulePoll();
    }
  }

  async function load(): Promise<void> {
    try {
      const [c, v] = await Promise.all([api.channel(name), api.vods(name).catch(() => [] as Vod[])]);
      channel = c;
      vods = v;
    } catch (err) {
      if (destroyed) return;
      const notFound = err instanceof ApiError && err.status === 404;
      replaceChildren(
        el,
        h(
          "section",
          { class: "empty-page" },
          h("h1", {}, notFound ? "Channel not found" : "Could not load this channel"),
          h("p", {}, notFound ? `There is no channel called “${name}”.` : err instanceof Error ? err.message : ""),
          h("a", { class: "btn btn-primary", attrs: { href: "/", "data-link": true } }, "Browse channels"),
        ),
      );
      return;
    }
    if (destroyed) return;
    const display = channel.display_name || channel.name;
    const vod = vodMode ? vods.find((v) => v.id === vodId) : undefined;
    const src = vodMode ? (vod?.playlist ?? vodSrc(vodId)) : liveSrc(channel.name);
    stage = createVideoStage(src, !vodMode, vodMode ? `Past broadcast of ${display}` : `Live stream of ${display}`, (s) => {
      if (s === "offline" && channel && stage) {
        stage.showOffline(channel, latestVodHref());
        schedulePoll();
      }
    });
    const banner = vodMode
      ? h(
          "div",
          { class: "vod-banner" },
          h("span", {}, "Past broadcast", vod ? ` · ${vod.title || "Untitled"} · ${formatDate(vod.started_at)}` : ""),
          h("a", { class: "btn btn-ghost btn-small", attrs: { href: channelHref(channel.name), "data-link": true } }, channel.live ? "Back to live" : "Back to channel"),
        )
      : null;
    replaceChildren(videoSlot, banner, stage.el);
    renderInfo();
    renderMore();
    const panel = createChatPanel(channel.name, {
      onLive: (live, title) => setLive(live, title),
      onViewers: (count) => {
        if (!channel) return;
        channel = { ...channel, viewers: count };
        renderInfo();
      },
    });
    chat = panel;
    replaceChildren(chatSlot, panel.el);
    if (vodMode || channel.live) stage.player.start();
    else stage.showOffline(channel, latestVodHref());
    schedulePoll();
  }

  void load();
  return {
    el,
    destroy() {
      destroyed = true;
      if (pollTimer) clearTimeout(pollTimer);
      stage?.destroy();
      chat?.destroy();
    },
  };
}

/** "Mar 3, 14:05" in the viewer's locale. */
function formatDate(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
