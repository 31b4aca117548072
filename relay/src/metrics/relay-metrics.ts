import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { CoordinatorStats } from '../coordinator/coordinator-api.ts'

export interface RelayMetricsOptions {
  /** The coordinator's figures, read once per scrape, so `/metrics` is always current. */
  stats: () => CoordinatorStats
  /** Also export Node's process metrics (CPU, memory, event-loop lag). @default true */
  processMetrics?: boolean
}

export interface RelayMetrics {
  readonly registry: Registry
  /** Counts one finished HTTP request under its route pattern (never the raw path). */
  observeRequest(request: { method: string; route: string; status: number; seconds: number }): void
  rateLimited(scope: 'ip' | 'account'): void
  authFailed(code: string): void
  /** An event stream opened (+1) or ended (-1). */
  eventStream(transport: 'sse' | 'websocket', delta: 1 | -1): void
  /** Bytes the relay sent in blob responses, by where the blob came from. */
  blobBytesSent(source: 'job-part' | 'blob', bytes: number): void
  /** Bytes of one work-protocol response the relay sent, by message type. */
  workBytesSent(type: string, bytes: number): void
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>
}

/**
 * The relay's Prometheus metrics, in a registry of their own (so several relays in one process,
 * as in tests, do not collide). Coordinator figures are read through `snapshot` when scraped.
 *
 * @example
 * const metrics = createRelayMetrics({ stats: () => coordinator.stats() })
 * app.get('/metrics', async (c) => { const { contentType, body } = await metrics.render(); return c.text(body, 200, { 'content-type': contentType }) })
 */
export function createRelayMetrics(options: RelayMetricsOptions): RelayMetrics {
  const registry = new Registry()
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry })
  let current: CoordinatorStats | undefined
  // One reading per scrape, shared by every collect callback below.
  const stats = () => {
    current ??= options.stats()
    return current
  }
  /**
   * A counter mirroring a cumulative figure the coordinator keeps in memory: it starts at
   * zero with the process, which Prometheus' rate() reads as a counter reset.
   */
  const mirrored = (name: string, help: string, read: (s: CoordinatorStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read(stats()))
      },
    })

  new Gauge({
    name: 'tabswarm_queue_depth',
    help: 'Tasks waiting for a contributor.',
    registers: [registry],
    collect() {
      this.set(stats().gauges.queueDepth)
    },
  })
  new Gauge({
    name: 'tabswarm_leases_active',
    help: 'Tasks held by contributors under a lease.',
    registers: [registry],
    collect() {
      this.set(stats().gauges.activeLeases)
    },
  })
  new Gauge({
    name: 'tabswarm_contributors_online',
    help: 'Contributors connected and announced.',
    registers: [registry],
    collect() {
      this.set(stats().gauges.contributorsOnline)
    },
  })
  new Gauge({
    name: 'tabswarm_jobs',
    help: 'Jobs by status.',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [status, count] of Object.entries(stats().gauges.jobs))
        this.labels(status).set(count)
    },
  })
  new Gauge({
    name: 'tabswarm_contributors_banned',
    help: 'Bans for faults: peer ids, wallets and network addresses.',
    registers: [registry],
    collect() {
      this.set(stats().gauges.bannedContributors)
    },
  })
  mirrored(
    'tabswarm_tasks_completed_total',
    'Full task cycles (dispatch, result, verification), whatever the verdict; rate() of it is tasks per second.',
    (s) => s.counters.results.reduce((sum, r) => (r.outcome === 'stale' ? sum : sum + r.count), 0),
  )
  mirrored(
    'tabswarm_tasks_dispatched_total',
    'Task leases handed out.',
    (s) => s.counters.tasksDispatched,
  )
  mirrored(
    'tabswarm_credits_paid_total',
    'Credits paid to contributors for verified work.',
    // Prometheus samples are float64: exact up to 2^53 credits, rounded past it.
    (s) => Number(s.counters.creditsPaid),
  )
  mirrored('tabswarm_credits_refunded_total', 'Credits refunded to researchers.', (s) =>
    Number(s.counters.creditsRefunded),
  )
  mirrored(
    'tabswarm_canaries_issued_total',
    'Known-answer canary tasks handed out.',
    (s) => s.counters.canariesIssued,
  )
  mirrored(
    'tabswarm_spot_checks_total',
    'Results recomputed on the coordinator.',
    (s) => s.counters.spotChecks,
  )
  mirrored('tabswarm_bans_total', 'Contributor bans.', (s) => s.counters.bans)
  mirrored(
    'tabswarm_verdicts_dropped_total',
    'Verdicts of pending results dropped unsent: their contributor’s queue was full.',
    (s) => s.counters.verdictsDropped ?? 0,
  )
  new Counter({
    name: 'tabswarm_verifications_total',
    help: 'Results by verification method and outcome (accepted, pending, rejected, stale).',
    labelNames: ['method', 'result'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const { method, outcome, count } of stats().counters.results)
        this.labels(method, outcome).inc(count)
    },
  })

  const requests = new Counter({
    name: 'tabswarm_http_requests_total',
    help: 'HTTP API requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const durations = new Histogram({
    name: 'tabswarm_http_request_duration_seconds',
    help: 'HTTP API request durations (to the response head for streams).',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  })
  const limited = new Counter({
    name: 'tabswarm_http_rate_limited_total',
    help: 'Requests refused with 429, by limit (ip or account).',
    labelNames: ['scope'] as const,
    registers: [registry],
  })
  const authFailures = new Counter({
    name: 'tabswarm_http_auth_failures_total',
    help: 'Requests refused with 401, by reason.',
    labelNames: ['code'] as const,
    registers: [registry],
  })

  const streams = new Gauge({
    name: 'tabswarm_event_streams_open',
    help: 'Job event streams held open, by transport.',
    labelNames: ['transport'] as const,
    registers: [registry],
  })

  const blobBytes = new Counter({
    name: 'tabswarm_relay_blob_bytes_sent_total',
    help: 'Bytes the relay sent in blob-protocol responses, by source: job-part (a band of a live job) or blob (the store).',
    labelNames: ['source'] as const,
    registers: [registry],
  })
  const workBytes = new Counter({
    name: 'tabswarm_relay_work_bytes_sent_total',
    help: 'Bytes of work-protocol responses the relay sent (frames, headers and payloads), by message type.',
    labelNames: ['type'] as const,
    registers: [registry],
  })

  return {
    registry,
    blobBytesSent: (source, bytes) => blobBytes.labels(source).inc(bytes),
    workBytesSent: (type, bytes) => workBytes.labels(type).inc(bytes),
    observeRequest({ method, route, status, seconds }) {
      requests.labels(method, route, String(status)).inc()
      durations.labels(method, route).observe(seconds)
    },
    rateLimited: (scope) => limited.labels(scope).inc(),
    authFailed: (code) => authFailures.labels(code).inc(),
    eventStream: (transport, delta) => streams.labels(transport).inc(delta),
    async render() {
      current = undefined
      try {
        return { contentType: registry.contentType, body: await registry.metrics() }
      } finally {
        current = undefined
      }
    },
  }
}
