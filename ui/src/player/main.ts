// Web player entry: channel list at / and the watch page at /{channel}.
const app = document.querySelector<HTMLDivElement>("#app");
if (app) {
  app.textContent = "AeThex Live";
}
