import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { relative } from 'node:path'
import { serve } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'
import { createMemoryBlobStore } from './blobs/blob-store.ts'
import type { TabswarmConfig } from './config.ts'
import { type Coordinator, createCoordinator } from './coordinator/coordinator.ts'
import { createApi } from './http/api.ts'
import { createJsonLogger, type Logger } from './log.ts'
import { loadOrCreateRelayKey } from './swarm/relay-identity.ts'
import { createRelayNode } from './swarm/relay-node.ts'
import { startWorkService } from './swarm/work-service.ts'

export interface RunningTabswarm {
  /** Base URL of the pages and the API, e.g. `http://127.0.0.1:8787`. */
  url: string
  /** Multiaddrs tabs dial, with the relay's peer id. */
  multiaddrs: string[]
  coordinator: Coordinator
  stop(): Promise<void>
}

/**
 * Starts the whole relay/coordinator process: the libp2p relay and work protocol, the
 * coordinator, and the HTTP server for the API and the contributor page.
 */
export async function startTabswarm(
  config: TabswarmConfig,
  log: Logger = createJsonLogger(),
): Promise<RunningTabswarm> {
  const privateKey = await loadOrCreateRelayKey(config.dataDir)
  const node = await createRelayNode({
    privateKey,
    listen: [`/ip4/${config.host}/tcp/${config.p2pPort}/ws`],
    announce: config.announce,
  })
  const coordinator = createCoordinator({ tileSize: config.tileSize, leaseMs: config.leaseMs })
  const stopWork = await startWorkService({ node, coordinator, log: log.child('work') })
  const reclaim = setInterval(() => coordinator.reclaimExpiredLeases(), 1_000)
  reclaim.unref()

  const swarm = () => ({
    peerId: node.peerId.toString(),
    multiaddrs: node.getMultiaddrs().map((ma) => ma.toString()),
  })
  const app = new Hono()
  app.route(
    '/',
    createApi({ coordinator, blobs: createMemoryBlobStore(), log: log.child('http'), swarm }),
  )
  if (existsSync(config.webRoot)) {
    app.use('/*', serveStatic({ root: relative(process.cwd(), config.webRoot) || '.' }))
  } else {
    log.warn('web assets not built; the contributor page is unavailable', {
      webRoot: config.webRoot,
    })
  }
  app.notFound((c) => c.text('not found', 404))

  const server = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  log.info('tabswarm started', {
    url,
    peerId: node.peerId.toString(),
    multiaddrs: swarm().multiaddrs,
  })

  return {
    url,
    multiaddrs: swarm().multiaddrs,
    coordinator,
    async stop() {
      clearInterval(reclaim)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await stopWork()
      await node.stop()
    },
  }
}
