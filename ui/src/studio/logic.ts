// Pure studio UI logic (no DOM, no Tauri): tested by logic.test.ts.
import type { StudioErrorKind, StudioErrorView } from "./ipc";

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

/** Adds a moderation action to the log (newest first, at most 50 entries). */
export function logModeration(log: readonly string[], entry: string, now = new Date()): string[] {
  const time = now.toTimeString().slice(0, 8);
  return [`${time} ${entry}`, ...log].slice(0, 50);
}

/** An error kind the window tells apart: one a command reports, or `key_rejected` for a
 * destination that failed while live (seen in the stats). */
export type UiErrorKind = StudioErrorKind | "key_rejected";

/** An error the window shows. */
export interface UiError {
  kind: UiErrorKind;
  message: string;
}

/** Kinds the creator can do nothing specific about: the sentence says it all. */
const PLAIN: [string, string] = ["Something went wrong", ""];

/** A title and a hint for every kind: a kind added in Rust fails to compile here. */
const ERROR_TEXT: Record<UiErrorKind, [string, string]> = {
  unreachable: ["Server unreachable", "Check the address, or use the built-in server."],
  wrong_password: ["Wrong username or password", "Check both and try again."],
  not_signed_in: ["Signed out", "Sign in again."],
  conflict: ["Already taken", "Pick another username."],
  invalid: ["Not accepted", "Fix the highlighted value."],
  rate_limited: ["Too many attempts", "Wait a moment and try again."],
  server: PLAIN,
  missing_plugin: ["GStreamer plugin missing", "Install the named package, then try again."],
  device_busy: ["Device busy", "Close the other app using it, or pick another source."],
  device: ["Device unavailable", "Check it is connected, or pick another source."],
  engine: ["Broadcast problem", "Check the sources and settings."],
  keyring: ["Keyring unavailable", "Unlock your desktop keyring (Secret Service)."],
  local_server: PLAIN,
  no_server: PLAIN,
  chat: ["Chat unavailable", "It reconnects by itself; try again in a moment."],
  state: PLAIN,
  key_rejected: ["Destination failed", "Check or rotate that destination's stream key."],
};

/** A title for an error kind, and what the creator can do about it. */
export function describeError(e: UiError): { title: string; hint: string } {
  // Only a value that did not come through the typed IPC could miss the table.
  const [title, hint] = ERROR_TEXT[e.kind] ?? PLAIN;
  return { title, hint };
}

/** Turns whatever a Tauri command threw into an error to show. */
export function asError(e: unknown): UiError {
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
