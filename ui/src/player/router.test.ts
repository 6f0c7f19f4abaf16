import { describe, expect, it } from "vitest";
import { channelHref, parseRoute } from "./router";

describe("parseRoute", () => {
  it("maps / to home", () => {
    expect(parseRoute("/")).toEqual({ kind: "home" });
    expect(parseRoute("")).toEqual({ kind: "home" });
  });
  it("maps /{channel} to the watch page, lower-cased, trailing slash allowed", () => {
    expect(parseRoute("/Alice")).toEqual({ kind: "channel", channel: "alice", vod: null });
    expect(parseRoute("/bob_42/")).toEqual({ kind: "channel", channel: "bob_42", vod: null });
  });
  it("reads a past broadcast from ?vod=", () => {
    expect(parseRoute("/alice", "?vod=17")).toEqual({ kind: "channel", channel: "alice", vod: 17 });
    expect(parseRoute("/alice", "?vod=abc")).toEqual({ kind: "channel", channel: "alice", vod: null });
  });
  it("refuses reserved words, bad names and deeper paths", () => {
    for (const p of ["/api", "/hls", "/ws", "/assets", "/ab", "/a-b-c", "/alice/extra", "/%E0%A4%A"]) {
      expect(parseRoute(p).kind, p).toBe("not_found");
    }
  });
});

describe("channelHref", () => {
  it("builds watch and VOD links that parse back", () => {
    expect(channelHref("alice")).toBe("/alice");
    expect(channelHref("alice", 3)).toBe("/alice?vod=3");
    const [path, search] = channelHref("alice", 3).split("?");
    expect(parseRoute(path, `?${search}`)).toEqual({ kind: "channel", channel: "alice", vod: 3 });
  });
});
