import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web app's own folder: `index.html` lives here and `dist/` is built here. */
const webRoot = fileURLToPath(new URL('.', import.meta.url));

/** The local runtime (`npm start`) that serves the API, SSE, webhooks and the demo shop. */
const backend = `http://127.0.0.1:${process.env.PORT || 3000}`;

/** Paths the dev server forwards to the local runtime instead of serving itself. */
const proxiedPaths = ['/api', '/healthz', '/webhooks', '/shop'] as const;

/**
 * The shared event registry (`events/`) imports `node:crypto` to create and derive event ids,
 * which only the server does; the browser gets a small shim so the dashboard parses frames with
 * the very same registry.
 */
const nodeCryptoShim = fileURLToPath(new URL('./src/lib/node-crypto-shim.ts', import.meta.url));

export default defineConfig({
  root: webRoot,
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: { 'node:crypto': nodeCryptoShim },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: Object.fromEntries(proxiedPaths.map((prefix) => [prefix, { target: backend }])),
  },
});
