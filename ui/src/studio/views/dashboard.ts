// The studio dashboard once signed in: top bar; sources, destinations and recordings on
// the left; preview and stats in the middle; chat on the right; the settings dialog.
import { h } from "../../shared/dom";
import { watch, type StudioStore } from "../store";
import { createChat } from "./chat";
import { createDestinations } from "./destinations";
import type { View } from "./markup";
import { createPreview, type PreviewPane } from "./preview";
import { createRecordings } from "./recordings";
import { createSettings } from "./settings";
import { createSources } from "./sources";
import { createStats } from "./stats";
import { createTopbar } from "./topbar";

/** The dashboard, and its preview pane (fed by the `preview` event). */
export interface Dashboard extends View {
  preview: PreviewPane;
}

/** The dashboard; shown while the screen is `studio`. */
export function createDashboard(store: StudioStore): Dashboard {
  const settings = createSettings(store);
  const preview = createPreview(store);
  const sources = createSources(store);
  const destinations = createDestinations(store);
  const recordings = createRecordings(store);
  const stats = createStats(store);
  const topbar = createTopbar(store, settings.open);
  const chat = createChat(store);
  const views: View[] = [topbar, sources, destinations, recordings, preview, stats, chat, settings];
  const el = h(
    "section",
    { class: "studio", attrs: { id: "studio", hidden: true } },
    topbar.el,
    h("aside", { class: "left" }, sources.el, destinations.el, recordings.el),
    h("main", { class: "center" }, preview.el, stats.el),
    chat.el,
    settings.el,
  );
  const off = watch(store, (s) => s.screen, (screen) => (el.hidden = screen !== "studio"));
  return {
    el,
    preview,
    destroy() {
      off();
      views.forEach((v) => v.destroy());
    },
  };
}
