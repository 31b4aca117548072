import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join, relative } from 'node:path'
import { serve, upgradeWebSocket, type WebSocketServerLike } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import { createWgslChecker } from '@tabswarm/worker-kernels/node'
import { Hono } from 'hono'
import { WebSocketServer } from 'ws'
import { createDiskBlobStore } from './blobs/disk-blob-store.ts'
import { createTieredBlobStore } from './blobs/tiered-blob-store.ts'
import { createClusterApi } from './cluster/cluster-api.ts'
import { type ClusterNode, startClusterNode } from './cluster/cluster-node.ts'
import { type ClusterStore, openClusterStore } from './cluster/cluster-store.ts'
import { requestJobCancel } from './cluster/job-requests.ts'
import { cachedPeerIds, clusterLoad, createRelayRegistry } from './cluster/relay-registry.ts'
import { sharedInputsIn } from './cluster/shared-inputs.ts'
import { createSharedNetworkFigures } from './cluster/shared-network-figures.ts'
import { type TabswarmConfig, welcomeCreditsFor } from './config.ts'
import { type Coordinator, createCoordinator } from './coordinator/coordinator.ts'
import { createApi } from './http/api.ts'
import { createApiKeyRing, readApiKeysFile } from './http/auth/api-keys.ts'
import { decideAuthMode } from './http/auth/authenticate.ts'
import { createWalletAuthenticator } from './http/auth/wallet-auth.ts'
import { createWalletSessions } from './http/auth/wallet-sessions.ts'
import { publicAssets } from './http/cross-origin.ts'
import type { RelayPeersSource } from './http/relay-peers.ts'
import { createLedger } from './ledger/ledger.ts'
import { createJsonLogger, type Logger } from './log.ts'
import { createRelayMetrics } from './metrics/relay-metrics.ts'
import { busyListenAddress, isAddressInUse, PortInUseError } from './port-in-use-error.ts'
import { type SettlementRuntime, startSettlementRuntime } from './settlement/settlement-runtime.ts'
import { createPostgresAuxiliaryStore } from './store/postgres/postgres-auxiliary-store.ts'
import { createSqliteStore } from './store/sqlite-store.ts'
import { startBlobService } from './swarm/blob-service.ts'
import { loadOrCreateRelayKey } from './swarm/relay-identity.ts'
import { createRelayNode } from './swarm/relay-node.ts'
import { startWorkService } from './swarm/work-service.ts'

/** Pages of `web/dist` served at `/<name>` as well as `/<name>.html`. */
const WEB_PAGES = ['dashboard', 'stats'] as const

export interface RunningTabswarm {
  /** Base URL of the pages and the API, e.g. `http://127.0.0.1:8787`. */
  url: string
  /** Multiaddrs tabs dial, with the relay's peer id. */
  multiaddrs: string[]
  coordinator: Coordinator
  /** Where credits settle; absent with `TABSWARM_SETTLEMENT=off`. */
  settlement?: SettlementRuntime['chain']
  stop(): Promise<void>
}

/** Parts of a relay that are not configuration: what a cluster plugs in. */
export interface StartTabswarmOptions {
  /**
   * The cluster's other live relays, which `GET /v1/swarm` lists after this one so tabs and
   * workers can fail over to them (`createRelayRegistry(…).peers` on a shared database).
   * @default none: a relay on its own lists only itself
   */
  peers?: RelayPeersSource
}

/**
 * Starts the whole relay/coordinator process: the libp2p relay and work protocol, the
 * coordinator, and the HTTP server for the API and the contributor page.
 */
