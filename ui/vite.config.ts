import { defineConfig } from "vitest/config";
import { resolve } from "node:path";

// Two front-ends from one build: the web player (index.html, served by
// aethex-server at / and /{channel}) and the studio (studio.html, the Tauri window).
export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    target: "es2021",
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      input: {
        player: resolve(__dirname, "index.html"),
        studio: resolve(__dirname, "studio.html"),
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
