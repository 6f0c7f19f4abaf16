// AeThex Studio window: onboarding, then the live dashboard. All logic that can be
// pure lives in logic.ts; every type crossing to Rust is generated: the studio's in ./bindings, the
// wire types (chat frames, messages) in ../bindings, shared with the player.
import { convertFileSrc, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import "./studio.css";
import type { ChatUpdate } from "./bindings/ChatUpdate";
import type { ClientFrame } from "../bindings/ClientFrame";
import type { DestinationView } from "./bindings/DestinationView";
import type { PreviewView } from "./bindings/PreviewView";
import type { Profile } from "./bindings/Profile";
import type { RecordingView } from "./bindings/RecordingView";
import type { ServerStatus } from "./bindings/ServerStatus";
import type { StatsView } from "./bindings/StatsView";
import type { StudioSettings } from "./bindings/StudioSettings";
import { chatReducer, initialChatState, type ChatState } from "../shared/chatState";
import { formatBitrate, formatDuration } from "../shared/format";
import {
  asError,
  describeError,
  logModeration,
  meterPercent,
  previewLoader,
  pushSample,
  sparkline,
  stateClass,
  usernameProblem,
} from "./logic";
import { shellHtml } from "./view";

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`missing ${sel}`);
  return el;
};

let settings: StudioSettings;
let profile: Profile | null = null;
let server: ServerStatus | null = null;
let live = false;
let liveSince = 0;
let chat: ChatState = initialChatState();
let modLog: string[] = [];
let bitrates: number[] = [];
let registering = true;
const failedOutputs = new Set<string>();

function showError(e: unknown, where = "#toast"): void {
  const err = asError(e);
  const { title, hint } = describeError(err);
  const box = $(where);
  box.replaceChildren();
  const t = document.createElement("strong");
  t.textContent = title;
  const m = document.createElement("span");
  const same = err.message.trim().toLowerCase() === title.toLowerCase();
  m.textContent = [same ? "" : err.message, hint].filter(Boolean).join(" — ").replace(/^/, " ");
  box.append(t, m);
  box.dataset.kind = err.kind;
  box.hidden = false;
  if (where === "#toast") window.setTimeout(() => (box.hidden = true), 9000);
}

function clearError(where: string): void {
  $(where).hidden = true;
}

async function busy<T>(button: HTMLButtonElement, f: () => Promise<T>): Promise<T | undefined> {
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await f();
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
  }
}

async function saveSettings(): Promise<void> {
  await invoke("save_settings", { settings });
}

// ---------- onboarding ----------

function step(name: "server" | "account" | "profile"): void {
  $("#onboarding").hidden = false;
  $("#studio").hidden = true;
  for (const s of ["server", "account", "profile"]) $(`#step-${s}`).hidden = s !== name;
  document.querySelectorAll<HTMLElement>(".steps li").forEach((li) => {
    li.classList.toggle("active", li.dataset.step === name);
  });
}

function setMode(register: boolean): void {
  registering = register;
  $("#tab-signup").classList.toggle("active", register);
  $("#tab-signin").classList.toggle("active", !register);
  $("#btn-auth").textContent = register ? "Create account" : "Sign in";
}

async function connect(serverUrl: string | null): Promise<void> {
  clearError("#onboard-error");
  try {
    server = await invoke<ServerStatus>("connect", { server: serverUrl });
    document.body.dataset.server = server.server;
    $("#server-label").textContent = server.local_server ? "Built-in server" : server.server;
    $("#account-server").textContent = server.local_server
      ? `Built-in server at ${server.server}`
      : server.server;
    if (server.profile) {
      profile = server.profile;
      await enterStudio();
    } else {
      step("account");
      $<HTMLInputElement>("#username").focus();
    }
  } catch (e) {
    showError(e, "#onboard-error");
  }
}

