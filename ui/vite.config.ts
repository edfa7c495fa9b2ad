// The dashboard's build: Preact through Vite's built-in JSX transform (no plugin), one JS and
// one CSS file with content hashes in their names, no source maps, nothing that varies between
// two builds of the same sources. `npm run dev` proxies the API to a gateway on :8080.
import { defineConfig } from 'vite';

const gateway = process.env.BIFROST_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': gateway,
      '/v1': gateway,
      '/ws': { target: gateway.replace(/^http/, 'ws'), ws: true },
    },
  },
});
