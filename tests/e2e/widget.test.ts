import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, launchChromium } from '../support/chromium.ts'
import { completeSmallMatmul } from '../support/earn-credits.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { serveWidgetDemo, type WidgetDemo } from '../support/widget-demo-server.ts'

/**
 * The one-tag widget on a third-party site's page (the demo page on 127.0.0.2, the relay on
 * 127.0.0.1: two origins): nothing connects and no GPU work happens before the visitor's
 * click, which the test counts; after it the widget joins, computes a matmul, tells the page
 * it earned, and the site's address gets its share in the relay's ledger. Its styles and
 * the host page's do not leak into each other, and custom properties theme it.
 */

const SITE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

/**
 * Installed in the page before any of its scripts: counts GPU submissions and adapter
 * requests, workers (GPU work in a worker needs one, so none means none there), WebSockets
 * and RTCPeerConnections (the swarm's transports), and records the widget's events as the
 * page's document hears them.
 */
const COUNTERS = () => {
  const counts = { submits: 0, adapters: 0, workers: 0, webSockets: 0, peerConnections: 0 }
  const events: { type: string; detail: unknown }[] = []
  Object.assign(globalThis, { __counts: counts, __events: events })
  if (typeof GPUQueue !== 'undefined') {
    const submit = GPUQueue.prototype.submit
    GPUQueue.prototype.submit = function (this: GPUQueue, buffers) {
      counts.submits++
      return submit.call(this, buffers)
    }
  }
  if (typeof GPU !== 'undefined') {
    const requestAdapter = GPU.prototype.requestAdapter
    GPU.prototype.requestAdapter = function (this: GPU, options) {
      counts.adapters++
      return requestAdapter.call(this, options)
    }
  }
  const counted = <T extends abstract new (...args: never[]) => object>(
    Base: T,
    key: keyof typeof counts,
  ): T =>
    // @ts-expect-error: a subclass of an arbitrary constructor, for counting only
    class extends Base {
      constructor(...args: never[]) {
        super(...args)
        counts[key]++
      }
    }
  globalThis.Worker = counted(Worker, 'workers')
  globalThis.WebSocket = counted(WebSocket, 'webSockets')
  globalThis.RTCPeerConnection = counted(RTCPeerConnection, 'peerConnections')
  for (const type of ['tabswarm-started', 'tabswarm-paused', 'tabswarm-earned', 'tabswarm-stopped'])
    document.addEventListener(type, (event) =>
      events.push({ type, detail: (event as CustomEvent).detail }),
    )
}

type Counts = {
  submits: number
  adapters: number
  workers: number
  webSockets: number
  peerConnections: number
}
const counts = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __counts: Counts }).__counts)
const events = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as { __events: { type: string; detail: unknown }[] }).__events,
  )
/** The widget's shadow root, queried (Playwright's CSS locators pierce open shadow roots). */
const widget = (page: Page) => page.locator('tabswarm-contributor')

