import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The matmul benchmark page (`bench/kernels-browser/`): our kernels and TensorFlow.js's
 * WebGPU backend on the same adapter, in the same headless Chromium. Built and served by
 * `bench/areas/kernels.ts`; `outDir` is set by the caller.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: { target: 'es2023', sourcemap: false, chunkSizeWarningLimit: 4096 },
  worker: { format: 'es' },
})
