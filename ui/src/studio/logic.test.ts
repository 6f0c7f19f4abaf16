import { describe, expect, it } from "vitest";
import {
  asError,
  describeError,
  type UiError,
  logModeration,
  meterPercent,
  previewLoader,
  pushSample,
  sparkline,
  stateClass,
  usernameProblem,
} from "./logic";

describe("stats", () => {
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

describe("moderation log", () => {
  it("logs newest first with the time", () => {
    let log = logModeration([], "deleted a", new Date(2026, 0, 1, 6, 0, 1));
    log = logModeration(log, "banned b", new Date(2026, 0, 1, 6, 0, 2));
    expect(log).toEqual(["06:00:02 banned b", "06:00:01 deleted a"]);
  });
  it("keeps at most 50 entries", () => {
    let log: string[] = [];
    for (let i = 0; i < 60; i++) log = logModeration(log, `e${i}`);
    expect(log).toHaveLength(50);
    expect(log[0]).toMatch(/ e59$/);
  });
});

describe("errors and validation", () => {
  it("explains error kinds", () => {
    expect(describeError({ kind: "unreachable", message: "x" }).title).toBe("Server unreachable");
    expect(describeError({ kind: "missing_plugin", message: "x" }).hint).toMatch(/package/);
    expect(describeError({ kind: "state", message: "x" }).title).toBe("Something went wrong");
    expect(describeError({ kind: "nope", message: "x" } as unknown as UiError).title).toBe("Something went wrong");
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
