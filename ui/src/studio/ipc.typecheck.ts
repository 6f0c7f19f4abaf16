// Type-level tests of the typed IPC, checked by `tsc --noEmit` (never run or bundled):
// each `@ts-expect-error` line must fail to compile, and tsc fails if it ever compiles,
// so the generated bindings really catch wrong command names, arguments and payloads.
import { defaultSettings } from "./fixtures";
import { commands, events, type StudioErrorKind, type StudioErrorView } from "./ipc";

/** Never called: only its types matter. */
export async function ipcTypeChecks(): Promise<void> {
  // The right calls compile.
  const status = await commands.connect(null);
  void status.local_server;
  await commands.goLive(defaultSettings, "title");
  await commands.chatSend({ type: "timeout", username: "bob", seconds: 600 });
  await events.stats.listen((e) => void e.payload.bitrate_kbps.toFixed(0));
  await events.chat.listen((e) => void (e.payload.kind === "frame" && e.payload.frame.type));

  // @ts-expect-error: no command is called goLiv
  await commands.goLiv(defaultSettings, "title");
  // @ts-expect-error: the title is a string
  await commands.goLive(defaultSettings, 42);
  // @ts-expect-error: go_live needs the settings and the title
  await commands.goLive("title");
  // @ts-expect-error: the settings have no `resolution` field
  await commands.startPreview({ ...defaultSettings, resolution: "720p" });
  // @ts-expect-error: connect answers a ServerStatus, which has no token
  void (await commands.connect(null)).token;
  // @ts-expect-error: "shout" is not a chat frame
  await commands.chatSend({ type: "shout", text: "hi" });
  // @ts-expect-error: a delete names a message id, a number
  await commands.chatSend({ type: "delete", id: "7" });
  // @ts-expect-error: no event is called previews
  await events.previews.listen(() => undefined);
  // @ts-expect-error: the stats payload has no `kbps`
  await events.stats.listen((e) => void e.payload.kbps);
  // @ts-expect-error: a preview announcement carries `seq`, not the JPEG
  await events.preview.listen((e) => void e.payload.jpeg);

  // Error kinds are the Rust enum's, and a table over them must name every one.
  const known: StudioErrorView = { kind: "wrong_password", message: "m" };
  void known;
  // @ts-expect-error: the studio never reports a kind called "oops"
  const unknown: StudioErrorKind = "oops";
  void unknown;
  // @ts-expect-error: a Record over the kinds that misses some does not compile
  const partial: Record<StudioErrorKind, string> = { unreachable: "Server unreachable" };
  void partial;
}
