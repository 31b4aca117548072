import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const webRoot = fileURLToPath(new URL('./web', import.meta.url))

/** Builds the contributor page (and later the dashboard and widget) into `web/dist`, served by the relay. */
export default defineConfig({
  root: webRoot,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    sourcemap: true,
  },
  worker: {
    format: 'es',
  },
})