function wireOnboarding(): void {
  $("#btn-local").addEventListener("click", (ev) =>
    busy(ev.currentTarget as HTMLButtonElement, () => connect(null)),
  );
  $("#btn-connect").addEventListener("click", (ev) => {
    const url = $<HTMLInputElement>("#server-url").value.trim();
    return busy(ev.currentTarget as HTMLButtonElement, () => connect(url));
  });
  $("#tab-signup").addEventListener("click", () => setMode(true));
  $("#tab-signin").addEventListener("click", () => setMode(false));
  $("#back-server").addEventListener("click", () => step("server"));
  $<HTMLFormElement>("#form-auth").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError("#onboard-error");
    const username = $<HTMLInputElement>("#username").value.trim().toLowerCase();
    const password = $<HTMLInputElement>("#password").value;
    const problem = usernameProblem(username);
    if (registering && problem) {
      showError({ kind: "invalid", message: `Username: ${problem}.` }, "#onboard-error");
      return;
    }
    await busy($<HTMLButtonElement>("#btn-auth"), async () => {
      try {
        profile = await invoke<Profile>("authenticate", { username, password, register: registering });
        $<HTMLInputElement>("#password").value = "";
        if (registering) {
          $<HTMLInputElement>("#display-name").value = profile.display_name || profile.username;
          $<HTMLTextAreaElement>("#bio").value = profile.bio;
          step("profile");
          $<HTMLInputElement>("#display-name").focus();
        } else {
          await enterStudio();
        }
      } catch (e) {
        showError(e, "#onboard-error");
      }
    });
  });
  $<HTMLFormElement>("#form-profile").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await busy($<HTMLButtonElement>("#btn-profile"), async () => {
      try {
        profile = await invoke<Profile>("update_profile", {
          displayName: $<HTMLInputElement>("#display-name").value,
          bio: $<HTMLTextAreaElement>("#bio").value,
        });
        await enterStudio();
      } catch (e) {
        showError(e, "#onboard-error");
      }
    });
  });
}

// ---------- studio ----------

async function enterStudio(): Promise<void> {
  $("#onboarding").hidden = true;
  $("#studio").hidden = false;
  if (profile) {
    $("#me-name").textContent = profile.display_name || profile.username;
    $("#me-avatar").textContent = (profile.display_name || profile.username).slice(0, 1).toUpperCase();
  }
  renderSources();
  await renderDestinations();
  try {
    await invoke("chat_connect");
  } catch (e) {
    showError(e);
  }
  await restartPreview();
}

async function restartPreview(): Promise<void> {
  if (live) return;
  $("#preview-state").textContent = "Starting preview…";
  $("#preview-state").hidden = false;
  try {
    await invoke("start_preview", { settings });
  } catch (e) {
    $("#preview-state").textContent = "No preview";
    showError(e);
  }
}

function renderSources(): void {
  document.querySelectorAll<HTMLButtonElement>("[data-source]").forEach((b) => {
    b.classList.toggle("active", b.dataset.source === settings.source);
  });
  $<HTMLInputElement>("#pip").checked = settings.camera_pip;
  $<HTMLInputElement>("#mic").checked = settings.microphone;
  $<HTMLInputElement>("#volume").value = String(Math.round(settings.volume * 100));
  $("#btn-mute").classList.toggle("active", settings.muted);
  $("#btn-mute").textContent = settings.muted ? "Unmute" : "Mute";
}

function wireSources(): void {
  document.querySelectorAll<HTMLButtonElement>("[data-source]").forEach((b) =>
    b.addEventListener("click", async () => {
      if (live) return showError({ kind: "state", message: "End the stream to change the main source." });
      settings.source = b.dataset.source as StudioSettings["source"];
      renderSources();
      await saveSettings();
      await restartPreview();
    }),
  );
  for (const id of ["#pip", "#mic"]) {
    $<HTMLInputElement>(id).addEventListener("change", async (ev) => {
      const on = (ev.target as HTMLInputElement).checked;
      if (live) {
        renderSources();
        return showError({ kind: "state", message: "End the stream to change sources." });
      }
      if (id === "#pip") settings.camera_pip = on;
      else settings.microphone = on;
      await saveSettings();
      await restartPreview();
    });
  }
  $<HTMLInputElement>("#volume").addEventListener("input", async (ev) => {
    settings.volume = Number((ev.target as HTMLInputElement).value) / 100;
    await invoke("set_audio", { volume: settings.volume, muted: settings.muted }).catch(showError);
  });
  $<HTMLInputElement>("#volume").addEventListener("change", () => saveSettings());
  $("#btn-mute").addEventListener("click", async () => {
    settings.muted = !settings.muted;
    renderSources();
    await invoke("set_audio", { volume: settings.volume, muted: settings.muted }).catch(showError);
    await saveSettings();
  });
}

