import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/** Bundles the SDK page for the browser, as a researcher's app would be. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: { target: 'es2023', emptyOutDir: true },
})
