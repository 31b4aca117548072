import type { JobView, RelayEntry } from '@tabswarm/protocol'
import {
  AccountViewSchema,
  accountView,
  createTokenBucketLimiter,
  encodeNpy,
  JobDetailSchema,
  JobListSchema,
  JobQuoteSchema,
  JobSpecSchema,
  JobViewSchema,
  MAX_BLOB_BYTES,
  RELAY_HEARTBEAT_MS,
  RELAY_MAX_JSON_BYTES,
  ResultsPageSchema,
  type TokenBucketOptions,
} from '@tabswarm/protocol'
import { type Context, Hono } from 'hono'
import { requestId } from 'hono/request-id'
import type { UpgradeWebSocket } from 'hono/ws'
import { getAddress } from 'viem'
import type { z } from 'zod'
import type { BlobStore } from '../blobs/blob-store.ts'
import type { CoordinatorApi } from '../coordinator/coordinator-api.ts'
import type { Logger } from '../log.ts'
import type { RelayMetrics } from '../metrics/relay-metrics.ts'
import type { ApiEnv } from './api-env.ts'
import {
  AccountParamsSchema,
  BlobParamsSchema,
  BlobRefSchema,
  EventsQuerySchema,
  HealthSchema,
  JobEventSchema,
  JobParamsSchema,
  ListJobsQuerySchema,
  OutputQuerySchema,
  ResultsQuerySchema,
  SwarmSchema,
} from './api-schemas.ts'
import type { ApiKeyRing } from './auth/api-keys.ts'
import { authenticate, isLoopbackAddress } from './auth/authenticate.ts'
import type { WalletAuthenticator } from './auth/wallet-auth.ts'
import type { WalletSessions } from './auth/wallet-sessions.ts'
import { blobResponseStream } from './blob-response-stream.ts'
import { bodySizeLimit } from './body-size-limit.ts'
import { clientAddress } from './client-address.ts'
import { apiCors, type CorsOrigins, localOriginGuard, publicRead } from './cross-origin.ts'
import { ApiError, errorResponse } from './error-response.ts'
import { jobEventsOverSse, jobEventsOverWebSocket } from './job-event-streams.ts'
import { buildOpenApiDocument } from './openapi.ts'
import { rateLimit } from './rate-limit.ts'
import { cachedRelayPeers, type RelayPeersSource } from './relay-peers.ts'
import { requestLog } from './request-log.ts'
import type { RouteDoc, RouteHandler } from './route-docs.ts'
import { registerSessionRoutes } from './session-routes.ts'
import { registerSettlementRoutes, type SettlementApiOptions } from './settlement-routes.ts'
import { registerStatsRoutes } from './stats-routes.ts'
import { type UploadSlotsOptions, uploadSlots } from './upload-slots.ts'
import { parseOrThrow, readJsonBody } from './validation.ts'