async function renderDestinations(): Promise<void> {
  let rows: DestinationView[] = [];
  try {
    rows = await invoke<DestinationView[]>("destinations", { settings });
  } catch (e) {
    showError(e);
  }
  const list = $("#dest-list");
  list.replaceChildren();
  for (const d of rows) {
    const li = document.createElement("li");
    li.className = "dest";
    li.dataset.name = d.name;
    const head = document.createElement("div");
    head.className = "dest-head";
    const name = document.createElement("strong");
    name.textContent = d.name;
    const pill = document.createElement("span");
    pill.className = "pill idle";
    pill.dataset.output = d.name;
    pill.textContent = d.enabled ? (d.has_key ? "ready" : "no key") : "off";
    head.append(name, pill);
    const url = document.createElement("div");
    url.className = "muted small";
    url.textContent = d.url;
    const key = document.createElement("div");
    key.className = "key-row";
    const keyText = document.createElement("code");
    keyText.className = "key";
    keyText.textContent = d.has_key ? "••••••••••••" : "no key stored";
    const reveal = document.createElement("button");
    reveal.className = "ghost small";
    reveal.textContent = "Show";
    reveal.disabled = !d.has_key;
    reveal.addEventListener("click", async () => {
      if (reveal.textContent === "Hide") {
        keyText.textContent = "••••••••••••";
        reveal.textContent = "Show";
        return;
      }
      try {
        const k = await invoke<string | null>("reveal_key", { name: d.name, own: d.own });
        keyText.textContent = k ?? "no key stored";
        reveal.textContent = "Hide";
        window.setTimeout(() => {
          keyText.textContent = "••••••••••••";
          reveal.textContent = "Show";
        }, 15000);
      } catch (e) {
        showError(e);
      }
    });
    key.append(keyText, reveal);
    if (d.own) {
      const rotate = document.createElement("button");
      rotate.className = "ghost small";
      rotate.textContent = "Rotate";
      rotate.addEventListener("click", () =>
        busy(rotate, async () => {
          if (!window.confirm("Rotate the stream key? The old key stops working at once.")) return;
          await invoke("rotate_key").catch(showError);
          await renderDestinations();
        }),
      );
      key.append(rotate);
    } else {
      const set = document.createElement("button");
      set.className = "ghost small";
      set.textContent = "Set key";
      set.addEventListener("click", async () => {
        const k = window.prompt(`Stream key for ${d.name} (kept in the OS keyring)`);
        if (k === null) return;
        await invoke("set_destination_key", { name: d.name, key: k }).catch(showError);
        await renderDestinations();
      });
      const toggle = document.createElement("button");
      toggle.className = "ghost small";
      toggle.textContent = d.enabled ? "Disable" : "Enable";
      toggle.addEventListener("click", async () => {
        const c = settings.destinations.find((x) => x.name === d.name);
        if (c) c.enabled = !c.enabled;
        await saveSettings();
        await renderDestinations();
      });
      const remove = document.createElement("button");
      remove.className = "ghost small danger";
      remove.textContent = "Remove";
      remove.addEventListener("click", async () => {
        settings.destinations = settings.destinations.filter((x) => x.name !== d.name);
        await invoke("set_destination_key", { name: d.name, key: "" }).catch(() => undefined);
        await saveSettings();
        await renderDestinations();
      });
      key.append(set, toggle, remove);
    }
    li.append(head, url, key);
    list.append(li);
  }
}

function wireDestinations(): void {
  $<HTMLFormElement>("#form-dest").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $<HTMLInputElement>("#dest-name").value.trim();
    const url = $<HTMLInputElement>("#dest-url").value.trim();
    const key = $<HTMLInputElement>("#dest-key").value;
    if (!name || !/^(rtmps?|srt):\/\//.test(url)) {
      return showError({ kind: "invalid", message: "Give a name and an rtmp://, rtmps:// or srt:// address." });
    }
    if (settings.destinations.some((d) => d.name === name) || name === "own server") {
      return showError({ kind: "conflict", message: `A destination named ${name} exists.` });
    }
    settings.destinations.push({ name, url, enabled: true });
    if (key) await invoke("set_destination_key", { name, key }).catch(showError);
    $<HTMLFormElement>("#form-dest").reset();
    await saveSettings();
    await renderDestinations();
  });
}

