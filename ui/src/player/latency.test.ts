import { describe, expect, it } from "vitest";
import { formatLatency, isBehindLive, latencyMs, percentile } from "./latency";

describe("latencyMs", () => {
  it("is now minus the capture time of the frame on screen", () => {
    const captured = new Date("2026-01-01T00:00:00.000Z");
    expect(latencyMs(captured.getTime() + 1234, captured)).toBe(1234);
  });
  it("is unknown without a program date", () => {
    expect(latencyMs(1000, null)).toBeNull();
    expect(latencyMs(1000, undefined)).toBeNull();
    expect(latencyMs(1000, new Date(Number.NaN))).toBeNull();
    expect(latencyMs(1000, new Date(0))).toBeNull();
  });
});

describe("formatLatency", () => {
  it("shows tenths under 10 s and whole seconds above", () => {
    expect(formatLatency(900)).toBe("0.9 s");
    expect(formatLatency(12_400)).toBe("12 s");
    expect(formatLatency(-50)).toBe("0.0 s");
    expect(formatLatency(null)).toBe("–");
  });
});

describe("isBehindLive", () => {
  it("offers a jump only when clearly behind the target", () => {
    expect(isBehindLive(1.2, 1)).toBe(false);
    expect(isBehindLive(3.5, 1)).toBe(true);
    expect(isBehindLive(null, 1)).toBe(false);
  });
});

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 95)).toBe(10);
    expect(percentile([], 50)).toBeNull();
  });
});
