// Onboarding: pick a server (built-in or own), sign up or in, then name and bio.
import { commands } from "../ipc";
import { connectTo, enterStudio, fail } from "../actions";
import { usernameProblem } from "../logic";
import type { Step } from "../state";
import { watch, type StudioStore } from "../store";
import { renderError } from "./errors";
import { busy, fromMarkup, part, type View } from "./markup";

const STEPS: Step[] = ["server", "account", "profile"];

const MARKUP = `
<section id="onboarding" class="onboarding" hidden>
  <div class="onboard-card">
    <div class="brand"><span class="logo">◆</span> AeThex Studio</div>
    <ol class="steps">
      <li data-step="server">Server</li><li data-step="account">Account</li><li data-step="profile">Profile</li>
    </ol>
    <div id="onboard-error" class="error-box" role="alert" hidden></div>

    <div id="step-server">
      <h1>Where do you stream to?</h1>
      <p class="muted">The built-in server runs inside the studio: nothing to set up.</p>
      <button id="btn-local" class="primary wide">Use the built-in server</button>
      <div class="or"><span>or connect to your own</span></div>
      <div class="row">
        <input id="server-url" placeholder="https://live.example.com" autocomplete="url" />
        <button id="btn-connect" class="secondary">Connect</button>
      </div>
    </div>

    <div id="step-account" hidden>
      <h1>Your account</h1>
      <p class="muted small" id="account-server"></p>
      <div class="tabs"><button id="tab-signup" type="button">Sign up</button><button id="tab-signin" type="button">Sign in</button></div>
      <form id="form-auth">
        <label>Username<input id="username" autocomplete="username" required minlength="3" maxlength="25" /></label>
        <label>Password<input id="password" type="password" autocomplete="current-password" required minlength="8" /></label>
        <button id="btn-auth" class="primary wide" type="submit">Create account</button>
      </form>
      <button id="back-server" class="link" type="button">← Choose another server</button>
    </div>

    <div id="step-profile" hidden>
      <h1>How viewers see you</h1>
      <form id="form-profile">
        <label>Display name<input id="display-name" maxlength="50" required /></label>
        <label>Bio<textarea id="bio" rows="3" maxlength="300" placeholder="What do you stream?"></textarea></label>
        <button id="btn-profile" class="primary wide" type="submit">Open the studio</button>
      </form>
    </div>
  </div>
</section>`;

/** The onboarding card; shown while the screen is one of its steps. */
export function createOnboarding(store: StudioStore): View {
  const el = fromMarkup(MARKUP);
  const $ = <T extends HTMLElement = HTMLElement>(sel: string) => part<T>(el, sel);
  const errorBox = $("#onboard-error");
  const username = $<HTMLInputElement>("#username");
  const password = $<HTMLInputElement>("#password");
  const displayName = $<HTMLInputElement>("#display-name");
  const bio = $<HTMLTextAreaElement>("#bio");
  let registering = true;

  const setMode = (register: boolean) => {
    registering = register;
    $("#tab-signup").classList.toggle("active", register);
    $("#tab-signin").classList.toggle("active", !register);
    $("#btn-auth").textContent = register ? "Create account" : "Sign in";
  };
  setMode(true);

  const offs = [
    watch(store, (s) => s.screen, (screen) => {
      el.hidden = !(STEPS as string[]).includes(screen);
      for (const s of STEPS) $(`#step-${s}`).hidden = s !== screen;
      el.querySelectorAll<HTMLElement>(".steps li").forEach((li) => li.classList.toggle("active", li.dataset.step === screen));
      if (screen === "account") username.focus();
      if (screen === "profile") displayName.focus();
    }),
    watch(store, (s) => s.onboardError, (err) => {
      if (err) renderError(errorBox, err);
      else errorBox.hidden = true;
    }),
    watch(store, (s) => s.server, (server) => {
      if (!server) return;
      document.body.dataset.server = server.server;
      $("#account-server").textContent = server.local_server ? `Built-in server at ${server.server}` : server.server;
    }),
  ];

  $("#btn-local").addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, () => connectTo(store, null)));
  $("#btn-connect").addEventListener("click", (ev) => {
    const url = $<HTMLInputElement>("#server-url").value.trim();
    return busy(ev.currentTarget as HTMLButtonElement, () => connectTo(store, url));
  });
  $("#tab-signup").addEventListener("click", () => setMode(true));
  $("#tab-signin").addEventListener("click", () => setMode(false));
  $("#back-server").addEventListener("click", () => store.dispatch({ type: "screen", screen: "server" }));

  $<HTMLFormElement>("#form-auth").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    store.dispatch({ type: "clear_onboard_error" });
    const name = username.value.trim().toLowerCase();
    const problem = usernameProblem(name);
    if (registering && problem) {
      fail(store, { kind: "invalid", message: `Username: ${problem}.` }, "onboarding");
      return;
    }
    await busy($<HTMLButtonElement>("#btn-auth"), async () => {
      try {
        const profile = await commands.authenticate(name, password.value, registering);
        store.dispatch({ type: "signed_in", profile });
        password.value = "";
        if (registering) {
          displayName.value = profile.display_name || profile.username;
          bio.value = profile.bio;
          store.dispatch({ type: "screen", screen: "profile" });
        } else {
          await enterStudio(store);
        }
      } catch (e) {
        fail(store, e, "onboarding");
      }
    });
  });

  $<HTMLFormElement>("#form-profile").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await busy($<HTMLButtonElement>("#btn-profile"), async () => {
      try {
        const profile = await commands.updateProfile(displayName.value, bio.value);
        store.dispatch({ type: "signed_in", profile });
        await enterStudio(store);
      } catch (e) {
        fail(store, e, "onboarding");
      }
    });
  });

  return { el, destroy: () => offs.forEach((off) => off()) };
}
