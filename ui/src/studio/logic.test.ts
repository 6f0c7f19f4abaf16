import { describe, expect, it } from "vitest";
import {
  applyFrame,
  asError,
  describeError,
  emptyChat,
  formatBitrate,
  formatTimer,
  logModeration,
  MAX_MESSAGES,
  meterPercent,
  previewLoader,
  pushSample,
  sparkline,
  stateClass,
  usernameProblem,
} from "./logic";
import type { ServerFrame } from "../bindings/ServerFrame";

const msg = (id: number, text = "hi", username = "viewer_1"): ServerFrame => ({
  type: "message",
  id,
  username,
  text,
  sent_at: "2026-11-24T06:00:00Z",
});

describe("live timer and stats", () => {
  it("formats the timer", () => {
    expect(formatTimer(0)).toBe("0:00");
    expect(formatTimer(65.9)).toBe("1:05");
    expect(formatTimer(3600 + 62)).toBe("1:01:02");
    expect(formatTimer(-5)).toBe("0:00");
  });
  it("formats bitrates", () => {
    expect(formatBitrate(800.4)).toBe("800 kb/s");
    expect(formatBitrate(3500)).toBe("3.5 Mb/s");
  });
  it("keeps a bounded bitrate history", () => {
    let s: number[] = [];
    for (let i = 0; i < 70; i++) s = pushSample(s, i, 60);
    expect(s).toHaveLength(60);
    expect(s[0]).toBe(10);
    expect(pushSample([], NaN)).toEqual([0]);
  });
  it("draws a sparkline inside the box", () => {
    const pts = sparkline([0, 50, 100], 100, 20).split(" ").map((p) => p.split(",").map(Number));
    expect(pts).toHaveLength(3);
    expect(pts[0]).toEqual([0, 19]);
    expect(pts[2][0]).toBe(100);
    expect(pts[2][1]).toBe(1);
    expect(sparkline([], 10, 10)).toBe("");
  });
  it("maps dB to meter width", () => {
    expect(meterPercent(0)).toBe(100);
    expect(meterPercent(-60)).toBe(0);
    expect(meterPercent(-30)).toBe(50);
    expect(meterPercent(-Infinity)).toBe(0);
    expect(meterPercent(6)).toBe(100);
  });
  it("colours destination states", () => {
    expect(stateClass("live")).toBe("ok");
    expect(stateClass("failed")).toBe("bad");
    expect(stateClass("reconnecting")).toBe("warn");
    expect(stateClass("???")).toBe("idle");
  });
});

describe("chat state", () => {
  it("takes history sorted, appends messages once and removes deleted ones", () => {
    let s = applyFrame(emptyChat(), { type: "hello", channel: "c", username: "c", role: "owner" });
    expect(s.role).toBe("owner");
    s = applyFrame(s, {
      type: "history",
      messages: [
        { id: 2, username: "a", text: "two", sent_at: "" },
        { id: 1, username: "a", text: "one", sent_at: "" },
      ],
    });
    expect(s.messages.map((m) => m.id)).toEqual([1, 2]);
    s = applyFrame(s, msg(3));
    s = applyFrame(s, msg(3));
    expect(s.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(s.messages[2]).not.toHaveProperty("type");
    s = applyFrame(s, { type: "deleted", id: 2 });
    expect(s.messages.map((m) => m.id)).toEqual([1, 3]);
  });
  it("tracks viewers, slow mode, live and refusals", () => {
    let s = applyFrame(emptyChat(), { type: "viewers", count: 1 });
    s = applyFrame(s, { type: "slow", seconds: 10 });
    s = applyFrame(s, { type: "live", live: true, title: "t" });
    s = applyFrame(s, { type: "error", code: "slow_mode", message: "wait 10 s" });
    expect([s.viewers, s.slowSeconds, s.live, s.lastError]).toEqual([1, 10, true, "wait 10 s"]);
  });
  it("bounds the message list", () => {
    let s = emptyChat();
    for (let i = 0; i < MAX_MESSAGES + 20; i++) s = applyFrame(s, msg(i));
    expect(s.messages).toHaveLength(MAX_MESSAGES);
    expect(s.messages[0].id).toBe(20);
  });
  it("logs moderation newest first", () => {
    let s = logModeration(emptyChat(), "deleted a", new Date(2026, 0, 1, 6, 0, 1));
    s = logModeration(s, "banned b", new Date(2026, 0, 1, 6, 0, 2));
    expect(s.modLog[0]).toBe("06:00:02 banned b");
    expect(s.modLog).toHaveLength(2);
  });
});

describe("errors and validation", () => {
  it("explains error kinds", () => {
    expect(describeError({ kind: "unreachable", message: "x" }).title).toBe("Server unreachable");
    expect(describeError({ kind: "missing_plugin", message: "x" }).hint).toMatch(/package/);
    expect(describeError({ kind: "nope", message: "x" }).title).toBe("Something went wrong");
  });
  it("normalises thrown values", () => {
    expect(asError({ kind: "wrong_password", message: "m" }).kind).toBe("wrong_password");
    expect(asError("boom")).toEqual({ kind: "state", message: "boom" });
  });
  it("checks usernames like the contract", () => {
    expect(usernameProblem("ab")).not.toBeNull();
    expect(usernameProblem("good_name1")).toBeNull();
    expect(usernameProblem("Bad-Name")).not.toBeNull();
  });
});

describe("preview loading", () => {
  it("loads one frame at a time and then only the newest announced", async () => {
    const loaded: number[] = [];
    const gates: Array<() => void> = [];
    const show = previewLoader(
      (seq) =>
        new Promise<void>((resolve) => {
          loaded.push(seq);
          gates.push(resolve);
        }),
    );
    show(1);
    show(2);
    show(3);
    show(4);
    expect(loaded).toEqual([1]);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(loaded).toEqual([1, 4]);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    show(5);
    expect(loaded).toEqual([1, 4, 5]);
  });
  it("keeps going after a failed load", async () => {
    const loaded: number[] = [];
    const show = previewLoader(async (seq) => {
      loaded.push(seq);
      if (seq === 1) throw new Error("404");
    });
    show(1);
    await new Promise((r) => setTimeout(r, 0));
    show(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(loaded).toEqual([1, 2]);
  });
});
