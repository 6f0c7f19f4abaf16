// Chat state as a pure reducer over server frames and local events, so every
// rule (history, live messages, deletions, refusals, slow mode) is testable
// without a socket or a DOM. One reducer for the player's chat panel and the
// studio's (which gets the same frames through the `chat` event).

import type { Message } from "../bindings/Message";
import type { Role } from "../bindings/Role";
import type { ServerFrame } from "../bindings/ServerFrame";

/** A refusal or problem shown above the chat input. */
export interface ChatNotice {
  /** The server's code (`rate_limited`, `slow_mode`, `banned`, …) or a local one. */
  code: string;
  /** Sentence shown to the person. */
  text: string;
}

/** Everything the chat panel renders. */
export interface ChatState {
  /** Socket state. */
  connection: "connecting" | "open" | "closed";
  /** Who we speak as (`null` when anonymous). */
  username: string | null;
  /** Our role in this channel. */
  role: Role;
  /** Visible messages, oldest first, at most [`MAX_MESSAGES`]. */
  messages: Message[];
  /** Slow mode interval in seconds (0 = off). */
  slowSeconds: number;
  /** Epoch ms until which sending is refused (slow mode / timeout); 0 = none. */
  cooldownUntil: number;
  /** Latest refusal to show. */
  notice: ChatNotice | null;
  /** Banned in this channel: the input is disabled. */
  banned: boolean;
  /** Viewers right now, when the server has told us. */
  viewers: number | null;
  /** Live state from the `live` frame, `null` before the first one. */
  live: boolean | null;
  /** Broadcast title from the `live` frame. */
  title: string | null;
}

/** What can happen to the chat. */
export type ChatEvent =
  | { type: "frame"; frame: ServerFrame; now: number }
  | { type: "connecting" }
  | { type: "closed" }
  | { type: "dismiss_notice" };

/** Older messages are dropped beyond this many. */
export const MAX_MESSAGES = 300;

/** The state before the socket opens. */
export function initialChatState(): ChatState {
  return {
    connection: "connecting",
    username: null,
    role: "anonymous",
    messages: [],
    slowSeconds: 0,
    cooldownUntil: 0,
    notice: null,
    banned: false,
    viewers: null,
    live: null,
    title: null,
  };
}

/** Whether `role` may delete messages, time out and ban. */
export function canModerate(role: Role): boolean {
  return role === "owner" || role === "moderator";
}

/** Whole seconds left before sending is allowed again (0 = may send). */
export function cooldownSeconds(state: ChatState, now: number): number {
  return Math.max(0, Math.ceil((state.cooldownUntil - now) / 1000));
}

/** Whether the input should accept a message now. */
export function canSend(state: ChatState, now: number): boolean {
  return (
    state.connection === "open" &&
    state.role !== "anonymous" &&
    !state.banned &&
    cooldownSeconds(state, now) === 0
  );
}

const DEFAULT_TEXT: Record<string, string> = {
  rate_limited: "You are sending messages too quickly. Wait a moment.",
  slow_mode: "Slow mode is on: wait before sending another message.",
  banned: "You are banned from this chat.",
  timed_out: "You are timed out in this chat.",
  too_long: "That message is too long (500 characters at most).",
  not_allowed: "You are not allowed to do that.",
  bad_request: "The server did not understand that.",
};

/** Applies one event; returns a new state (the old one is never mutated). */
export function chatReducer(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case "connecting":
      return { ...state, connection: "connecting" };
    case "closed":
      return { ...state, connection: "closed" };
    case "dismiss_notice":
      return { ...state, notice: null };
    case "frame":
      return applyFrame(state, event.frame, event.now);
  }
}

function applyFrame(state: ChatState, frame: ServerFrame, now: number): ChatState {
  switch (frame.type) {
    case "hello":
      return {
        ...state,
        connection: "open",
        username: frame.username,
        role: frame.role,
        banned: false,
        notice: null,
      };
    case "history": {
      // History is authoritative (deleted ones absent); keep only live
      // messages that arrived after it was taken.
      const history = sortById(frame.messages);
      const lastId = history.length > 0 ? history[history.length - 1].id : Number.NEGATIVE_INFINITY;
      const newer = state.messages.filter((m) => m.id > lastId);
      return { ...state, messages: cap([...history, ...newer]) };
    }
    case "message": {
      const message: Message = {
        id: frame.id,
        username: frame.username,
        text: frame.text,
        sent_at: frame.sent_at,
      };
      if (state.messages.some((m) => m.id === message.id)) return state;
      const messages = insertSorted(state.messages, message);
      const mine = state.username !== null && message.username === state.username;
      if (!mine) return { ...state, messages };
      const cooldownUntil =
        state.slowSeconds > 0 && !canModerate(state.role)
          ? Math.max(state.cooldownUntil, now + state.slowSeconds * 1000)
          : state.cooldownUntil;
      return { ...state, messages, cooldownUntil, notice: null };
    }
    case "deleted":
      return { ...state, messages: state.messages.filter((m) => m.id !== frame.id) };
    case "viewers":
      return { ...state, viewers: frame.count };
    case "live":
      return { ...state, live: frame.live, title: frame.title };
    case "slow":
      return {
        ...state,
        slowSeconds: frame.seconds,
        cooldownUntil: frame.seconds === 0 ? 0 : state.cooldownUntil,
      };
    case "error":
      return applyRefusal(state, frame.code, frame.message, now);
    default:
      return state;
  }
}

function applyRefusal(state: ChatState, code: string, message: string, now: number): ChatState {
  const text = message.trim() || DEFAULT_TEXT[code] || "The server refused that.";
  const notice = { code, text: text[0].toUpperCase() + text.slice(1) };
  switch (code) {
    case "banned":
      return { ...state, banned: true, notice };
    case "slow_mode":
    case "timed_out":
    case "rate_limited": {
      const wait = secondsIn(message) ?? (code === "slow_mode" ? state.slowSeconds : 0);
      const cooldownUntil = Math.max(state.cooldownUntil, now + wait * 1000);
      return { ...state, cooldownUntil, notice };
    }
    default:
      return { ...state, notice };
  }
}

/** The first "N s" / "N more s" / "N seconds" in a server sentence, if any. */
function secondsIn(text: string): number | null {
  const m = /(\d+)\s*(?:more\s+)?(?:s\b|sec|second)/i.exec(text);
  return m ? Number(m[1]) : null;
}

function sortById(messages: readonly Message[]): Message[] {
  return [...messages].sort((a, b) => a.id - b.id);
}

function insertSorted(messages: readonly Message[], message: Message): Message[] {
  const out = [...messages];
  let i = out.length;
  while (i > 0 && out[i - 1].id > message.id) i--;
  out.splice(i, 0, message);
  return cap(out);
}

function cap(messages: Message[]): Message[] {
  return messages.length > MAX_MESSAGES ? messages.slice(messages.length - MAX_MESSAGES) : messages;
}
