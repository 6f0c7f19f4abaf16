// Pure studio UI logic (no DOM, no Tauri): tested by logic.test.ts.
import type { ServerFrame } from "../bindings/ServerFrame";
import type { Message } from "../bindings/Message";
import type { StudioErrorView } from "./bindings/StudioErrorView";

/** `h:mm:ss` (or `m:ss` under an hour) for the live timer. */
export function formatTimer(totalSecs: number): string {
  const s = Math.max(0, Math.floor(totalSecs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** kbit/s as a short label. */
export function formatBitrate(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`;
}

/** Keeps the last `max` samples. */
export function pushSample(samples: number[], value: number, max = 60): number[] {
  const next = [...samples, Number.isFinite(value) ? value : 0];
  return next.length > max ? next.slice(next.length - max) : next;
}

/** An SVG polyline `points` string for a sparkline of `samples` in a w×h box. */
export function sparkline(samples: number[], w: number, h: number): string {
  if (samples.length === 0) return "";
  const top = Math.max(1, ...samples);
  const step = samples.length > 1 ? w / (samples.length - 1) : 0;
  return samples
    .map((v, i) => `${(i * step).toFixed(1)},${(h - (v / top) * (h - 2) - 1).toFixed(1)}`)
    .join(" ");
}

/** A dBFS level as 0–100 % of a meter spanning -60…0 dB. */
export function meterPercent(db: number): number {
  if (!Number.isFinite(db)) return 0;
  return Math.round(Math.min(100, Math.max(0, ((db + 60) / 60) * 100)));
}

/** The chat panel's state. */
export interface ChatState {
  messages: Message[];
  viewers: number;
  role: string;
  slowSeconds: number;
  modLog: string[];
  lastError: string | null;
  live: boolean;
}

/** An empty chat. */
export function emptyChat(): ChatState {
  return { messages: [], viewers: 0, role: "anonymous", slowSeconds: 0, modLog: [], lastError: null, live: false };
}

/** Keeps at most this many messages in the panel. */
export const MAX_MESSAGES = 300;

/** Applies one server frame to the chat state (returns a new state). */
export function applyFrame(state: ChatState, frame: ServerFrame): ChatState {
  switch (frame.type) {
    case "hello":
      return { ...state, role: frame.role, lastError: null };
    case "history":
      return { ...state, messages: [...frame.messages].sort((a, b) => Number(a.id) - Number(b.id)) };
    case "message": {
      const { type: _t, ...msg } = frame;
      if (state.messages.some((m) => m.id === msg.id)) return state;
      const messages = [...state.messages, msg as Message].slice(-MAX_MESSAGES);
      return { ...state, messages };
    }
    case "deleted":
      return { ...state, messages: state.messages.filter((m) => m.id !== frame.id) };
    case "viewers":
      return { ...state, viewers: Number(frame.count) };
    case "live":
      return { ...state, live: frame.live };
    case "slow":
      return { ...state, slowSeconds: Number(frame.seconds) };
    case "error":
      return { ...state, lastError: frame.message };
    default:
      return state;
  }
}

/** Records a moderation action in the log (newest first, bounded). */
export function logModeration(state: ChatState, entry: string, now = new Date()): ChatState {
  const time = now.toTimeString().slice(0, 8);
  return { ...state, modLog: [`${time} ${entry}`, ...state.modLog].slice(0, 50) };
}

/** A title for an error kind, and what the creator can do about it. */
export function describeError(e: StudioErrorView): { title: string; hint: string } {
  const hints: Record<string, [string, string]> = {
    unreachable: ["Server unreachable", "Check the address, or use the built-in server."],
    wrong_password: ["Wrong username or password", "Check both and try again."],
    conflict: ["Already taken", "Pick another username."],
    invalid: ["Not accepted", "Fix the highlighted value."],
    not_signed_in: ["Signed out", "Sign in again."],
    missing_plugin: ["GStreamer plugin missing", "Install the named package, then try again."],
    device_busy: ["Device busy", "Close the other app using it, or pick another source."],
    device: ["Device unavailable", "Check it is connected, or pick another source."],
    keyring: ["Keyring unavailable", "Unlock your desktop keyring (Secret Service)."],
    rate_limited: ["Too many attempts", "Wait a moment and try again."],
    key_rejected: ["Destination failed", "Check or rotate that destination's stream key."],
    engine: ["Broadcast problem", "Check the sources and settings."],
    chat: ["Chat unavailable", "It reconnects by itself; try again in a moment."],
  };
  const [title, hint] = hints[e.kind] ?? ["Something went wrong", ""];
  return { title, hint };
}

/** Turns whatever a Tauri command threw into a StudioErrorView. */
export function asError(e: unknown): StudioErrorView {
  if (e && typeof e === "object" && "kind" in e && "message" in e) return e as StudioErrorView;
  return { kind: "state", message: String(e) };
}

/** Client-side check of a username before asking the server (contract: 3–25 of [a-z0-9_]). */
export function usernameProblem(name: string): string | null {
  const n = name.trim().toLowerCase();
  if (n.length < 3 || n.length > 25) return "3 to 25 characters";
  if (!/^[a-z0-9_]+$/.test(n)) return "only letters, digits and _";
  return null;
}

/** Output state → a CSS class for the destination pill. */
export function stateClass(state: string): string {
  return (
    { live: "ok", connecting: "warn", reconnecting: "warn", failed: "bad", stopped: "idle" }[state] ?? "idle"
  );
}

/**
 * Shows announced preview frames one load at a time: while a frame loads, newer
 * announcements replace each other and only the newest is loaded next, so a slow
 * webview skips frames instead of queueing them. A failed load just drops that frame.
 */
export function previewLoader(load: (seq: number) => Promise<void>): (seq: number) => void {
  let busy = false;
  let pending: number | null = null;
  const run = async (seq: number): Promise<void> => {
    busy = true;
    try {
      await load(seq);
    } catch {
      // a dropped preview frame
    }
    busy = false;
    if (pending !== null) {
      const next = pending;
      pending = null;
      void run(next);
    }
  };
  return (seq) => {
    if (busy) pending = seq;
    else void run(seq);
  };
}
