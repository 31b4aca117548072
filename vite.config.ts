import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const webRoot = fileURLToPath(new URL('./web', import.meta.url))

/** The widget's loader, built under a stable name: sites include `https://RELAY/widget.js`. */
const WIDGET_ENTRY = 'widget'
/**
 * The widget's lazy part, an entry of its own at `assets/widget-run.js` (a name the loader
 * knows): the loader imports it by URL, so Vite wraps no preload helper around the import
 * (a shared chunk that would cost the loader about 0.9 KB of its 3 KB gzipped budget).
 */
const WIDGET_RUN_ENTRY = 'widget-run'

/**
 * Builds the contributor page, the researcher dashboard, the public stats page and the
 * embeddable widget into `web/dist`, served by the relay.
 * The widget's loader is its own entry, `widget.js` at the root (its name never changes);
 * its lazy part, the kernel worker and the page's code are hashed chunks under `assets/`,
 * which the loader reaches relative to its own URL (`base: './'`), whatever page embeds it.
 */
export default defineConfig({
  root: webRoot,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    sourcemap: true,
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('./web/index.html', import.meta.url)),
        // The researcher dashboard (`/dashboard`) and the public figures (`/stats`).
        dashboard: fileURLToPath(new URL('./web/dashboard.html', import.meta.url)),
        stats: fileURLToPath(new URL('./web/stats.html', import.meta.url)),
        [WIDGET_ENTRY]: fileURLToPath(new URL('./web/src/widget/widget.ts', import.meta.url)),
        [WIDGET_RUN_ENTRY]: fileURLToPath(
          new URL('./web/src/widget/widget-run.ts', import.meta.url),
        ),
      },
      // The lazy part's exports are its interface to the loader.
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) =>
          chunk.name === WIDGET_ENTRY
            ? `${WIDGET_ENTRY}.js`
            : chunk.name === WIDGET_RUN_ENTRY
              ? `assets/${WIDGET_RUN_ENTRY}.js`
              : 'assets/[name]-[hash].js',
      },
    },
  },
  worker: {
    format: 'es',
  },
})