// ---------- live ----------

function setLive(on: boolean): void {
  live = on;
  liveSince = Date.now();
  document.body.classList.toggle("is-live", on);
  $("#btn-golive").hidden = on;
  $("#btn-end").hidden = !on;
  $<HTMLInputElement>("#title").disabled = on;
  $("#live-badge").hidden = !on;
  if (!on) $("#live-timer").textContent = "0:00";
}

function wireLive(): void {
  $("#btn-golive").addEventListener("click", (ev) =>
    busy(ev.currentTarget as HTMLButtonElement, async () => {
      const title = $<HTMLInputElement>("#title").value.trim() || "Live now";
      try {
        $("#btn-golive").textContent = "Starting…";
        failedOutputs.clear();
        await invoke("go_live", { settings, title });
        setLive(true);
      } catch (e) {
        showError(e);
      } finally {
        $("#btn-golive").textContent = "Go Live";
      }
    }),
  );
  $("#btn-end").addEventListener("click", (ev) =>
    busy(ev.currentTarget as HTMLButtonElement, async () => {
      try {
        await invoke("end_stream", { settings });
      } catch (e) {
        showError(e);
      }
      setLive(false);
      failedOutputs.clear();
      $("#st-outputs").replaceChildren();
      await renderDestinations();
      await renderRecordings();
    }),
  );
  window.setInterval(() => {
    if (live) $("#live-timer").textContent = formatDuration((Date.now() - liveSince) / 1000);
  }, 500);
}

function renderStats(s: StatsView): void {
  bitrates = pushSample(bitrates, s.bitrate_kbps);
  $("#st-bitrate").textContent = formatBitrate(s.bitrate_kbps);
  $("#st-fps").textContent = s.fps.toFixed(0);
  $("#st-dropped").textContent = String(s.dropped_frames);
  $("#st-cpu").textContent = s.cpu_percent == null ? "–" : `${s.cpu_percent.toFixed(0)} %`;
  $("#st-mem").textContent = s.rss_mb == null ? "–" : `${s.rss_mb.toFixed(0)} MB`;
  $("#st-encoder").textContent = s.encoder;
  $("#plot-line").setAttribute("points", sparkline(bitrates, 160, 32));
  const outs = $("#st-outputs");
  outs.replaceChildren();
  for (const o of s.outputs) {
    const pill = document.createElement("span");
    pill.className = `pill ${stateClass(o.state)}`;
    pill.textContent = `${o.name}: ${o.state}`;
    if (o.error) pill.title = o.error;
    outs.append(pill);
    const dp = document.querySelector<HTMLElement>(`.pill[data-output="${CSS.escape(o.name)}"]`);
    if (dp) {
      dp.className = `pill ${stateClass(o.state)}`;
      dp.textContent = o.state;
      dp.title = o.error ?? "";
    }
    if (o.state === "failed" && o.error && !failedOutputs.has(o.name)) {
      failedOutputs.add(o.name);
      showError({ kind: "key_rejected", message: `${o.name}: ${o.error}` });
    }
  }
  for (const l of s.levels) {
    $("#meter-fill").style.width = `${meterPercent(l.rms_db)}%`;
    $("#meter-peak").style.left = `${meterPercent(l.peak_db)}%`;
  }
  if (s.error) showError({ kind: "engine", message: s.error });
}

// ---------- chat ----------

