// Web player entry: the header, then the page for the URL (`/` channel list,
// `/{channel}` watch page). Links marked `data-link` navigate without a reload.

import "./style.css";
import { api } from "./api";
import { h, replaceChildren } from "../shared/dom";
import { parseRoute, type Route } from "./router";
import { getSession, onSession, setSession } from "./session";
import { openAuthDialog } from "./views/authDialog";
import { createHomePage } from "./views/home";
import type { Page } from "./views/page";

const app = document.querySelector<HTMLDivElement>("#app");
let page: Page | null = null;

function header(): HTMLElement {
  const account = h("div", { class: "account" });
  const render = () => {
    const s = getSession();
    if (s) {
      const out = h("button", { class: "btn btn-ghost btn-small", attrs: { type: "button" } }, "Sign out");
      out.addEventListener("click", () => {
        void api.logout(s.token).catch(() => undefined);
        setSession(null);
      });
      replaceChildren(account, h("span", { class: "me", attrs: { title: "Signed in" } }, s.user.display_name || s.user.username), out);
    } else {
      const signIn = h("button", { class: "btn btn-ghost btn-small", attrs: { type: "button" } }, "Sign in");
      signIn.addEventListener("click", () => void openAuthDialog("login"));
      const register = h("button", { class: "btn btn-primary btn-small", attrs: { type: "button" } }, "Sign up");
      register.addEventListener("click", () => void openAuthDialog("register"));
      replaceChildren(account, signIn, register);
    }
  };
  onSession(render);
  render();
  return h(
    "header",
    { class: "topbar" },
    h("a", { class: "skip-link", attrs: { href: "#main" } }, "Skip to content"),
    h(
      "a",
      { class: "brand", attrs: { href: "/", "data-link": true, "aria-label": "AeThex Live home" } },
      h("span", { class: "brand-mark", attrs: { "aria-hidden": "true" } }, "Æ"),
      h("span", { class: "brand-name" }, "AeThex", h("span", { class: "brand-live" }, " Live")),
    ),
    account,
  );
}

function pageFor(route: Route): Page {
  switch (route.kind) {
    case "home":
      return createHomePage();
    case "channel":
      // The watch page carries hls.js: loaded only when needed.
      return lazyPage(() => import("./views/watch").then((m) => m.createWatchPage(route.channel, route.vod)));
    case "not_found": {
      document.title = "Not found – AeThex Live";
      const el = h(
        "main",
        { class: "empty-page", attrs: { id: "main" } },
        h("h1", {}, "Page not found"),
        h("p", {}, "Nothing lives at this address."),
        h("a", { class: "btn btn-primary", attrs: { href: "/", "data-link": true } }, "Browse channels"),
      );
      return { el, destroy: () => undefined };
    }
  }
}

/** A page whose code is fetched on demand; a placeholder until then. */
function lazyPage(load: () => Promise<Page>): Page {
  const placeholder = h("main", { class: "page-loading", attrs: { id: "main" } });
  let inner: Page | null = null;
  let destroyed = false;
  load().then(
    (p) => {
      if (destroyed) return p.destroy();
      inner = p;
      placeholder.replaceWith(p.el);
    },
    () => {
      replaceChildren(
        placeholder,
        h("section", { class: "empty-page" }, h("h1", {}, "Could not load the player"), h("p", {}, "Check your connection and reload the page.")),
      );
    },
  );
  return {
    el: placeholder,
    destroy() {
      destroyed = true;
      inner?.destroy();
    },
  };
}

function show(): void {
  if (!app) return;
  page?.destroy();
  page = pageFor(parseRoute(location.pathname, location.search));
  const old = app.querySelector("main, .page");
  if (old) old.replaceWith(page.el);
  else app.appendChild(page.el);
  window.scrollTo(0, 0);
}

/** Navigates inside the player without reloading the page. */
export function navigate(href: string): void {
  history.pushState(null, "", href);
  show();
}

if (app) {
  replaceChildren(app, header());
  document.addEventListener("click", (e) => {
    const a = (e.target as Element | null)?.closest?.("a[data-link]");
    if (!(a instanceof HTMLAnchorElement)) return;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.origin !== location.origin) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
  window.addEventListener("popstate", show);
  show();
  // A stored session may have expired: check it once, quietly.
  const s = getSession();
  if (s) void api.me(s.token).catch((err: { status?: number }) => {
    if (err.status === 401) setSession(null);
  });
}