describe('the widget on a third-party page', () => {
  let relay: InProcessRelay
  let demo: WidgetDemo
  let browser: Browser

  beforeAll(async () => {
    relay = await startInProcessRelay()
    demo = await serveWidgetDemo({ relay: relay.running.url, site: SITE })
    browser = await launchChromium({
      // A page on 127.0.0.2 reaching a relay on 127.0.0.1: Chromium's Local Network Access
      // checks would block it (see ../shared/ENVIRONMENT.md); one --disable-features only.
      args: [
        ...CHROMIUM_ARGS.filter((arg) => !arg.startsWith('--disable-features=')),
        '--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks',
      ],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await demo?.close()
    await relay?.stop()
  })

  async function openDemo(): Promise<{ context: BrowserContext; page: Page; requests: string[] }> {
    const context = await browser.newContext()
    await context.addInitScript(COUNTERS)
    const page = await context.newPage()
    const requests: string[] = []
    page.on('request', (request) => requests.push(request.url()))
    page.on('pageerror', (err) => console.error('demo page error:', err))
    await page.goto(demo.url)
    await expect.poll(() => widget(page).locator('#start').isVisible()).toBe(true)
    return { context, page, requests }
  }

  it('does nothing before consent; after it, computes and credits the site its share', async () => {
    const { context, page, requests } = await openDemo()
    const relayJoins = () => relay.log.lines.filter((l) => l.msg === 'contributor joined')
    const relayRequests = () =>
      relay.log.lines
        .filter((l) => l.msg === 'request' && String(l.fields.path).startsWith('/v1/'))
        .map((l) => String(l.fields.path))

    // Time for a misbehaving loader to do what it should not.
    await page.waitForTimeout(1_500)
    expect(await widget(page).locator('p').first().textContent()).toMatch(
      /Nothing runs or connects until you press Start/,
    )
    expect(await counts(page)).toEqual({
      submits: 0,
      adapters: 0,
      workers: 0,
      webSockets: 0,
      peerConnections: 0,
    })
    const fromRelay = requests.filter((url) => url.startsWith(relay.running.url))
    expect(fromRelay.map((url) => new URL(url).pathname)).toEqual(['/widget.js'])
    expect(relayRequests()).toEqual([])
    expect(relayJoins()).toEqual([])

    await widget(page).locator('#start').click()
    await expect.poll(() => relayJoins().length, { timeout: 90_000, interval: 250 }).toBe(1)
    // Loaded from the relay, after the click: the lazy part, the kernel worker.
    const loaded = requests.map((url) => new URL(url).pathname)
    expect(loaded).toContain('/assets/widget-run.js')
    expect(loaded.some((path) => /\/assets\/kernel-worker-[\w-]+\.js$/.test(path))).toBe(true)
    expect(relayRequests()).toContain('/v1/swarm')
    // The widget's key is bound with the site's address.
    const address = await widget(page).locator('#address').textContent()
    expect(relayJoins()[0]?.fields.wallet).toBe(address)

    const before = await siteEarned()
    // 13 credits: the site's 10% (rounded down) is 1 credit at least.
    await completeSmallMatmul(relay, {
      seed: 12,
      shape: [256, 128, 192],
      signal: AbortSignal.timeout(180_000),
    })
    await expect
      .poll(async () => (await events(page)).filter((e) => e.type === 'tabswarm-earned').length, {
        timeout: 60_000,
      })
      .toBeGreaterThan(0)
    expect(await siteEarned()).toBeGreaterThan(before)
    await page.screenshot({ path: 'test-results/screenshots/widget-demo-running.png' })
    const after = await counts(page)
    expect(after.workers).toBeGreaterThan(0)
    expect(after.webSockets + after.peerConnections).toBeGreaterThan(0)

    // Hidden: paused (the run stopped); shown again: resumed.
    await setHidden(page, true)
    await expect
      .poll(async () => (await events(page)).at(-1))
      .toEqual({ type: 'tabswarm-paused', detail: { reason: 'hidden' } })
    await setHidden(page, false)
    await expect
      .poll(async () => (await events(page)).at(-1))
      .toEqual({ type: 'tabswarm-started', detail: { resumed: true } })

    // Stop: the event, and Start again offered.
    await widget(page).locator('#stop').click()
    await expect
      .poll(async () => (await events(page)).at(-1))
      .toEqual({ type: 'tabswarm-stopped', detail: { reason: 'visitor' } })
    expect(await widget(page).locator('#start').textContent()).toBe('Start again')

    // Linking the wallet is an explicit step: the key is shown only when asked for.
    expect(await widget(page).locator('#key').isVisible()).toBe(false)
    await widget(page).locator('#export').click()
    await expect.poll(() => widget(page).locator('#key').inputValue()).toMatch(/^0x[0-9a-f]{64}$/)
    await context.close()
  })

  it('is themed by custom properties, and no style leaks either way', async () => {
    const { context, page } = await openDemo()
    const start = widget(page).locator('#start')
    const hostButton = page.locator('#host-button')
    const style = (locator: ReturnType<Page['locator']>, property: string) =>
      locator.evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property)

    // The host's `button` and `p` rules stop at the shadow root.
    expect(await style(start, 'background-color')).toBe('rgb(36, 87, 197)')
    expect(await style(start, 'font-size')).not.toBe('20px')
    expect(await style(widget(page).locator('p').first(), 'color')).not.toBe('rgb(120, 0, 0)')
    // Inherited properties stop too (`all: initial` on the host): not the page's Georgia.
    expect(await style(widget(page).locator('p').first(), 'font-family')).not.toMatch(/Georgia/)
    // The widget's rules stay inside: the host's button keeps the host's style.
    expect(await style(hostButton, 'background-color')).toBe('rgb(255, 0, 0)')
    expect(await style(hostButton, 'font-size')).toBe('20px')

    // A site themes it through custom properties.
    await widget(page).evaluate((el: HTMLElement) => {
      el.style.setProperty('--tabswarm-accent', 'rgb(0, 128, 0)')
      el.style.setProperty('--tabswarm-font', 'monospace')
    })
    expect(await style(start, 'background-color')).toBe('rgb(0, 128, 0)')
    expect(await style(widget(page).locator('p').first(), 'font-family')).toBe('monospace')
    expect(await style(hostButton, 'background-color')).toBe('rgb(255, 0, 0)')

    // Desktop and phone widths: no sideways scrolling; screenshots for CI's artefacts.
    for (const [name, width, height] of [
      ['desktop', 1280, 800],
      ['mobile', 390, 844],
    ] as const) {
      await page.setViewportSize({ width, height })
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        width,
      )
      await page.screenshot({
        path: `test-results/screenshots/widget-demo-${name}.png`,
        fullPage: true,
      })
    }

    // Labels and contrast, as axe-core checks them, in the widget's default and themed looks.
    const axe = await new AxeBuilder({ page }).include('tabswarm-contributor').analyze()
    expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([])

    // Defined once, however often the loader runs: a second copy (another URL, so evaluated
    // again) would throw on a second `define`.
    await page.evaluate(() => {
      Object.assign(globalThis, { __first: customElements.get('tabswarm-contributor') })
    })
    await page.evaluate(`import('${relay.running.url}/widget.js?again')`)
    expect(
      await page.evaluate(
        () =>
          customElements.get('tabswarm-contributor') ===
          (globalThis as unknown as { __first: unknown }).__first,
      ),
    ).toBe(true)
    await context.close()
  })

  it('explains, and offers no Start, in a browser without WebGPU', async () => {
    const context = await browser.newContext()
    await context.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu
    })
    const page = await context.newPage()
    const requests: string[] = []
    page.on('request', (request) => requests.push(new URL(request.url()).pathname))
    await page.goto(demo.url)
    await expect
      .poll(() => widget(page).locator('#status').textContent())
      .toMatch(/can't lend its GPU: it has no WebGPU/)
    expect(await widget(page).locator('#start').isDisabled()).toBe(true)
    expect(requests.filter((path) => path.startsWith('/assets/'))).toEqual([])
    await context.close()
  })

  it('serves the widget and its lazy part cross-origin, and only public reads of the API', async () => {
    const origin = { origin: demo.url.replace(/\/$/, '') }
    const get = (path: string) =>
      fetch(`${relay.running.url}${path}`, { headers: origin, signal: AbortSignal.timeout(10_000) })
    for (const path of ['/widget.js', '/assets/widget-run.js']) {
      const response = await get(path)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/)
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const swarm = await get('/v1/swarm')
    expect(swarm.headers.get('access-control-allow-origin')).toBe('*')
    // The rest of the API keeps its policy (no TABSWARM_CORS_ORIGINS here: none), and the
    // local account's routes refuse a foreign page outright (localOriginGuard).
    const jobs = await get('/v1/jobs')
    expect(jobs.headers.get('access-control-allow-origin')).toBeNull()
    expect(jobs.status).toBe(403)
    // The contributor page itself is not an asset a site embeds.
    expect((await get('/')).headers.get('access-control-allow-origin')).toBeNull()
  })

  /** The site's earned credits, as anyone reads them: `GET /v1/accounts/<site>`. */
  async function siteEarned(): Promise<number> {
    const response = await fetch(`${relay.running.url}/v1/accounts/${SITE}`, {
      signal: AbortSignal.timeout(10_000),
    })
    expect(response.status).toBe(200)
    const { earned } = (await response.json()) as { earned: string | number }
    return Number(earned)
  }
})

/** Makes the page report itself hidden (or shown) and fires `visibilitychange`. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)
}
