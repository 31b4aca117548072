import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The weight cache page (`tests/browser/weight-cache.html`), built and served by
 * `tests/e2e/weight-cache-in-chromium.test.ts`; `outDir` is set by the caller.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    target: 'es2023',
    sourcemap: true,
    rollupOptions: { input: fileURLToPath(new URL('./weight-cache.html', import.meta.url)) },
  },
})
