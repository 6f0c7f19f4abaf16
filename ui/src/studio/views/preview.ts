// The preview: the engine's newest frame. The `preview` event only announces a frame;
// its JPEG comes from the app's `preview:` scheme as a blob (no base64 through the
// event bridge), one load at a time (newest wins), and each blob URL is revoked once the
// next frame is on screen so the webview keeps one or two frames, not a history.
import { convertFileSrc } from "@tauri-apps/api/core";
import { previewLoader } from "../logic";
import { watch, type StudioStore } from "../store";
import { fromMarkup, part, type View } from "./markup";

const MARKUP = `
<div class="preview">
  <img id="preview-img" alt="Preview" />
  <div id="preview-state" class="preview-state">Starting preview…</div>
</div>`;

/** The preview; `show(seq)` loads an announced frame. */
export interface PreviewPane extends View {
  show(seq: number): void;
}

/** The preview pane. */
export function createPreview(store: StudioStore): PreviewPane {
  const el = fromMarkup(MARKUP);
  const img = part<HTMLImageElement>(el, "#preview-img");
  const note = part(el, "#preview-state");
  let shownUrl: string | null = null;
  const show = previewLoader(async (seq) => {
    const res = await fetch(convertFileSrc(String(seq), "preview"));
    if (!res.ok) return;
    const url = URL.createObjectURL(await res.blob());
    img.src = url;
    await img.decode().catch(() => undefined);
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = url;
    note.hidden = true;
    document.body.dataset.previewFrames = String(Number(document.body.dataset.previewFrames ?? 0) + 1);
  });
  const off = watch(store, (s) => s.previewNote, (n) => {
    if (!n) return;
    note.textContent = n.text;
    note.hidden = false;
  });
  return {
    el,
    show,
    destroy() {
      off();
      if (shownUrl) URL.revokeObjectURL(shownUrl);
    },
  };
}