export async function startTabswarm(
  config: TabswarmConfig,
  log: Logger = createJsonLogger({ level: config.api.logLevel }),
  options: StartTabswarmOptions = {},
): Promise<RunningTabswarm> {
  // Decided before anything listens: a public relay without credentials must not start.
  const keys = createApiKeyRing([...config.api.apiKeys, ...(await readApiKeysFile(config.dataDir))])
  const { openToLocal } = decideAuthMode({
    host: config.host,
    keyCount: keys.size,
    walletOnly: config.api.walletAuthOnly,
  })
  const privateKey = await loadOrCreateRelayKey(config.dataDir)
  let node: Awaited<ReturnType<typeof createRelayNode>>
  try {
    node = await createRelayNode({
      privateKey,
      listen: config.listen.length
        ? config.listen
        : [`/${config.host.includes(':') ? 'ip6' : 'ip4'}/${config.host}/tcp/${config.p2pPort}/ws`],
      announce: config.announce,
      // Reservations follow (four per connection; see relay-limits.ts).
      limits: { maxConnections: config.maxPeers },
    })
  } catch (err) {
    // libp2p has stopped what it started; its text ends at a colon and suggests a setting
    // that would make the relay run without listening. Say which port, and what to do.
    const busy = busyListenAddress(err)
    if (busy != null) throw new PortInUseError({ listener: 'libp2p', ...busy, cause: err })
    throw err
  }
  // Durable state: jobs, results and credits in SQLite under the data directory, or, with
  // a database URL, in the PostgreSQL several relays share (written behind from memory).
  let cluster: ClusterStore | undefined
  if (config.databaseUrl != null) {
    try {
      cluster = await openClusterStore({ url: config.databaseUrl, log: log.child('cluster') })
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  const store =
    cluster?.working ??
    createSqliteStore({
      path: join(config.dataDir, 'coordinator.db'),
      synchronous: config.dbSynchronous,
    })
  // Small blobs (task outputs) beside the results in the store, large ones in files.
  const files = createDiskBlobStore({ dir: config.blobDir ?? join(config.dataDir, 'blobs') })
  const blobs = createTieredBlobStore({ store, large: files })
  // Started on the first custom job, not here: a relay that never sees one never loads dawn.
  const wgslChecker = config.wgslCheck ? createWgslChecker() : undefined
  const coordinator = createCoordinator({
    store,
    blobs,
    leaseMs: config.leaseMs,
    ...(wgslChecker ? { checkWgsl: (wgsl, options) => wgslChecker.check(wgsl, options) } : {}),
    log: log.child('coordinator'),
    welcomeCredits: welcomeCreditsFor(config, openToLocal),
    siteShareBps: config.siteShareBps,
    ...(config.tileSize > 0 ? { tileSize: config.tileSize } : {}),
    peerInputs: config.peerInputs,
    inferenceSpotCheckRate: config.inferenceSpotCheckRate,
    inferenceMemoryBytes: config.inferenceMemoryBytes,
  })
  // Before anything listens: a chain that does not answer, or a distributor that is not the
  // expected contract, stops the start. Embedded: the local chain starts, the contracts are
  // deployed and every stored root is posted again (the chain keeps nothing across starts).
  let settlement: SettlementRuntime | undefined
  // Read-only here: what each wallet earned in all, which every epoch's tree is built from.
  const earnings = createLedger(store, { siteShareBps: config.siteShareBps })
  if (cluster != null && config.settlement.mode !== 'off')
    log.warn('settlement is off on a relay of a cluster (a shared database)', {
      hint: 'run settlement on a single relay for now; see the README limits',
    })
  if (config.settlement.mode !== 'off' && cluster == null) {
    try {
      settlement = await startSettlementRuntime({
        config: config.settlement,
        store,
        earnedTotals: () => earnings.earnedTotals(),
        siteShareBps: config.siteShareBps,
        log: log.child('settlement'),
      })
    } catch (err) {
      await node.stop()
      coordinator.close()
      wgslChecker?.close()
      throw err
    }
  }
  // In a cluster: keep, take over and drop jobs with the other coordinators.
  let clusterNode: ClusterNode | undefined
  if (cluster != null) {
    try {
      clusterNode = await startClusterNode({
        cluster,
        coordinator,
        log: log.child('cluster'),
        // Offered tasks' inputs go where every relay reads them: the blob directory, which
        // relays of one cluster share (`--blob-dir`).
        sharedInputs: sharedInputsIn(files),
      })
    } catch (err) {
      await node.stop()
      coordinator.close()
      await cluster.close()
      wgslChecker?.close()
      throw err
    }
  }
  const metrics = createRelayMetrics({ stats: () => coordinator.stats() })
  const stopWork = await startWorkService({
    node,
    coordinator: clusterNode?.work ?? coordinator,
    log: log.child('work'),
    readIdleTimeoutMs: config.workReadIdleTimeoutMs,
    maxInflightBytesPerPeer: config.maxInflightBytesPerPeer,
    onResponseSent: metrics.workBytesSent,
  })
  // Every input a lease names: parts of live jobs (matmul bands), then the store.
  const stopBlobs = await startBlobService({
    node,
    blobs,
    parts: coordinator.parts,
    onBytesSent: metrics.blobBytesSent,
    log: log.child('blobs'),
  })
  const reclaim = setInterval(() => coordinator.reclaimExpiredLeases(), 1_000)
  reclaim.unref()

  const swarm = () => ({
    peerId: node.peerId.toString(),
    multiaddrs: node.getMultiaddrs().map((ma) => ma.toString()),
    // Tabs take their STUN/TURN servers from here, so operators configure them in one place.
    iceServers: config.iceServers,
    // Whether /v1/settlement answers: pages skip asking a relay that settles nothing.
    settlement: settlement != null,
  })
  const sharedAuth = cluster != null ? createPostgresAuxiliaryStore(cluster.pool) : undefined
  // In a cluster the relays list one another (`GET /v1/swarm`), so tabs can fail over.
  let httpUrl: string | undefined
  const registry =
    cluster != null
      ? createRelayRegistry({
          pool: cluster.pool,
          self: {
            id: cluster.ownership.coordinatorId,
            peerId: node.peerId.toString(),
            multiaddrs: () => node.getMultiaddrs().map((ma) => ma.toString()),
            get url() {
              return httpUrl
            },
            load() {
              const figures = coordinator.networkFigures(1).contributors
              return { contributors: figures.online, gflops: figures.gflopPerSecond }
            },
          },
          log: log.child('cluster'),
        })
      : undefined
  const registryStop = new AbortController()
  let registryRun: Promise<void> | undefined
  const peers = options.peers ?? registry?.peers
  const jobs =
    cluster != null
      ? createClusterApi({
          coordinator,
          shared: cluster.shared,
          blobs,
          log: log.child('cluster'),
          requestCancel: (jobId, account, signal) =>
            requestJobCancel(cluster.pool, jobId, account, signal),
          networkFigures: createSharedNetworkFigures({
            shared: cluster.shared,
            load: (signal) => clusterLoad(cluster.pool, signal),
            local: (hours) => coordinator.networkFigures(hours),
            log: log.child('cluster'),
          }),
          async refreshAccount(account, signal) {
            const balance = await cluster.shared.balance(account, { signal })
            cluster.working.quietly(() => cluster.memory.setBalance(account, balance))
          },
        })
      : coordinator
  const rate = config.api.rateLimit
  const app = new Hono()
  app.route(
    '/',
    createApi({
      jobs,
      blobs,
      log: log.child('http'),
      swarm,
      ...(peers ? { peers } : {}),
      health: () => ({ ...coordinator.stats().gauges }),
      auth: {
        keys,
        // Signatures name this relay's peer id; used nonces live in the store, so neither
        // another relay nor this one after a restart accepts a request twice.
        // In a cluster both live in the shared database: claimed there before the request
        // has any effect, so a request one relay accepted every other refuses.
        wallet: createWalletAuthenticator({
          relayPeerId: node.peerId.toString(),
          nonces: sharedAuth ?? store,
          ...(registry != null ? { clusterPeerIds: cachedPeerIds(registry) } : {}),
        }),
        // Bearer tokens bought with one wallet signature, for browser wallets (kept hashed).
        sessions: createWalletSessions({ store: sharedAuth ?? store }),
        openToLocal,
      },
      rateLimit: rate && {
        ip: { ratePerSecond: rate.ipPerSecond, burst: rate.ipBurst },
        account: { ratePerSecond: rate.accountPerSecond, burst: rate.accountBurst },
      },
      metrics,
      trustProxy: config.api.trustProxy,
      corsOrigins: config.api.corsOrigins,
      maxBlobBytes: config.api.maxBlobBytes,
      uploads: config.api.uploads,
      uploadTimeoutMs: config.api.uploadTimeoutMs,
      uploadIdleMs: config.api.uploadIdleMs,
      upgradeWebSocket,
      ...(settlement && config.settlement.mode !== 'off'
        ? { settlement: { service: settlement.service, operators: config.settlement.operators } }
        : {}),
    }),
  )
  if (openToLocal) {
    log.warn('no API keys configured: the API is open to local callers as account "local"', {
      host: config.host,
      hint: 'set TABSWARM_API_KEYS or add <data dir>/api-keys.json to require keys',
    })
  } else {
    log.info('API authentication required', { apiKeys: keys.size, walletSignatures: true })
  }
  if (existsSync(config.webRoot)) {
    // The widget's loader, its lazy part and the kernel worker run in other sites' pages.
    app.use('/widget.js', publicAssets())
    app.use('/assets/*', publicAssets())
    const root = relative(process.cwd(), config.webRoot) || '.'
    // The researcher dashboard and the public figures, at paths without `.html`. Their
    // scripts are hashed chunks under `/assets/` like the contributor page's; the pages
    // themselves get no cross-origin headers, so they stay the relay's own.
    for (const page of WEB_PAGES) app.get(`/${page}`, serveStatic({ root, path: `${page}.html` }))
    app.use('/*', serveStatic({ root }))
  } else {
    log.warn('web assets not built; the contributor page is unavailable', {
      webRoot: config.webRoot,
    })
  }
  app.notFound((c) => c.text('not found', 404))

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const server = serve({
    fetch: app.fetch,
    port: config.httpPort,
    hostname: config.host,
    // ws's own types declare `options.noServer` optional; the adapter's interface wants it set (it is).
    websocket: { server: sockets as unknown as WebSocketServerLike },
  })
  /**
   * Stops what started before the HTTP server, in order: the work and blob services, then
   * settlement (a close in progress ends its step, and the next start resumes it) before the
   * store closes. Unhandling stops new streams only: requests already being served keep
   * calling the coordinator until the node closes their connections, so the node goes first.
   */
  async function stopServices(): Promise<void> {
    clearInterval(reclaim)
    registryStop.abort()
    await registryRun
    await stopWork()
    await stopBlobs()
    await settlement?.stop()
    await node.stop()
    // Its writes reach the database and its jobs go back to the others before it closes.
    await clusterNode?.stop()
    coordinator.close()
    await cluster?.close()
    wgslChecker?.close()
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
  } catch (err) {
    // Everything started above stops again: a failed start leaves nothing listening and the
    // store closed, for the next start.
    sockets.close()
    await stopServices()
    if (isAddressInUse(err))
      throw new PortInUseError({
        listener: 'http',
        host: config.host,
        port: config.httpPort,
        cause: err,
      })
    throw err
  }
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  httpUrl = url
  registryRun = registry?.run(registryStop.signal)
  log.info('tabswarm started', {
    url,
    peerId: node.peerId.toString(),
    multiaddrs: swarm().multiaddrs,
  })

  return {
    url,
    multiaddrs: swarm().multiaddrs,
    coordinator,
    ...(settlement ? { settlement: settlement.chain } : {}),
    async stop() {
      for (const socket of sockets.clients) socket.terminate()
      sockets.close()
      // Event streams stay open until their jobs end; closing the server must not wait for them.
      if ('closeAllConnections' in server) server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await stopServices()
    },
  }
}
