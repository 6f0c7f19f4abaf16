import { describe, expect, it } from "vitest";
import { ApiError, errorFrom, liveSrc, loadSession, saveSession, vodSrc } from "./api";
import { chatUrl, parseFrame, viewerId } from "./chat";
import { prefersNativeHls } from "./player";

describe("errorFrom", () => {
  it("reads the contract's error shape", () => {
    const e = errorFrom(409, { error: { code: "username_taken", message: "That username is taken." } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message]).toEqual([409, "username_taken", "That username is taken."]);
  });
  it("copes with bodies that are not the contract's", () => {
    expect(errorFrom(502, null).code).toBe("http_502");
    expect(errorFrom(404, "<html>").message).toBe("Not found.");
  });
});

describe("session storage", () => {
  it("round-trips and rejects garbage", () => {
    saveSession({ token: "t", user: { id: 1, username: "bob", display_name: "Bob" } });
    expect(loadSession()?.user.username).toBe("bob");
    localStorage.setItem("aethex.session", "{not json");
    expect(loadSession()).toBeNull();
    saveSession(null);
    expect(loadSession()).toBeNull();
  });
});

describe("URLs", () => {
  it("builds media and chat URLs from the contract", () => {
    expect(liveSrc("alice")).toBe("/hls/alice/index.m3u8");
    expect(vodSrc(12)).toBe("/vod/12/index.m3u8");
    expect(chatUrl({ protocol: "http:", host: "h:1" }, "alice", null)).toBe("ws://h:1/ws/chat/alice");
    expect(chatUrl({ protocol: "https:", host: "h" }, "alice", "a b")).toBe("wss://h/ws/chat/alice?token=a%20b");
    expect(chatUrl({ protocol: "http:", host: "h" }, "alice", null, "v1")).toBe("ws://h/ws/chat/alice?viewer=v1");
  });

  it("keeps one viewer id per browser", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const a = viewerId(storage);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(viewerId(storage)).toBe(a);
    expect(viewerId(null)).toBeNull();
  });
});

describe("parseFrame", () => {
  it("accepts typed JSON objects only", () => {
    expect(parseFrame('{"type":"viewers","count":3}')).toEqual({ type: "viewers", count: 3 });
    expect(parseFrame("nope")).toBeNull();
    expect(parseFrame("[1]")).toBeNull();
    expect(parseFrame('{"count":3}')).toBeNull();
    expect(parseFrame(new ArrayBuffer(2))).toBeNull();
  });
});

describe("prefersNativeHls", () => {
  const video = (canPlay: string) => ({ canPlayType: () => canPlay }) as unknown as HTMLVideoElement;
  const safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
  const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
  it("uses Safari's own HLS, and hls.js elsewhere", () => {
    expect(prefersNativeHls(video("maybe"), safari, true)).toBe(true);
    expect(prefersNativeHls(video("maybe"), chrome, true)).toBe(false);
    expect(prefersNativeHls(video(""), safari, true)).toBe(false);
    // iOS without Media Source Extensions: native is the only way.
    expect(prefersNativeHls(video("maybe"), chrome, false)).toBe(true);
  });
});
