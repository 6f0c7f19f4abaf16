// How errors look: a title for the kind, the sentence and what to do. The toast shows
// the store's `toast` for 9 s; the onboarding card has its own box (onboarding.ts).
import { h } from "../../shared/dom";
import { describeError, type UiError } from "../logic";
import type { StudioStore } from "../store";
import { watch } from "../store";
import type { View } from "./markup";

/** How long the toast stays up. */
const TOAST_MS = 9000;

/** Fills `box` with `err` and shows it. */
export function renderError(box: HTMLElement, err: UiError): void {
  const { title, hint } = describeError(err);
  const same = err.message.trim().toLowerCase() === title.toLowerCase();
  const text = [same ? "" : err.message, hint].filter(Boolean).join(" — ");
  box.replaceChildren(h("strong", {}, title), h("span", {}, ` ${text}`));
  box.dataset.kind = err.kind;
  box.hidden = false;
}

/** The toast over the window. */
export function createToast(store: StudioStore): View {
  const el = h("div", { class: "toast", attrs: { id: "toast", role: "alert", hidden: true } });
  let timer: number | undefined;
  const off = watch(store, (s) => s.toast, (toast) => {
    if (!toast) return;
    renderError(el, toast.error);
    window.clearTimeout(timer);
    timer = window.setTimeout(() => (el.hidden = true), TOAST_MS);
  });
  return {
    el,
    destroy() {
      off();
      window.clearTimeout(timer);
    },
  };
}
