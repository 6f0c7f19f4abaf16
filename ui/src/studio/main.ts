// AeThex Studio window: boots the store and the views, and feeds the studio's events
// into them. The views are in views/, their state in state.ts (one store, store.ts),
// what they ask the studio to do in actions.ts, the typed commands and events in ipc.ts.
import "./studio.css";
import { refreshRecordings, resume } from "./actions";
import { commands, events } from "./ipc";
import { asError } from "./logic";
import { createStudioStore } from "./store";
import { createDashboard } from "./views/dashboard";
import { renderError, createToast } from "./views/errors";
import { createOnboarding } from "./views/onboarding";

async function boot(): Promise<void> {
  const store = createStudioStore(await commands.loadSettings());
  const dashboard = createDashboard(store);
  document.querySelector("#app")?.replaceChildren(createToast(store).el, createOnboarding(store).el, dashboard.el);
  await events.preview.listen((ev) => dashboard.preview.show(ev.payload.seq));
  await events.stats.listen((ev) => store.dispatch({ type: "stats", stats: ev.payload }));
  await events.chat.listen((ev) => store.dispatch({ type: "chat", update: ev.payload, now: Date.now() }));
  await events.confirmClose.listen(async () => {
    if (window.confirm("You are live. End the stream and quit?")) await commands.quit();
  });
  await refreshRecordings(store);
  await resume(store);
  document.body.dataset.ready = "1";
}

boot().catch((e) => {
  // Nothing is mounted when the first command fails: show it plainly.
  const box = document.createElement("div");
  box.className = "toast";
  document.body.append(box);
  renderError(box, asError(e));
});
