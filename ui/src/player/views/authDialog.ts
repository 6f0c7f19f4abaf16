// Sign in / create account dialog (a native <dialog>: focus trap, Esc to close).

import { ApiError, api } from "../api";
import { h, icon } from "../../shared/dom";
import { setSession } from "../session";

const USERNAME = /^[A-Za-z0-9_]{3,25}$/;

/** Opens the dialog; resolves `true` once signed in, `false` if closed. */
export function openAuthDialog(mode: "login" | "register" = "login"): Promise<boolean> {
  return new Promise((resolve) => {
    let current = mode;
    let done = false;
    const title = h("h2", { attrs: { id: "auth-title" } });
    const tabLogin = h("button", { class: "tab", attrs: { type: "button" } }, "Sign in");
    const tabRegister = h("button", { class: "tab", attrs: { type: "button" } }, "Create account");
    const username = h("input", {
      attrs: {
        id: "auth-username",
        name: "username",
        autocomplete: "username",
        required: true,
        minlength: 3,
        maxlength: 25,
        autocapitalize: "none",
        spellcheck: "false",
      },
    });
    const password = h("input", {
      attrs: { id: "auth-password", name: "password", type: "password", required: true, minlength: 8 },
    });
    const hint = h("p", { class: "field-hint", attrs: { id: "auth-hint" } });
    const error = h("p", { class: "form-error", attrs: { role: "alert" } });
    const submit = h("button", { class: "btn btn-primary", attrs: { type: "submit" } });
    const close = h(
      "button",
      { class: "icon-btn dialog-close", attrs: { type: "button", "aria-label": "Close" } },
      icon("close"),
    );

    const form = h(
      "form",
      { class: "auth-form", attrs: { novalidate: true } },
      h("label", { attrs: { for: "auth-username" } }, "Username"),
      username,
      h("label", { attrs: { for: "auth-password" } }, "Password"),
      password,
      hint,
      error,
      submit,
    );
    const dialog = h(
      "dialog",
      { class: "auth-dialog", attrs: { "aria-labelledby": "auth-title" } },
      h("div", { class: "dialog-head" }, title, close),
      h("div", { class: "tabs", attrs: { role: "group", "aria-label": "Account" } }, tabLogin, tabRegister),
      form,
    );

    const render = () => {
      const login = current === "login";
      title.textContent = login ? "Sign in to chat" : "Create your account";
      tabLogin.setAttribute("aria-pressed", String(login));
      tabRegister.setAttribute("aria-pressed", String(!login));
      password.setAttribute("autocomplete", login ? "current-password" : "new-password");
      hint.textContent = login ? "" : "3–25 letters, digits or _ · password of 8 characters or more";
      submit.textContent = login ? "Sign in" : "Create account";
      error.textContent = "";
    };
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(ok);
    };

    tabLogin.addEventListener("click", () => {
      current = "login";
      render();
    });
    tabRegister.addEventListener("click", () => {
      current = "register";
      render();
    });
    close.addEventListener("click", () => finish(false));
    dialog.addEventListener("close", () => finish(false));
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) finish(false); // click on the backdrop
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const creds = { username: username.value.trim(), password: password.value };
      if (!USERNAME.test(creds.username)) {
        error.textContent = "Usernames are 3–25 letters, digits or _.";
        username.focus();
        return;
      }
      if (creds.password.length < 8) {
        error.textContent = "Passwords have at least 8 characters.";
        password.focus();
        return;
      }
      submit.disabled = true;
      error.textContent = "";
      try {
        const res = current === "login" ? await api.login(creds) : await api.register(creds);
        setSession({ token: res.token, user: res.user });
        finish(true);
      } catch (err) {
        error.textContent = err instanceof ApiError ? err.message : "Something went wrong. Try again.";
        submit.disabled = false;
      }
    });

    render();
    document.body.appendChild(dialog);
    dialog.showModal();
    username.focus();
  });
}
