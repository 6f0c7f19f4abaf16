import { describe, expect, it } from "vitest";
import { formatCount, formatDuration } from "./format";

describe("formatDuration", () => {
  it("shows minutes and seconds under an hour", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(65)).toBe("1:05");
  });
  it("shows hours when needed", () => {
    expect(formatDuration(3725)).toBe("1:02:05");
  });
});

describe("formatCount", () => {
  it("abbreviates large numbers", () => {
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1234)).toBe("1.2K");
    expect(formatCount(2_500_000)).toBe("2.5M");
  });
});
