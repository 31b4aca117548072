import { describe, expect, it } from 'vitest'
import { buildAndMeasureWidget } from '../support/widget-size.ts'

/**
 * The widget's size budget: every page that embeds it pays for the loader, so it stays at
 * most 3 KB gzipped and imports nothing at once; the lazy part (loaded on Start) is
 * measured and reported (bench/widget.md has the figure).
 */
describe('the widget size budget', () => {
  it('builds a loader of at most 3 KB gzipped that loads nothing else before Start', async () => {
    const size = await buildAndMeasureWidget()
    console.log(
      `widget: loader ${size.loaderGzip} B gzipped (${size.loaderFiles.join(', ')}); ` +
        `lazy part ${(size.lazyGzip / 1024).toFixed(1)} KiB gzipped in ${size.lazyFiles.length} files`,
    )
    expect(size.loaderFiles).toEqual(['widget.js'])
    expect(size.loaderGzip).toBeLessThanOrEqual(3 * 1024)
    expect(size.lazyFiles).toContain('assets/widget-run.js')
    expect(size.lazyFiles.some((f) => /^assets\/kernel-worker-[\w-]+\.js$/.test(f))).toBe(true)
  })
})
