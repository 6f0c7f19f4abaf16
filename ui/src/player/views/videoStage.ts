// The video area: <video>, custom live controls (play, mute, live badge /
// jump to live, latency readout, fullscreen), the unmute pill and the
// loading / offline / error overlays.

import type { Channel } from "../../bindings/Channel";
import { avatar, h, icon, replaceChildren } from "../../shared/dom";
import { formatLatency, isBehindLive } from "../latency";
import { TARGET_LATENCY_S, VideoPlayer, type PlaybackState } from "../player";

declare global {
  interface Window {
    /** The page's player, for the end-to-end journey and the latency benchmark. */
    __aethexPlayer?: VideoPlayer;
  }
}

/** A mounted video area. */
export interface VideoStage {
  /** Root element. */
  el: HTMLElement;
  /** The player inside. */
  player: VideoPlayer;
  /** Shows the offline card for `channel` (live mode) and stops the video. */
  showOffline(channel: Channel, latestVodHref: string | null): void;
  /** Releases the player and timers. */
  destroy(): void;
}

/** Builds the video area for a live stream (`live`) or a past broadcast. */
export function createVideoStage(
  src: string,
  live: boolean,
  label: string,
  onStateChange: (s: PlaybackState) => void = () => undefined,
): VideoStage {
  const video = h("video", {
    class: "video",
    attrs: { playsinline: true, muted: true, autoplay: true, "aria-label": label, controls: !live },
  });
  video.muted = true;
  const overlay = h("div", { class: "overlay", attrs: { "aria-live": "polite" } });
  const unmute = h(
    "button",
    { class: "unmute-pill", attrs: { type: "button", hidden: true } },
    icon("muted", 18),
    "Tap to unmute",
  );

  const playBtn = h("button", { class: "icon-btn ctl", attrs: { type: "button", "aria-label": "Pause" } }, icon("pause"));
  const muteBtn = h("button", { class: "icon-btn ctl", attrs: { type: "button", "aria-label": "Unmute" } }, icon("muted"));
  const volume = h("input", {
    class: "volume",
    attrs: { type: "range", min: 0, max: 1, step: 0.05, value: 1, "aria-label": "Volume" },
  });
  const liveBtn = h(
    "button",
    { class: "live-btn", attrs: { type: "button", "aria-label": "Jump to live", title: "Jump to live" } },
    h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
    "LIVE",
  );
  const latency = h("span", { class: "latency", attrs: { title: "Glass-to-glass latency" } }, "Latency –");
  const fsBtn = h("button", { class: "icon-btn ctl", attrs: { type: "button", "aria-label": "Full screen" } }, icon("fullscreen"));
  const controls = h(
    "div",
    { class: "controls", attrs: { role: "group", "aria-label": "Player controls" } },
    playBtn,
    muteBtn,
    volume,
    liveBtn,
    latency,
    h("span", { class: "spacer" }),
    fsBtn,
  );
  const el = h("div", { class: "stage-video" }, video, overlay, unmute, live ? controls : null);

  const showOverlay = (...content: Parameters<typeof replaceChildren>[1][]) => {
    replaceChildren(overlay, ...content);
    overlay.hidden = content.length === 0;
    el.classList.toggle("has-overlay", content.length > 0);
  };

  const onState = (s: PlaybackState) => {
    el.dataset.state = s;
    if (s === "loading") showOverlay(h("div", { class: "spinner", attrs: { role: "img", "aria-label": "Loading" } }), h("p", {}, "Connecting to the stream…"));
    else if (s === "buffering") showOverlay(h("div", { class: "spinner", attrs: { role: "img", "aria-label": "Buffering" } }));
    else if (s === "error") showOverlay(h("p", { class: "overlay-title" }, "This video cannot be played."), h("p", {}, "Try reloading the page."));
    else if (s === "playing") showOverlay();
    syncControls();
    onStateChange(s);
  };
  const player = new VideoPlayer({ video, src, live, onState });
  window.__aethexPlayer = player;

  function syncControls(): void {
    const paused = video.paused;
    replaceChildren(playBtn, icon(paused ? "play" : "pause"));
    playBtn.setAttribute("aria-label", paused ? "Play" : "Pause");
    const muted = video.muted || video.volume === 0;
    replaceChildren(muteBtn, icon(muted ? "muted" : "volume"));
    muteBtn.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    volume.value = String(video.muted ? 0 : video.volume);
    unmute.hidden = !video.muted || player.playbackState !== "playing";
  }

  playBtn.addEventListener("click", () => {
    if (video.paused) player.jumpToLive();
    else video.pause();
  });
  const setMuted = (m: boolean) => {
    video.muted = m;
    if (!m && video.volume === 0) video.volume = 1;
  };
  muteBtn.addEventListener("click", () => setMuted(!video.muted));
  unmute.addEventListener("click", () => setMuted(false));
  volume.addEventListener("input", () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  liveBtn.addEventListener("click", () => player.jumpToLive());
  fsBtn.addEventListener("click", () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void el.requestFullscreen?.().catch(() => undefined);
  });
  for (const ev of ["play", "pause", "volumechange", "playing"]) video.addEventListener(ev, syncControls);

  const readout = setInterval(() => {
    if (!live) return;
    const ms = player.latencyMs();
    latency.textContent = `Latency ${formatLatency(ms)}`;
    const behind = video.paused || isBehindLive(player.secondsBehindLive(), TARGET_LATENCY_S);
    liveBtn.classList.toggle("behind", behind);
  }, 500);

  return {
    el,
    player,
    showOffline(channel, latestVodHref) {
      player.stop();
      const name = channel.display_name || channel.name;
      showOverlay(
        h(
          "div",
          { class: "offline-card" },
          avatar(name, 72),
          h("p", { class: "overlay-title" }, `${name} is offline`),
          h("p", {}, "The stream starts here by itself when they go live."),
          latestVodHref ? h("a", { class: "btn btn-ghost", attrs: { href: latestVodHref, "data-link": true } }, "Watch the latest broadcast") : null,
        ),
      );
      el.dataset.state = "offline";
    },
    destroy() {
      clearInterval(readout);
      player.destroy();
      if (window.__aethexPlayer === player) window.__aethexPlayer = undefined;
    },
  };
}
