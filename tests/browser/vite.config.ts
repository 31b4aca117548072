import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The browser kernel suite page (`tests/browser/`), built and served by
 * `tests/e2e/kernels-in-chromium.test.ts`; `outDir` is set by the caller.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    target: 'es2023',
    sourcemap: true,
    rollupOptions: { input: fileURLToPath(new URL('./kernels.html', import.meta.url)) },
  },
  worker: { format: 'es' },
})
