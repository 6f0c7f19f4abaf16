// URL routing for the web player: `/` is the channel list, `/{channel}` the
// watch page, `/{channel}?vod={id}` a past broadcast of that channel.

/** Where a URL points inside the player. */
export type Route =
  | { kind: "home" }
  | { kind: "channel"; channel: string; vod: number | null }
  | { kind: "not_found"; path: string };

/** Channel names are usernames: 3–25 chars of `[a-z0-9_]`, case-insensitive. */
const CHANNEL_NAME = /^[a-z0-9_]{3,25}$/;

/** First path segments the server keeps for itself; never channels. */
const RESERVED = new Set([
  "api", "hls", "vod", "ws", "assets", "admin", "healthz", "studio", "static",
  "login", "logout", "register", "settings", "favicon.ico", "index.html", "studio.html",
]);

/** Parses `location.pathname` (+ `location.search`) into a [`Route`]. */
export function parseRoute(pathname: string, search = ""): Route {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return { kind: "not_found", path: pathname };
  }
  const segments = path.split("/").filter((s) => s.length > 0);
  if (segments.length === 0) return { kind: "home" };
  const name = segments[0].toLowerCase();
  if (segments.length > 1 || RESERVED.has(name) || !CHANNEL_NAME.test(name)) {
    return { kind: "not_found", path };
  }
  const vodParam = new URLSearchParams(search).get("vod");
  const vod = vodParam !== null && /^\d{1,15}$/.test(vodParam) ? Number(vodParam) : null;
  return { kind: "channel", channel: name, vod };
}

/** The URL of a channel's watch page, or of one of its past broadcasts. */
export function channelHref(channel: string, vod?: number | null): string {
  const base = `/${encodeURIComponent(channel)}`;
  return vod === undefined || vod === null ? base : `${base}?vod=${vod}`;
}
