import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The demo page a third-party site would serve: the widget's one tag and loud styles. */
const DEMO_PAGE = new URL('../../web/demo/widget-demo.html', import.meta.url)

/**
 * Another loopback address is another origin (and another site, for Chromium's storage
 * partitioning): the demo page is served here, the relay on 127.0.0.1.
 */
export const DEMO_HOST = '127.0.0.2'

/** The demo page, served. */
export type WidgetDemo = {
  /** The page's URL, on `DEMO_HOST`. */
  url: string
  close(): Promise<void>
}

/**
 * Serves `web/demo/widget-demo.html` on 127.0.0.2 at a free port, its `RELAY` placeholders
 * replaced by `relay` (the relay's base URL, no trailing slash) and `SITE` by `site`.
 */
export async function serveWidgetDemo(options: {
  relay: string
  site: string
}): Promise<WidgetDemo> {
  const template = await readFile(DEMO_PAGE, 'utf8')
  const html = template
    .replaceAll('RELAY', options.relay.replace(/\/$/, ''))
    .replaceAll('SITE', options.site)
  const server = createServer((request, response) => {
    if (request.url !== '/' && !request.url?.startsWith('/?')) {
      response.writeHead(404).end('not found')
      return
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, DEMO_HOST, resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${DEMO_HOST}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