function renderChat(): void {
  const list = $("#chat-list");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren();
  for (const m of chat.messages) {
    const li = document.createElement("li");
    li.className = "chat-msg";
    li.dataset.id = String(m.id);
    const who = document.createElement("button");
    who.className = "who";
    who.textContent = m.username;
    who.addEventListener("click", (ev) => openUserMenu(m.username, ev as MouseEvent));
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    const del = document.createElement("button");
    del.className = "del";
    del.title = "Delete message";
    del.textContent = "✕";
    del.addEventListener("click", () => moderate({ type: "delete", id: m.id }, `deleted #${m.id} by ${m.username}`));
    li.append(who, text, del);
    list.append(li);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
  $("#viewer-count").textContent = String(chat.viewers ?? 0);
  $<HTMLInputElement>("#slow").checked = chat.slowSeconds > 0;
  const log = $("#mod-log");
  log.replaceChildren(
    ...modLog.map((l) => {
      const li = document.createElement("li");
      li.textContent = l;
      return li;
    }),
  );
}

async function moderate(frame: ClientFrame, entry: string): Promise<void> {
  try {
    await invoke("chat_send", { frame });
    modLog = logModeration(modLog, entry);
    renderChat();
  } catch (e) {
    showError(e);
  }
}

function openUserMenu(username: string, ev: MouseEvent): void {
  const menu = $("#user-menu");
  menu.dataset.user = username;
  $("#user-menu-name").textContent = username;
  menu.style.left = `${Math.min(ev.clientX, window.innerWidth - 200)}px`;
  menu.style.top = `${ev.clientY}px`;
  menu.hidden = false;
}

function wireChat(): void {
  $<HTMLFormElement>("#form-chat").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>("#chat-input");
    const text = input.value.trim();
    if (!text) return;
    try {
      await invoke("chat_send", { frame: { type: "send", text } });
      input.value = "";
    } catch (e) {
      showError(e);
    }
  });
  $<HTMLInputElement>("#slow").addEventListener("change", (ev) => {
    const on = (ev.target as HTMLInputElement).checked;
    return moderate({ type: "slow", seconds: on ? 10 : 0 }, on ? "slow mode 10 s" : "slow mode off");
  });
  document.querySelectorAll<HTMLButtonElement>("#user-menu [data-act]").forEach((b) =>
    b.addEventListener("click", async () => {
      const username = $("#user-menu").dataset.user ?? "";
      $("#user-menu").hidden = true;
      const act = b.dataset.act;
      if (act === "timeout") await moderate({ type: "timeout", username, seconds: 600 }, `timed out ${username} 10 min`);
      if (act === "ban") await moderate({ type: "ban", username }, `banned ${username}`);
      if (act === "unban") await moderate({ type: "unban", username }, `unbanned ${username}`);
    }),
  );
  document.addEventListener("click", (ev) => {
    const menu = $("#user-menu");
    if (!menu.hidden && !menu.contains(ev.target as Node) && !(ev.target as HTMLElement).classList.contains("who")) {
      menu.hidden = true;
    }
  });
  document.querySelectorAll<HTMLButtonElement>("[data-tab]").forEach((b) =>
    b.addEventListener("click", () => {
      document.querySelectorAll<HTMLButtonElement>("[data-tab]").forEach((x) => x.classList.toggle("active", x === b));
      $("#chat-pane").hidden = b.dataset.tab !== "chat";
      $("#log-pane").hidden = b.dataset.tab !== "log";
    }),
  );
}

// ---------- settings & recordings ----------

function fillSettingsForm(): void {
  $<HTMLSelectElement>("#set-resolution").value = `${settings.width}x${settings.height}`;
  $<HTMLSelectElement>("#set-fps").value = String(settings.fps);
  $<HTMLInputElement>("#set-bitrate").value = String(settings.bitrate_kbps);
  $<HTMLInputElement>("#set-keyframe").value = String(settings.keyframe_secs);
  $<HTMLSelectElement>("#set-encoder").value = settings.encoder;
  $<HTMLInputElement>("#set-recdir").value = settings.recording_dir ?? "";
}

async function renderRecordings(): Promise<void> {
  const list = $("#rec-list");
  list.replaceChildren();
  if (!settings.recording_dir) {
    list.innerHTML = `<li class="muted">Recording is off. Choose a folder in Settings.</li>`;
    return;
  }
  const recs = await invoke<RecordingView[]>("recordings", { dir: settings.recording_dir }).catch(() => []);
  if (recs.length === 0) list.innerHTML = `<li class="muted">No recordings yet.</li>`;
  for (const r of recs) {
    const li = document.createElement("li");
    li.textContent = `${r.name} · ${r.size_mb.toFixed(1)} MB`;
    list.append(li);
  }
}