export interface ApiOptions {
  /** The coordinator's researcher-facing facade. */
  jobs: CoordinatorApi
  blobs: BlobStore
  log: Logger
  /** What `GET /v1/swarm` tells tabs to dial. */
  swarm: () => { peerId: string; multiaddrs: string[]; settlement?: boolean }
  /**
   * The cluster's other live relays, listed in `GET /v1/swarm`'s `relays` after this one,
   * so tabs and workers can fail over to them (the relays registry on a shared database).
   * Looked up at most every 2 s, and left out when the lookup fails. @default none
   */
  peers?: RelayPeersSource
  /** Extra fields of `GET /v1/health`. */
  health?: () => Record<string, unknown>
  auth: {
    keys: ApiKeyRing
    wallet: WalletAuthenticator
    /** Wallet sessions (`POST /v1/sessions`); without it, that route is not served. */
    sessions?: WalletSessions
    openToLocal: boolean
  }
  /** Token buckets per client address and per account; `false` turns limiting off. */
  rateLimit?: { ip: TokenBucketOptions; account: TokenBucketOptions } | false
  metrics?: RelayMetrics
  /**
   * Take the client address from `X-Forwarded-For`, behind one reverse proxy (`true`) or a
   * chain of that many. @default false
   */
  trustProxy?: boolean | number
  /** Largest blob accepted by `PUT /v1/blobs`: what a tab can still fetch. @default MAX_BLOB_BYTES (256 MiB) */
  maxBlobBytes?: number
  /** Uploads received at once, per account and in all. @default { perAccount: 4, total: 16 } */
  uploads?: UploadSlotsOptions
  /** How long one upload may take to arrive. @default STREAM_PUT_TIMEOUT_MS (10 minutes) */
  uploadTimeoutMs?: number
  /** How long an upload may send nothing before it is cut (408). @default STREAM_PUT_IDLE_MS (30 s) */
  uploadIdleMs?: number
  /** Largest JSON body (job specs). @default RELAY_MAX_JSON_BYTES (4 MiB) */
  maxJsonBytes?: number
  /**
   * Origins whose pages may call the API (CORS), or `'*'` for any. A request as the open
   * relay's local account from any other origin is refused. @default [] (same origin only)
   */
  corsOrigins?: CorsOrigins
  /** Comment lines on idle event streams, so proxies keep them open. @default RELAY_HEARTBEAT_MS (15 s) */
  heartbeatMs?: number
  /** `@hono/node-server`'s `upgradeWebSocket`; without it, events are served over SSE only. */
  upgradeWebSocket?: UpgradeWebSocket
  /**
   * Credits settled on chain (`/v1/settlement/*`); without it those routes answer
   * `SETTLEMENT_DISABLED`.
   */
  settlement?: SettlementApiOptions
}

type Handler = RouteHandler

/**
 * The HTTP JSON API used by the SDK, the CLI and the pages: blobs in, jobs quoted, submitted
 * and cancelled, results and events streamed, products and credits out. Every route is
 * described in `GET /v1/openapi.json`, generated from the schemas the handlers parse with.
 */
