import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The decoder stage page (`tests/browser/decoder-tab.html`), built and served by
 * `tests/e2e/decoder-stage-in-chromium.test.ts`; `outDir` is set by the caller.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    target: 'es2023',
    sourcemap: true,
    rollupOptions: { input: fileURLToPath(new URL('./decoder-tab.html', import.meta.url)) },
  },
  worker: { format: 'es' },
})
