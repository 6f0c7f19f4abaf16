// Studio entry (the Tauri window).
const app = document.querySelector<HTMLDivElement>("#app");
if (app) {
  app.textContent = "AeThex Studio";
}
