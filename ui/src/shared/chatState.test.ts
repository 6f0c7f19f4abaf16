import { describe, expect, it } from "vitest";
import type { Message } from "../bindings/Message";
import type { ServerFrame } from "../bindings/ServerFrame";
import {
  MAX_MESSAGES,
  canSend,
  chatReducer,
  cooldownSeconds,
  initialChatState,
  type ChatState,
} from "./chatState";

const msg = (id: number, username = "bob", text = `m${id}`): Message => ({
  id,
  username,
  text,
  sent_at: "2026-01-01T00:00:00Z",
});

function run(frames: ServerFrame[], now = 0, start: ChatState = initialChatState()): ChatState {
  return frames.reduce((s, frame) => chatReducer(s, { type: "frame", frame, now }), start);
}

const helloBob: ServerFrame = { type: "hello", channel: "alice", username: "bob", role: "viewer" };

describe("chatReducer", () => {
  it("takes identity from hello and messages from history, oldest first", () => {
    const s = run([helloBob, { type: "history", messages: [msg(3), msg(1), msg(2)] }]);
    expect(s.connection).toBe("open");
    expect(s.username).toBe("bob");
    expect(s.role).toBe("viewer");
    expect(s.messages.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it("appends live messages, ignoring duplicates", () => {
    const s = run([
      helloBob,
      { type: "history", messages: [msg(1)] },
      { type: "message", ...msg(2) },
      { type: "message", ...msg(2) },
    ]);
    expect(s.messages.map((m) => m.id)).toEqual([1, 2]);
  });

  it("replaces messages on a reconnect's history but keeps newer live ones", () => {
    let s = run([helloBob, { type: "history", messages: [msg(1), msg(2)] }, { type: "message", ...msg(5) }]);
    // msg 2 was deleted while we were away: the new history lacks it.
    s = run([{ type: "history", messages: [msg(1), msg(3)] }], 0, s);
    expect(s.messages.map((m) => m.id)).toEqual([1, 3, 5]);
  });

  it("removes deleted messages", () => {
    const s = run([helloBob, { type: "history", messages: [msg(1), msg(2), msg(3)] }, { type: "deleted", id: 2 }]);
    expect(s.messages.map((m) => m.id)).toEqual([1, 3]);
  });

  it("keeps at most MAX_MESSAGES, dropping the oldest", () => {
    const many = Array.from({ length: MAX_MESSAGES + 10 }, (_, i) => msg(i + 1));
    const s = run([helloBob, { type: "history", messages: many }]);
    expect(s.messages).toHaveLength(MAX_MESSAGES);
    expect(s.messages[0].id).toBe(11);
  });

  it("tracks viewers, live state and title", () => {
    const s = run([{ type: "viewers", count: 12 }, { type: "live", live: true, title: "Speedrun" }]);
    expect(s.viewers).toBe(12);
    expect(s.live).toBe(true);
    expect(s.title).toBe("Speedrun");
  });

  it("shows a rate-limit refusal, blocking only as long as the server says", () => {
    let s = run([helloBob, { type: "error", code: "rate_limited", message: "" }]);
    expect(s.notice?.code).toBe("rate_limited");
    expect(s.notice?.text).toMatch(/too quickly/);
    expect(canSend(s, 0)).toBe(true);
    s = run([{ type: "error", code: "rate_limited", message: "you are sending messages too fast, wait 3 s" }], 1000, s);
    expect(s.notice?.text).toBe("You are sending messages too fast, wait 3 s");
    expect(cooldownSeconds(s, 1000)).toBe(3);
  });

  it("counts down a timeout from the server's sentence", () => {
    const s = run([helloBob, { type: "error", code: "timed_out", message: "you are timed out for 42 more s" }], 0);
    expect(s.notice?.code).toBe("timed_out");
    expect(cooldownSeconds(s, 0)).toBe(42);
    expect(canSend(s, 43_000)).toBe(true);
  });

  it("counts down slow mode after our own message and after a slow_mode refusal", () => {
    let s = run([helloBob, { type: "slow", seconds: 10 }, { type: "message", ...msg(1, "bob") }], 1000);
    expect(cooldownSeconds(s, 1000)).toBe(10);
    expect(canSend(s, 5000)).toBe(false);
    expect(cooldownSeconds(s, 5000)).toBe(6);
    expect(canSend(s, 11_000)).toBe(true);
    s = run([{ type: "error", code: "slow_mode", message: "slow mode is on, wait 7 s" }], 20_000, s);
    expect(s.notice?.code).toBe("slow_mode");
    expect(cooldownSeconds(s, 20_000)).toBe(7);
    s = run([{ type: "slow", seconds: 0 }], 20_000, s);
    expect(canSend(s, 20_000)).toBe(true);
  });

  it("does not slow down moderators or count other people's messages", () => {
    const mod = run([{ type: "hello", channel: "alice", username: "m", role: "moderator" }, { type: "slow", seconds: 30 }]);
    expect(cooldownSeconds(run([{ type: "message", ...msg(1, "m") }], 0, mod), 0)).toBe(0);
    const viewer = run([helloBob, { type: "slow", seconds: 30 }]);
    expect(cooldownSeconds(run([{ type: "message", ...msg(1, "carol") }], 0, viewer), 0)).toBe(0);
  });

  it("disables sending once banned", () => {
    const s = run([helloBob, { type: "error", code: "banned", message: "You are banned from this chat." }]);
    expect(s.banned).toBe(true);
    expect(s.notice?.text).toBe("You are banned from this chat.");
    expect(canSend(s, 0)).toBe(false);
  });

  it("never lets anonymous viewers send", () => {
    const s = run([{ type: "hello", channel: "alice", username: null, role: "anonymous" }]);
    expect(canSend(s, 0)).toBe(false);
  });

  it("goes back to connecting/closed with the socket and keeps messages", () => {
    let s = run([helloBob, { type: "history", messages: [msg(1)] }]);
    s = chatReducer(s, { type: "closed" });
    expect(s.connection).toBe("closed");
    expect(canSend(s, 0)).toBe(false);
    expect(s.messages).toHaveLength(1);
  });
});
