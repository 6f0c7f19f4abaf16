import { defineConfig } from "vitest/config";

// Absolute path of a file next to this config (no Node typings needed).
const here = (file: string) => decodeURIComponent(new URL(file, import.meta.url).pathname);

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
        player: here("index.html"),
        studio: here("studio.html"),
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
