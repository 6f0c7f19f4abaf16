// The studio window's state: one object, changed only by `studioReducer` (pure: no DOM,
// no IPC, tested by state.test.ts). The store (store.ts) holds it; views subscribe.
import { chatReducer, initialChatState, type ChatState } from "../shared/chatState";
import type { ChatUpdate, DestinationView, Profile, RecordingView, ServerStatus, StatsView, StudioSettings } from "./ipc";
import { logModeration, pushSample, type UiError } from "./logic";

/** An onboarding step. */
export type Step = "server" | "account" | "profile";

/** What the window shows: nothing before boot, an onboarding step, or the studio. */
export type Screen = "loading" | Step | "studio";

/** Everything the studio's views render. */
export interface StudioState {
  /** What the app remembers (never a key). */
  settings: StudioSettings;
  /** The server connected to, once connected. */
  server: ServerStatus | null;
  /** Who is signed in. */
  profile: Profile | null;
  screen: Screen;
  /** Broadcasting (not just previewing). */
  live: boolean;
  /** Epoch ms the broadcast started (or ended). */
  liveSince: number;
  /** The engine's latest numbers. */
  stats: StatsView | null;
  /** Recent total bitrates for the sparkline, oldest first. */
  bitrates: number[];
  /** Outputs already reported as failed in this broadcast (told once each). */
  failedOutputs: string[];
  /** The creator's own chat, from the same reducer as the player's. */
  chat: ChatState;
  /** The chat connection's trouble in words ("" when connected). */
  chatStatus: string;
  /** Moderation actions, newest first. */
  modLog: string[];
  destinations: DestinationView[];
  /** Recordings in the recording folder; `null` when recording is off. */
  recordings: RecordingView[] | null;
  /** Text over the preview until the next frame (a new object each time it is set). */
  previewNote: { text: string } | null;
  /** The error in the toast; `seq` grows with every error, so the same one shows again. */
  toast: { error: UiError; seq: number } | null;
  /** The error shown on the onboarding card. */
  onboardError: UiError | null;
}

/** What can happen to the studio's state. */
export type StudioAction =
  | { type: "settings"; settings: StudioSettings }
  | { type: "connected"; status: ServerStatus }
  | { type: "signed_in"; profile: Profile }
  | { type: "signed_out" }
  | { type: "screen"; screen: Screen }
  | { type: "live"; live: boolean; now: number }
  | { type: "stats"; stats: StatsView }
  | { type: "chat"; update: ChatUpdate; now: number }
  | { type: "moderated"; entry: string; now: Date }
  | { type: "destinations"; rows: DestinationView[] }
  | { type: "recordings"; recordings: RecordingView[] | null }
  | { type: "preview_note"; text: string }
  | { type: "error"; error: UiError; where: "toast" | "onboarding" }
  | { type: "clear_onboard_error" };

/** The state at boot, with the remembered settings. */
export function initialStudioState(settings: StudioSettings): StudioState {
  return {
    settings,
    server: null,
    profile: null,
    screen: "loading",
    live: false,
    liveSince: 0,
    stats: null,
    bitrates: [],
    failedOutputs: [],
    chat: initialChatState(),
    chatStatus: "",
    modLog: [],
    destinations: [],
    recordings: null,
    previewNote: null,
    toast: null,
    onboardError: null,
  };
}

/** Applies one action; returns a new state (the old one is never mutated). */
export function studioReducer(state: StudioState, action: StudioAction): StudioState {
  switch (action.type) {
    case "settings":
      return { ...state, settings: action.settings };
    case "connected":
      return { ...state, server: action.status, profile: action.status.profile ?? state.profile };
    case "signed_in":
      return { ...state, profile: action.profile };
    case "signed_out":
      return { ...state, profile: null, screen: "account" };
    case "screen":
      return { ...state, screen: action.screen };
    case "live": {
      // A new broadcast reports its failures afresh; an ended one shows no outputs.
      const stats = !action.live && state.stats ? { ...state.stats, outputs: [] } : state.stats;
      return { ...state, live: action.live, liveSince: action.now, failedOutputs: [], stats };
    }
    case "stats":
      return applyStats(state, action.stats);
    case "chat": {
      const u = action.update;
      if (u.kind === "frame") {
        return { ...state, chat: chatReducer(state.chat, { type: "frame", frame: u.frame, now: action.now }) };
      }
      return { ...state, chatStatus: u.connected ? "" : u.text };
    }
    case "moderated":
      return { ...state, modLog: logModeration(state.modLog, action.entry, action.now) };
    case "destinations":
      return { ...state, destinations: action.rows };
    case "recordings":
      return { ...state, recordings: action.recordings };
    case "preview_note":
      return { ...state, previewNote: { text: action.text } };
    case "error":
      return action.where === "toast"
        ? { ...state, toast: { error: action.error, seq: (state.toast?.seq ?? 0) + 1 } }
        : { ...state, onboardError: action.error };
    case "clear_onboard_error":
      return { ...state, onboardError: null };
  }
}

/** New numbers; an output that newly failed, or an engine error, goes to the toast. */
function applyStats(state: StudioState, stats: StatsView): StudioState {
  let next: StudioState = { ...state, stats, bitrates: pushSample(state.bitrates, stats.bitrate_kbps) };
  const toast = (error: UiError) => {
    next = { ...next, toast: { error, seq: (next.toast?.seq ?? 0) + 1 } };
  };
  for (const o of stats.outputs) {
    if (o.state === "failed" && o.error && !next.failedOutputs.includes(o.name)) {
      next = { ...next, failedOutputs: [...next.failedOutputs, o.name] };
      toast({ kind: "key_rejected", message: `${o.name}: ${o.error}` });
    }
  }
  if (stats.error) toast({ kind: "engine", message: stats.error });
  return next;
}
