// The top bar: stream title, live badge and timer, viewers, Go Live / End Stream, the
// settings button and who is signed in where.
import { formatDuration } from "../../shared/format";
import { fail, refreshDestinations, refreshRecordings } from "../actions";
import { commands } from "../ipc";
import { watch, type StudioStore } from "../store";
import { busy, fromMarkup, part, type View } from "./markup";

const MARKUP = `
<header class="topbar">
  <div class="brand"><span class="logo">◆</span> AeThex Studio</div>
  <input id="title" class="title-input" placeholder="Stream title" maxlength="140" />
  <div class="top-stats">
    <span id="live-badge" class="live-badge" hidden>● LIVE</span>
    <span class="timer" id="live-timer">0:00</span>
    <span class="viewers" title="Viewers"><svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M12 5C6.5 5 2.7 9.2 1.5 12c1.2 2.8 5 7 10.5 7s9.3-4.2 10.5-7C21.3 9.2 17.5 5 12 5zm0 11.5A4.5 4.5 0 1 1 12 7.5a4.5 4.5 0 0 1 0 9zm0-2.5a2 2 0 1 0 0-4 2 2 0 0 0 0 4z"/></svg><b id="viewer-count">0</b></span>
  </div>
  <button id="btn-golive" class="golive">Go Live</button>
  <button id="btn-end" class="end" hidden>End Stream</button>
  <button id="btn-settings" class="icon" title="Settings">⚙</button>
  <div class="me"><span id="me-avatar" class="avatar">?</span><span id="me-name"></span><small id="server-label" class="muted"></small></div>
</header>`;

/** The top bar; `openSettings` shows the settings dialog. */
export function createTopbar(store: StudioStore, openSettings: () => void): View {
  const el = fromMarkup(MARKUP);
  const $ = <T extends HTMLElement = HTMLElement>(sel: string) => part<T>(el, sel);
  const goLive = $<HTMLButtonElement>("#btn-golive");
  const end = $<HTMLButtonElement>("#btn-end");
  const title = $<HTMLInputElement>("#title");
  const timer = $("#live-timer");

  const offs = [
    watch(store, (s) => s.live, (live) => {
      document.body.classList.toggle("is-live", live);
      goLive.hidden = live;
      end.hidden = !live;
      title.disabled = live;
      $("#live-badge").hidden = !live;
      if (!live) timer.textContent = "0:00";
    }),
    watch(store, (s) => s.chat.viewers, (viewers) => ($("#viewer-count").textContent = String(viewers ?? 0))),
    watch(store, (s) => s.profile, (profile) => {
      if (!profile) return;
      const name = profile.display_name || profile.username;
      $("#me-name").textContent = name;
      $("#me-avatar").textContent = name.slice(0, 1).toUpperCase();
    }),
    watch(store, (s) => s.server, (server) => {
      if (server) $("#server-label").textContent = server.local_server ? "Built-in server" : server.server;
    }),
  ];
  const tick = window.setInterval(() => {
    const s = store.get();
    if (s.live) timer.textContent = formatDuration((Date.now() - s.liveSince) / 1000);
  }, 500);

  goLive.addEventListener("click", () =>
    busy(goLive, async () => {
      try {
        goLive.textContent = "Starting…";
        await commands.goLive(store.get().settings, title.value.trim() || "Live now");
        store.dispatch({ type: "live", live: true, now: Date.now() });
      } catch (e) {
        fail(store, e);
      } finally {
        goLive.textContent = "Go Live";
      }
    }),
  );
  end.addEventListener("click", () =>
    busy(end, async () => {
      try {
        await commands.endStream(store.get().settings);
      } catch (e) {
        fail(store, e);
      }
      store.dispatch({ type: "live", live: false, now: Date.now() });
      await refreshDestinations(store);
      await refreshRecordings(store);
    }),
  );
  $("#btn-settings").addEventListener("click", openSettings);

  return {
    el,
    destroy() {
      offs.forEach((off) => off());
      window.clearInterval(tick);
    },
  };
}
