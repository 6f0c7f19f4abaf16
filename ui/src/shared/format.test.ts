import { describe, expect, it } from "vitest";
import { formatBitrate, formatCount, formatDuration } from "./format";

describe("formatDuration", () => {
  it("shows minutes and seconds under an hour", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(65)).toBe("1:05");
    expect(formatDuration(65.9)).toBe("1:05");
  });
  it("never goes below zero", () => {
    expect(formatDuration(-5)).toBe("0:00");
  });
  it("shows hours when needed", () => {
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(3600 + 62)).toBe("1:01:02");
  });
});

describe("formatCount", () => {
  it("abbreviates large numbers", () => {
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1234)).toBe("1.2K");
    expect(formatCount(2_500_000)).toBe("2.5M");
  });
});

describe("formatBitrate", () => {
  it("switches to Mb/s from 1000 kb/s", () => {
    expect(formatBitrate(800.4)).toBe("800 kb/s");
    expect(formatBitrate(3500)).toBe("3.5 Mb/s");
  });
});