export function createApi(options: ApiOptions): Hono<ApiEnv> {
  const { jobs, blobs, log, metrics } = options
  const maxBlobBytes = options.maxBlobBytes ?? MAX_BLOB_BYTES
  const peers: () => Promise<RelayEntry[]> = options.peers
    ? cachedRelayPeers(options.peers, { log })
    : async () => []
  const maxJsonBytes = options.maxJsonBytes ?? RELAY_MAX_JSON_BYTES
  const heartbeatMs = options.heartbeatMs ?? RELAY_HEARTBEAT_MS
  const api = new Hono<ApiEnv>()
  const docs: RouteDoc[] = []

  api.onError((err, c) =>
    errorResponse(err, c, (e) =>
      log.error('request failed', { requestId: c.get('requestId'), path: c.req.path, error: e }),
    ),
  )
  api.notFound((c) =>
    c.json(
      { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )

  const corsOrigins = options.corsOrigins ?? []
  // First, so that preflights and refusals carry the CORS headers a browser needs to read them.
  if (corsOrigins === '*' || corsOrigins.length > 0) api.use('/v1/*', apiCors(corsOrigins))
  api.use(requestId({ limitLength: 128 }))
  api.use(clientAddress({ trustProxy: options.trustProxy ?? false }))
  api.use(requestLog({ log, ...(metrics ? { metrics } : {}) }))

  const limits = options.rateLimit === false ? undefined : options.rateLimit
  const onLimited = (scope: 'ip' | 'account') => metrics?.rateLimited(scope)
  // Per address first: it is cheap, and it bounds the signature checks a stranger can cause.
  if (limits) {
    api.use(
      '/v1/*',
      rateLimit({
        limiter: createTokenBucketLimiter(limits.ip),
        scope: 'ip',
        // An open relay serves its own machine's user only: limiting them protects nothing.
        key: (c) =>
          options.auth.openToLocal && isLoopbackAddress(c.get('clientIp'))
            ? undefined
            : c.get('clientIp'),
        onLimited,
      }),
    )
  }
  const accountLimit: Handler[] = limits
    ? [
        rateLimit({
          limiter: createTokenBucketLimiter(limits.account),
          scope: 'account',
          key: (c) => (c.get('principal').via === 'local' ? undefined : c.get('principal').account),
          onLimited,
        }),
      ]
    : []
  const localGuard = localOriginGuard(corsOrigins)
  const auth = authenticate({
    ...options.auth,
    onFailure: (code) => metrics?.authFailed(code),
  })

  /** Registers a route and its description together, so neither exists without the other. */
  function route(doc: RouteDoc, ...handlers: Handler[]): void {
    docs.push(doc)
    const chain: Handler[] = []
    // Header checks only, in this order, before any body byte is read: the declared size,
    // then who is asking (a wallet signature covers the body's hash, checked as it streams).
    if (doc.body) chain.push(bodySizeLimit(doc.body.maxBytes))
    if (doc.auth) chain.push(auth, localGuard, ...accountLimit)
    const on = api.on as (method: string, path: string, ...handlers: Handler[]) => unknown
    on(doc.method.toUpperCase(), doc.path, ...chain, ...handlers)
  }

  const jobParam = (c: Context<ApiEnv>) =>
    parseOrThrow(JobParamsSchema, c.req.param(), 'path', 'INVALID_ID').id

  /** The caller's job; someone else's job is reported as missing, not as forbidden. */
  async function ownedJob(c: Context<ApiEnv>): Promise<JobView> {
    const id = jobParam(c)
    const job = await jobs.getJob(id)
    if (job.owner != null && job.owner !== c.get('principal').account)
      throw new ApiError('JOB_NOT_FOUND', `no job with id ${id}`)
    return job
  }

  const json = (description: string, schema: z.ZodType) => ({
    description,
    contentType: 'application/json',
    schema,
  })

  route(
    {
      method: 'get',
      path: '/v1/health',
      summary: 'Liveness and queue figures',
      auth: false,
      responses: { 200: json('Up', HealthSchema) },
    },
    (c) => c.json({ ok: true, ...options.health?.() }),
  )

  route(
    {
      method: 'get',
      path: '/v1/swarm',
      summary: 'The relay’s libp2p peer id and multiaddrs, for tabs and workers',
      auth: false,
      description:
        'Readable from any origin (Access-Control-Allow-Origin: *), whatever TABSWARM_CORS_ORIGINS says: ' +
        'the widget on a site’s page asks it where to dial.',
      responses: { 200: json('Where to dial', SwarmSchema) },
    },
    publicRead(),
    async (c) => {
      const swarm = options.swarm()
      const own = { peerId: swarm.peerId, multiaddrs: swarm.multiaddrs }
      const others = (await peers()).filter((peer) => peer.peerId !== own.peerId)
      return c.json({ ...swarm, relays: [own, ...others] })
    },
  )

  registerStatsRoutes({
    route,
    jobs,
    ...(options.settlement ? { settledCredits: options.settlement.service.settledCredits } : {}),
  })

  route(
    {
      method: 'get',
      path: '/v1/openapi.json',
      summary: 'This description',
      auth: false,
      responses: { 200: { description: 'OpenAPI 3.1 document', contentType: 'application/json' } },
    },
    (c) => c.json(openApi),
  )

  route(
    {
      method: 'put',
      path: '/v1/blobs',
      summary: 'Upload bytes; they are stored under their sha-256',
      description:
        'The body streams to disk as it arrives, hashed on the way; it is never held whole. Uploads in flight ' +
        'are bounded per account (429 UPLOADS_BUSY) and on the relay (503 RELAY_BUSY), both with Retry-After.',
      auth: true,
      body: {
        contentType: 'application/octet-stream',
        maxBytes: maxBlobBytes,
        description: 'Raw bytes, e.g. a float32 C-order tensor',
      },
      responses: {
        201: json('Stored', BlobRefSchema),
        408: { description: 'The body stalled, or did not arrive within the upload timeout' },
        429: { description: 'This account has its most uploads in flight, or is rate limited' },
        503: { description: 'The relay has its most uploads in flight' },
      },
    },
    uploadSlots(options.uploads),
    async (c) => {
      const body = c.req.raw.body ?? new Blob([]).stream()
      let stored: { hash: string; size: number }
      try {
        // Streamed to a temp file and hashed on the way: never held whole in memory.
        stored = await blobs.putStream(body, {
          signal: c.req.raw.signal,
          maxBytes: maxBlobBytes,
          ...(options.uploadTimeoutMs !== undefined ? { timeoutMs: options.uploadTimeoutMs } : {}),
          ...(options.uploadIdleMs !== undefined ? { idleTimeoutMs: options.uploadIdleMs } : {}),
        })
      } catch (err) {
        if (err instanceof DOMException && err.name === 'TimeoutError')
          throw new ApiError(
            'REQUEST_TIMEOUT',
            `the upload stalled or took too long to arrive (${err.message}); send it faster or split it into smaller blobs`,
          )
        // The client went away mid-upload: nothing to answer, and nothing the relay did wrong.
        if (c.req.raw.signal.aborted)
          throw new ApiError('BAD_REQUEST', 'the client closed the upload before it ended')
        throw err
      }
      const { hash, size } = stored
      // A blob kept in the coordinator's store commits with its group: answer once it has.
      await jobs.durable()
      return c.json({ blob: hash, size }, 201)
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/blobs/:hash',
      summary: 'Download a stored blob',
      auth: true,
      params: BlobParamsSchema,
      responses: {
        200: { description: 'The bytes', contentType: 'application/octet-stream' },
        404: { description: 'No such blob' },
      },
    },
    async (c) => {
      const { hash } = parseOrThrow(BlobParamsSchema, c.req.param(), 'path', 'INVALID_ID')
      const reader = await blobs.open(hash)
      if (reader == null) throw new ApiError('BLOB_NOT_FOUND', `no blob ${hash}`)
      // Read a chunk at a time as the client takes them: a large input never blocks the
      // event loop on one synchronous read, nor sits whole in memory per download.
      return c.body(blobResponseStream(reader), 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(reader.size),
        'cache-control': 'private, max-age=31536000, immutable',
      })
    },
  )

  const specBody = {
    contentType: 'application/json',
    schema: JobSpecSchema,
    maxBytes: maxJsonBytes,
  }
  const readSpec = async (c: Context<ApiEnv>) =>
    parseOrThrow(JobSpecSchema, await readJsonBody(c.req), 'body', 'INVALID_BODY')

  route(
    {
      method: 'post',
      path: '/v1/quote',
      summary: 'Price a job spec without submitting it',
      auth: true,
      body: specBody,
      responses: {
        200: json('The price', JobQuoteSchema),
        422: { description: 'The spec cannot run' },
      },
    },
    async (c) => c.json(await jobs.quote(await readSpec(c))),
  )

  route(
    {
      method: 'post',
      path: '/v1/jobs',
      summary: 'Submit a job; its budget is escrowed from the caller’s account',
      auth: true,
      body: specBody,
      responses: {
        201: json('Accepted', JobViewSchema),
        402: { description: 'Not enough credits for the budget' },
        422: { description: 'The spec cannot run (shapes, missing blobs, limits)' },
      },
    },
    async (c) => {
      const spec = await readSpec(c)
      const owner = c.get('principal').account
      const job = await jobs.submit(spec, { account: owner })
      log.info('job submitted', {
        requestId: c.get('requestId'),
        job: job.id,
        owner,
        kernel: job.kernel,
        tasks: job.tasks.total,
      })
      return c.json(job, 201)
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/jobs',
      summary: 'The caller’s jobs, newest first, paged',
      auth: true,
      query: ListJobsQuerySchema,
      responses: { 200: json('A page of jobs', JobListSchema) },
    },
    async (c) => {
      const query = parseOrThrow(ListJobsQuerySchema, c.req.query(), 'query', 'INVALID_QUERY')
      const page = await jobs.listJobs({
        owner: c.get('principal').account,
        limit: query.limit,
        ...(query.status ? { status: query.status } : {}),
        ...(query.idPrefix ? { idPrefix: query.idPrefix } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      })
      return c.json(page)
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/jobs/:id',
      summary: 'A job’s state',
      auth: true,
      params: JobParamsSchema,
      responses: {
        200: json('The job', JobViewSchema),
        404: { description: 'No such job of the caller' },
      },
    },
    async (c) => c.json(await ownedJob(c)),
  )

  route(
    {
      method: 'get',
      path: '/v1/jobs/:id/detail',
      summary: 'A job in detail: tasks by state, verification outcomes, timings, history',
      description:
        'What `tabswarm job <id>` and the dashboard show: the job view, its tasks by state (a partition of total), ' +
        'how its results were verified, its flops, timings, throughput over the last minute, and samples of its task ' +
        'states over time (kept in memory: after a relay restart a job ended before it has its start and end only).',
      auth: true,
      params: JobParamsSchema,
      responses: {
        200: json('The job in detail', JobDetailSchema),
        404: { description: 'No such job of the caller' },
      },
    },
    async (c) => {
      const job = await ownedJob(c)
      return c.json(await jobs.jobDetail(job.id))
    },
  )

  route(
    {
      method: 'post',
      path: '/v1/jobs/:id/cancel',
      summary: 'Stop a job; unspent credits are refunded',
      auth: true,
      params: JobParamsSchema,
      responses: {
        200: json('The job, with refund', JobViewSchema),
        404: { description: 'No such job of the caller' },
        409: {
          description:
            'JOB_FINISHED: the job had already completed, failed or been cancelled; nothing was stopped or refunded',
        },
      },
    },
    async (c) => {
      const job = await ownedJob(c)
      const cancelled = await jobs.cancel(job.id, { account: c.get('principal').account })
      log.info('job cancelled', {
        requestId: c.get('requestId'),
        job: job.id,
        refunded: cancelled.credits.refunded,
      })
      return c.json(cancelled)
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/jobs/:id/results',
      summary: 'Accepted task results after a seq cursor, with their output blobs',
      auth: true,
      params: JobParamsSchema,
      query: ResultsQuerySchema,
      responses: { 200: json('A page of results', ResultsPageSchema) },
    },
    async (c) => {
      const job = await ownedJob(c)
      const { after, limit } = parseOrThrow(
        ResultsQuerySchema,
        c.req.query(),
        'query',
        'INVALID_QUERY',
      )
      return c.json(await jobs.results(job.id, { after, limit }))
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/jobs/:id/output',
      summary: 'The output of a completed job: a matmul’s product, or an inference job’s tokens',
      auth: true,
      params: JobParamsSchema,
      query: OutputQuerySchema,
      responses: {
        200: {
          description:
            'matmul: float32 C-order bytes (format=raw) or a .npy file (format=npy); inference: InferenceOutput JSON ({ sequences: [{ index, tokens, finish }] })',
          contentType: 'application/octet-stream',
          headers: { 'x-tabswarm-dtype': 'float32', 'x-tabswarm-shape': 'rows,cols' },
        },
        409: { description: 'The job has not completed' },
      },
    },
    async (c) => {
      const job = await ownedJob(c)
      const { format } = parseOrThrow(OutputQuerySchema, c.req.query(), 'query', 'INVALID_QUERY')
      // An inference job's output is its generated tokens, as JSON (`InferenceOutput`).
      if (job.kernel === 'inference') return c.json(await jobs.inferenceOutput(job.id), 200)
      if (job.kernel !== 'matmul' || job.args == null)
        throw new ApiError(
          'BAD_REQUEST',
          `job ${job.id} is a ${job.kernel} job; read its outputs from /v1/jobs/${job.id}/results`,
        )
      const data = await jobs.jobOutput(job.id)
      const shape = [job.args.m, job.args.n]
      const headers = { 'x-tabswarm-dtype': 'float32', 'x-tabswarm-shape': shape.join(',') }
      if (format === 'npy') {
        return c.body(
          encodeNpy({ dtype: 'float32', shape, data }) as Uint8Array<ArrayBuffer>,
          200,
          {
            ...headers,
            'content-type': 'application/x-npy',
            'content-disposition': `attachment; filename="${job.id}.npy"`,
          },
        )
      }
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        ...headers,
        'content-type': 'application/octet-stream',
      })
    },
  )

  const eventsRoute: RouteDoc = {
    method: 'get',
    path: '/v1/jobs/:id/events',
    summary: 'A job’s events: results as accepted, progress, and the end',
    description:
      'Server-sent events (Accept: text/event-stream), resumable with Last-Event-ID, with heartbeat comments; ' +
      'or the same events as JSON WebSocket messages { event, id, data } when the request upgrades (resume with ?after=). ' +
      'Events: result (a TaskResultRecord; none with ?results=false), progress | completed | failed | cancelled ({ job }). The stream ends after the terminal event.',
    auth: true,
    params: JobParamsSchema,
    query: EventsQuerySchema,
    responses: {
      200: {
        description: 'text/event-stream',
        contentType: 'text/event-stream',
        schema: JobEventSchema,
      },
      101: { description: 'Switching to WebSocket' },
    },
  }
  /** Where the stream resumes and whether it carries results. */
  const streamQuery = (c: Context<ApiEnv>): { after: number; results: boolean } => {
    const query = parseOrThrow(EventsQuerySchema, c.req.query(), 'query', 'INVALID_QUERY')
    const lastEventId = c.req.header('last-event-id')
    if (lastEventId === undefined || lastEventId === '')
      return { after: query.after ?? 0, results: query.results }
    if (!/^\d{1,15}$/.test(lastEventId))
      throw new ApiError(
        'BAD_REQUEST',
        `Last-Event-ID must be a result seq (a non-negative integer), got "${lastEventId.slice(0, 40)}"`,
      )
    return { after: Number(lastEventId), results: query.results }
  }
  const eventHandlers: Handler[] = [
    async (c, next) => {
      // Validated before any upgrade, so a bad request is a 4xx, not a closed socket.
      await ownedJob(c)
      streamQuery(c)
      await next()
    },
  ]
  if (options.upgradeWebSocket) {
    eventHandlers.push(
      options.upgradeWebSocket((c) =>
        jobEventsOverWebSocket({
          jobs,
          jobId: jobParam(c),
          ...streamQuery(c),
          heartbeatMs,
          log,
          onOpenChange: (delta) => metrics?.eventStream('websocket', delta),
        }),
      ) as Handler,
    )
  }
  eventHandlers.push(async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() === 'websocket')
      throw new ApiError(
        'BAD_REQUEST',
        'WebSocket upgrades are not served here; use server-sent events',
      )
    return jobEventsOverSse(c, {
      jobs,
      jobId: jobParam(c),
      ...streamQuery(c),
      heartbeatMs,
      log,
      onOpenChange: (delta) => metrics?.eventStream('sse', delta),
    })
  })
  route(eventsRoute, ...eventHandlers)

  route(
    {
      method: 'get',
      path: '/v1/accounts/:address',
      summary: 'Credits of a wallet (anyone may read) or of the caller’s own account',
      auth: true,
      params: AccountParamsSchema,
      responses: {
        200: json('Credits', AccountViewSchema),
        403: { description: 'Another account’s credits' },
      },
    },
    async (c) => {
      const { address } = parseOrThrow(AccountParamsSchema, c.req.param(), 'path', 'INVALID_ID')
      const caller = c.get('principal').account
      const isWallet = address.startsWith('0x')
      if (!isWallet && address !== caller)
        throw new ApiError('FORBIDDEN', `account ${address} is not yours; you are ${caller}`)
      return c.json(accountView(await jobs.account(isWallet ? getAddress(address) : address)))
    },
  )

  if (options.auth.sessions != null)
    registerSessionRoutes({ route, sessions: options.auth.sessions, durable: () => jobs.durable() })

  if (metrics) {
    route(
      {
        method: 'get',
        path: '/metrics',
        summary: 'Prometheus metrics: tasks, queue, leases, verification, contributors, HTTP',
        auth: false,
        responses: {
          200: { description: 'Prometheus text exposition format', contentType: 'text/plain' },
        },
      },
      async (c) => {
        const { contentType, body } = await metrics.render()
        return c.body(body, 200, { 'content-type': contentType })
      },
    )
  }

  registerSettlementRoutes({
    api,
    route,
    ...(options.settlement ? { settlement: options.settlement } : {}),
    openToLocal: options.auth.openToLocal,
    json,
  })

  // Unknown API paths answer in the API's error shape, not with the page server's 404.
  api.all('/v1/*', (c) => {
    throw new ApiError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`)
  })

  const openApi = buildOpenApiDocument(docs, { title: 'Tabswarm relay API', version: '1' })
  return api
}
