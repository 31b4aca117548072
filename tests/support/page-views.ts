import { fileURLToPath } from 'node:url'
import { AxeBuilder } from '@axe-core/playwright'
import type { Page } from 'playwright'
import { expect } from 'vitest'

/** Where views are screenshotted: an ignored folder, for people to look at. */
export const SCREENSHOTS_DIR = fileURLToPath(new URL('../screenshots/', import.meta.url))

/** The widths every page is checked at: a desktop window and a phone. */
export const VIEW_WIDTHS = {
  desktop: { width: 1100, height: 900 },
  mobile: { width: 390, height: 844 },
} as const

/** axe-core's WCAG 2 A and AA rules and its best practices on the page as it is now, one line each. */
export async function axeViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze()
  return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`)
}

/**
 * A view of a page, at each of {@link VIEW_WIDTHS}: no axe violations, no sideways
 * scrolling, and a screenshot, `<view>-<width>.png` in {@link SCREENSHOTS_DIR}.
 */
export async function checkView(page: Page, view: string): Promise<void> {
  for (const [name, size] of Object.entries(VIEW_WIDTHS)) {
    await page.setViewportSize(size)
    // Charts and wrapping text follow their container's width a frame later.
    await page.waitForTimeout(100)
    expect(await axeViolations(page), `${view} at ${name}`).toEqual([])
    const { scrollWidth, clientWidth } = await page.evaluate(() => {
      const root = document.scrollingElement!
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth }
    })
    expect(scrollWidth, `${view} at ${name} scrolls sideways`).toBeLessThanOrEqual(clientWidth)
    await page.screenshot({ path: `${SCREENSHOTS_DIR}${view}-${name}.png`, fullPage: true })
  }
}