function wireSettings(): void {
  $("#btn-settings").addEventListener("click", () => {
    fillSettingsForm();
    $<HTMLDialogElement>("#dlg-settings").showModal();
  });
  $("#btn-settings-cancel").addEventListener("click", () => $<HTMLDialogElement>("#dlg-settings").close());
  $<HTMLFormElement>("#form-settings").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [w, h] = $<HTMLSelectElement>("#set-resolution").value.split("x").map(Number);
    settings.width = w;
    settings.height = h;
    settings.fps = Number($<HTMLSelectElement>("#set-fps").value);
    settings.bitrate_kbps = Math.max(300, Number($<HTMLInputElement>("#set-bitrate").value) || 3500);
    settings.keyframe_secs = Math.max(0.25, Number($<HTMLInputElement>("#set-keyframe").value) || 1);
    settings.encoder = $<HTMLSelectElement>("#set-encoder").value as StudioSettings["encoder"];
    const dir = $<HTMLInputElement>("#set-recdir").value.trim();
    settings.recording_dir = dir || null;
    $<HTMLDialogElement>("#dlg-settings").close();
    await saveSettings();
    await renderRecordings();
    if (!live) await restartPreview();
  });
  $("#btn-open-rec").addEventListener("click", async () => {
    if (!settings.recording_dir) return showError({ kind: "invalid", message: "Choose a recording folder in Settings first." });
    await invoke("open_folder", { dir: settings.recording_dir }).catch(showError);
  });
  $("#btn-signout").addEventListener("click", async () => {
    try {
      await invoke("sign_out");
      profile = null;
      step("account");
    } catch (e) {
      showError(e);
    }
  });
}

// ---------- boot ----------

async function boot(): Promise<void> {
  const app = $("#app");
  app.innerHTML = shellHtml;
  settings = await invoke<StudioSettings>("load_settings");
  wireOnboarding();
  wireSources();
  wireDestinations();
  wireLive();
  wireChat();
  wireSettings();
  setMode(true);
  // The event only announces a frame; its JPEG comes from the app's `preview:` scheme as
  // a blob (no base64 through the event bridge), and each blob URL is revoked once the
  // next frame is on screen so the webview keeps one or two frames, not a history.
  let shownUrl: string | null = null;
  const showPreview = previewLoader(async (seq) => {
    const res = await fetch(convertFileSrc(String(seq), "preview"));
    if (!res.ok) return;
    const url = URL.createObjectURL(await res.blob());
    const img = $<HTMLImageElement>("#preview-img");
    img.src = url;
    await img.decode().catch(() => undefined);
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = url;
    $("#preview-state").hidden = true;
    document.body.dataset.previewFrames = String(Number(document.body.dataset.previewFrames ?? 0) + 1);
  });
  await listen<PreviewView>("preview", (ev) => showPreview(ev.payload.seq));
  await listen<StatsView>("stats", (ev) => renderStats(ev.payload));
  await listen<ChatUpdate>("chat", (ev) => {
    const u = ev.payload;
    if (u.kind === "frame") chat = chatReducer(chat, { type: "frame", frame: u.frame, now: Date.now() });
    else $("#chat-state").textContent = u.connected ? "" : u.text;
    renderChat();
  });
  await listen("confirm-close", async () => {
    if (window.confirm("You are live. End the stream and quit?")) await invoke("quit");
  });
  await renderRecordings();
  step("server");
  // Resume: a remembered server with a session from the keyring skips onboarding.
  try {
    const status = await invoke<ServerStatus>("startup");
    server = status;
    document.body.dataset.server = status.server;
    $("#server-label").textContent = status.local_server ? "Built-in server" : status.server;
    $("#account-server").textContent = status.local_server ? `Built-in server at ${status.server}` : status.server;
    if (status.profile) {
      profile = status.profile;
      await enterStudio();
    }
    // Otherwise stay on "pick a server": the built-in one is running and ready.
  } catch {
    // No usable remembered server: the creator picks one.
  }
  document.body.dataset.ready = "1";
}

boot().catch((e) => showError(e));
