// Recordings: the files in the recording folder, and a button that opens it.
import { h } from "../../shared/dom";
import { fail } from "../actions";
import { commands } from "../ipc";
import { watch, type StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

const MARKUP = `
<section class="panel">
  <h2>Recordings <button id="btn-open-rec" class="ghost small">Open folder</button></h2>
  <ul id="rec-list" class="rec-list"></ul>
</section>`;

/** The recordings panel. */
export function createRecordings(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const list = part(el, "#rec-list");
  const off = watch(store, (s) => s.recordings, (recs) => {
    if (recs === null) {
      list.replaceChildren(h("li", { class: "muted" }, "Recording is off. Choose a folder in Settings."));
    } else if (recs.length === 0) {
      list.replaceChildren(h("li", { class: "muted" }, "No recordings yet."));
    } else {
      list.replaceChildren(...recs.map((r) => h("li", {}, `${r.name} · ${r.size_mb.toFixed(1)} MB`)));
    }
  });
  part(el, "#btn-open-rec").addEventListener("click", async () => {
    const dir = store.get().settings.recording_dir;
    if (!dir) return fail(store, { kind: "invalid", message: "Choose a recording folder in Settings first." });
    await commands.openFolder(dir).catch((e) => fail(store, e));
  });
  return { el, destroy: off };
}
