import { buildAndMeasureWidget } from '../../tests/support/widget-size.ts'
import type { BenchArea } from '../bench-types.ts'

/** A common guideline for a third-party widget's initial payload (issue 12). */
const INITIAL_PAYLOAD_GUIDELINE = {
  name: 'widget initial payload guideline (50 KB)',
  value: 50 * 1024,
}
/** Plausible's analytics tag, a one-tag script sites already accept (issue 12). */
const PLAUSIBLE = { name: "Plausible's analytics tag (< 1 KB)", value: 1024 }

/**
 * What the one-tag widget costs a site's visitors: the loader every page view downloads, and
 * the lazy part only a visitor who presses Start downloads. Built with the repository's Vite
 * config; sizes gzipped at level 9 (servers' defaults are often lower: slightly larger).
 */
export const widgetArea: BenchArea = {
  name: 'widget',
  title: 'The embeddable widget: download sizes',
  async run(log) {
    const size = await buildAndMeasureWidget()
    log(`loader ${size.loaderGzip} B, lazy part ${size.lazyGzip} B gzipped`)
    return {
      rows: [
        {
          case: `loader before consent (${size.loaderFiles.join(', ')})`,
          metric: 'gzip_bytes',
          value: size.loaderGzip,
          unit: 'bytes',
          vs: PLAUSIBLE,
        },
        {
          case: `lazy part on Start (${size.lazyFiles.length} files)`,
          metric: 'gzip_bytes',
          value: size.lazyGzip,
          unit: 'bytes',
          vs: INITIAL_PAYLOAD_GUIDELINE,
        },
      ],
      notes: [
        'Budget (issue 12): the loader at most 3 KB gzipped, checked by tests/e2e/widget-size.test.ts.',
        'The lazy part is loaded only after the visitor presses Start: the widget runtime, libp2p (WebSockets, WebRTC, circuit relay, noise, yamux, gossipsub), viem (the local key and its wallet binding), the SDK contributor loop, and the kernel worker with its kernels. The contributor page loads the same chunks, but browsers partition their HTTP cache by top-level site, so a visitor downloads them again for each site that embeds the widget. Chunks viem loads only on demand (CCIP-read) are not counted.',
        `Files of the lazy part in this build: ${size.lazyFiles.join(', ')}.`,
      ],
    }
  },
}
