import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { ContributorEvent } from '@tabswarm/sdk/contributor'
import { startTabswarmProcess } from '../../tests/support/tabswarm-process.ts'
import type { BenchRow } from '../bench-types.ts'
import { runJobStream, type StreamedJob } from './job-stream.ts'
import { sampleRss } from './rss-sampler.ts'
import { createSimulatedContributor, type SimulatedContributor } from './simulated-contributor.ts'
import { checkStoreInvariants, type StoreCheck } from './store-invariants.ts'

export interface LoadOptions {
  contributors: number
  /** How long the job stream runs once every contributor has joined (warm-up included). */
  durationMs: number
  /** Excluded from throughput and latency figures, and from the first RSS window. */
  warmupMs: number
  log: (line: string) => void
  signal?: AbortSignal
  /** Edges of each job: A m×k, B k×n. @default 64, 32, 64 */
  shape?: { m: number; k: number; n: number }
  /** Tile edge the relay cuts jobs into. @default 16 (16 tasks of 16×32·32×16 per job) */
  tile?: number
  /** Jobs kept running at once. @default max(4, contributors / 8) */
  inFlight?: number
  /** New connections per second while contributors join (the relay admits 100/s per host). @default 80 */
  dialsPerSecond?: number
}

export interface LoadReport {
  contributors: number
  /** How long the job stream ran, warm-up included. */
  durationMs: number
  connected: number
  measuredMs: number
  tasksAccepted: number
  tasksPerSecond: number
  /** Task latency: lease received by the contributor → its result acknowledged as accepted. */
  p50Ms: number
  p99Ms: number
  jobs: { submitted: number; completed: number; p50Ms: number; p99Ms: number }
  /** Tasks of submitted jobs not done in the store once the drain (at most 180 s) ended. */
  lostTasks: number
  /** This machine's 1-minute load average when the window started and ended (other work included). */
  machineLoad: [number, number]
  /** The relay process's CPU use over the measured window, in cores (1 = one core busy). */
  relayCpuCores: number
  rejected: number
  relayErrors: number
  /** A few of the relay errors the contributors saw, for the log. */
  relayErrorSamples: string[]
  /** Warnings and errors the relay logged, by message. */
  relayWarnings: Record<string, number>
  rss: { peakMb: number; firstWindowMb: number; lastWindowMb: number; hwmMb: number }
  store: StoreCheck
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

/** A Linux process's resident set (VmRSS) or high-water mark (VmHWM), in bytes. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`))
    return line == null ? undefined : Number(line.split(/\s+/)[1]) * 1024
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) a Linux process has used so far. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // utime and stime are fields 14 and 15 of stat; after "comm) " they are the 12th and 13th.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length)

/**
 * Holds `contributors` simulated contributors (real libp2p connections, the real contributor
 * loop, CPU matmul) on one `tabswarm start` relay process while a stream of matmul jobs runs,
 * and measures throughput, task latency and the relay's memory. Afterwards every job must be
 * done and the store intact.
 */
export async function loadRelay(options: LoadOptions): Promise<LoadReport> {
  const { log } = options
  const { m, k, n } = options.shape ?? { m: 64, k: 32, n: 64 }
  const dataDir = await mkdtemp(join(tmpdir(), 'tabswarm-load-'))
  const relay = await startTabswarmProcess({
    dataDir,
    env: {
      TABSWARM_MAX_PEERS: String(Math.max(4096, options.contributors * 2)),
      TABSWARM_TILE_SIZE: String(options.tile ?? 16),
    },
  })
  const pid = relay.process.pid!
  const rss = sampleRss(() => procStatus(pid, 'VmRSS'), 1_000)
  const contributors: SimulatedContributor[] = []
  const leasedAt = new Map<string, number>()
  const accepted: Array<{ at: number; ms: number }> = []
  let rejected = 0
  let relayErrors = 0
  const relayErrorSamples = new Set<string>()
  const joined = new Set<number>()
  const onEvent = (who: number) => (event: ContributorEvent) => {
    if (event.type === 'connected') joined.add(who)
    else if (event.type === 'task-started') leasedAt.set(event.taskId, performance.now())
    else if (event.type === 'task-finished') {
      const from = leasedAt.get(event.taskId)
      leasedAt.delete(event.taskId)
      if (event.outcome === 'accepted' && from != null)
        accepted.push({ at: performance.now(), ms: performance.now() - from })
      if (event.outcome === 'rejected') rejected++
    } else if (event.type === 'relay-error') {
      relayErrors++
      if (relayErrorSamples.size < 5) relayErrorSamples.add(event.error.slice(0, 200))
    }
  }
  let jobs: StreamedJob[] = []
  let store: StoreCheck | undefined
  let connected = 0
  let window = { start: 0, end: 0 }
  let hwmBytes: number | undefined
  let cpuAtWindowStart: number | undefined
  let cpuAtWindowEnd: number | undefined
  let loadAtStart = Number.NaN
  let loadAtEnd = Number.NaN
  const relayWarnings: Record<string, number> = {}
  try {
    const addr = multiaddr(relay.multiaddrs[0]!)
    const put = async (values: Float32Array) => {
      const response = await fetch(`${relay.url}/v1/blobs`, {
        method: 'PUT',
        body: new Uint8Array(values.buffer) as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(15_000),
      })
      return ((await response.json()) as { blob: string }).blob
    }
    const a = await put(Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6))
    const b = await put(Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5))
    // Join at a pace the relay's per-host connection limit allows (every peer here is 127.0.0.1).
    const batch = 20
    const dialsPerSecond = options.dialsPerSecond ?? 80
    const joinStarted = performance.now()
    for (let i = 0; i < options.contributors; i += batch) {
      options.signal?.throwIfAborted()
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: Math.min(batch, options.contributors - i) }, async (_, j) => {
          const c = await createSimulatedContributor({ relay: addr, onEvent: onEvent(i + j) })
          try {
            await c.node.dial(addr, { signal: AbortSignal.timeout(20_000) })
          } catch {
            // The loop dials again by itself, with backoff.
          }
          contributors.push(c.start())
        }),
      )
      const pace = (batch * 1000) / dialsPerSecond - (performance.now() - t0)
      if (pace > 0) await new Promise((resolve) => setTimeout(resolve, pace))
    }
    // Those whose first dial failed retry with backoff: give them a moment to join.
    for (let wait = 0; wait < 40 && joined.size < options.contributors; wait++)
      await new Promise((resolve) => setTimeout(resolve, 250))
    connected = joined.size
    log(
      `${connected} of ${options.contributors} contributors connected in ${((performance.now() - joinStarted) / 1000).toFixed(0)} s`,
    )
    const stop = new AbortController()
    const timer = setTimeout(() => stop.abort(), options.durationMs)
    const started = performance.now()
    window = { start: started + options.warmupMs, end: started + options.durationMs }
    const warmedUp = setTimeout(() => {
      cpuAtWindowStart = cpuSeconds(pid)
      loadAtStart = loadavg()[0]!
    }, options.warmupMs)
    const progress = setInterval(() => {
      const recent = accepted.filter((t) => t.at > performance.now() - 10_000).length
      log(
        `${((performance.now() - started) / 1000).toFixed(0)} s: ${accepted.length} tasks accepted, ${(recent / 10).toFixed(1)}/s now, relay rss ${rss.currentMb().toFixed(0)} MB`,
      )
    }, 30_000)
    try {
      jobs = await runJobStream({
        url: relay.url,
        a,
        b,
        m,
        k,
        n,
        inFlight: options.inFlight ?? Math.max(4, Math.ceil(options.contributors / 8)),
        signal: options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal,
        log,
      })
    } finally {
      clearTimeout(timer)
      clearTimeout(warmedUp)
      clearInterval(progress)
      cpuAtWindowEnd = cpuSeconds(pid)
      loadAtEnd = loadavg()[0]!
    }
    // Drain: the jobs in flight finish (bounded), then nothing may be missing.
    const drainUntil = performance.now() + 180_000
    for (const job of jobs.filter((j) => j.finishedAt == null)) {
      while (performance.now() < drainUntil) {
        const view = (await fetch(`${relay.url}/v1/jobs/${job.id}`, {
          signal: AbortSignal.timeout(10_000),
        })
          .then((r) => r.json())
          .catch(() => ({ status: 'running' }))) as { status: string }
        if (view.status !== 'running') {
          job.status = view.status
          job.finishedAt = performance.now()
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  } finally {
    await Promise.allSettled(contributors.map((c) => c.stop()))
    rss.stop()
    hwmBytes = procStatus(pid, 'VmHWM')
    for (const line of relay.logs().split('\n')) {
      try {
        const { level, msg } = JSON.parse(line) as { level?: string; msg?: string }
        if (level === 'warn' || level === 'error')
          relayWarnings[`${level}: ${msg}`] = (relayWarnings[`${level}: ${msg}`] ?? 0) + 1
      } catch {
        // Not a log line.
      }
    }
    await relay.stop()
    store = checkStoreInvariants(dataDir)
    await rm(dataDir, { recursive: true, force: true })
  }
  const inWindow = accepted.filter((t) => t.at >= window.start && t.at <= window.end)
  const measuredMs = window.end - window.start
  const completed = jobs.filter((j) => j.status === 'completed')
  const jobMs = completed.map((j) => j.finishedAt! - j.submittedAt)
  // RSS windows: the first and the last minute after warm-up (the first and last quarter of a short run).
  const span = Math.min(60_000, measuredMs / 4)
  const mbBetween = (from: number, to: number) =>
    rss
      .samples()
      .filter(([at]) => at >= from && at <= to)
      .map(([, mb]) => mb)
  const firstWindow = mbBetween(window.start, window.start + span)
  const lastWindow = mbBetween(window.end - span, window.end)
  return {
    contributors: options.contributors,
    durationMs: options.durationMs,
    connected,
    measuredMs,
    tasksAccepted: accepted.length,
    tasksPerSecond: inWindow.length / (measuredMs / 1000),
    p50Ms: quantile(
      inWindow.map((t) => t.ms),
      0.5,
    ),
    p99Ms: quantile(
      inWindow.map((t) => t.ms),
      0.99,
    ),
    jobs: {
      submitted: jobs.length,
      completed: completed.length,
      p50Ms: quantile(jobMs, 0.5),
      p99Ms: quantile(jobMs, 0.99),
    },
    lostTasks: store!.tasksNotDone,
    machineLoad: [loadAtStart, loadAtEnd],
    relayCpuCores:
      cpuAtWindowStart != null && cpuAtWindowEnd != null
        ? (cpuAtWindowEnd - cpuAtWindowStart) / (measuredMs / 1000)
        : Number.NaN,
    rejected,
    relayErrors,
    relayErrorSamples: [...relayErrorSamples],
    relayWarnings,
    rss: {
      peakMb: rss.peakMb(),
      firstWindowMb: mean(firstWindow),
      lastWindowMb: mean(lastWindow),
      hwmMb: (hwmBytes ?? Number.NaN) / 1024 / 1024,
    },
    store: store!,
  }
}

/** The load figures as bench rows. */
export function loadRows(report: LoadReport): BenchRow[] {
  const c = `load: ${report.connected} contributors, ${(report.durationMs / 60_000).toFixed(1)} min job stream (${(report.measuredMs / 60_000).toFixed(1)} min measured)`
  return [
    {
      case: c,
      metric: 'tasks_per_s',
      value: Number(report.tasksPerSecond.toFixed(1)),
      unit: 'tasks/s',
    },
    { case: c, metric: 'p50_ms', value: Math.round(report.p50Ms), unit: 'ms' },
    { case: c, metric: 'p99_ms', value: Math.round(report.p99Ms), unit: 'ms' },
    { case: c, metric: 'peak_rss_mb', value: Math.round(report.rss.peakMb), unit: 'MB' },
    {
      case: c,
      metric: 'relay RSS, mean of the last window',
      value: Math.round(report.rss.lastWindowMb),
      unit: 'MB',
      vs: { name: 'first window after warm-up', value: Math.round(report.rss.firstWindowMb) },
    },
    {
      case: c,
      metric: 'job p99 (submit → completed)',
      value: Math.round(report.jobs.p99Ms),
      unit: 'ms',
    },
    {
      case: c,
      metric: 'relay CPU over the window',
      value: Number(report.relayCpuCores.toFixed(2)),
      unit: 'cores',
    },
    {
      case: c,
      metric: 'machine load average (1 min) at the window’s end',
      value: Number(report.machineLoad[1].toFixed(1)),
      unit: 'runnable',
      vs: { name: 'at its start', value: Number(report.machineLoad[0].toFixed(1)) },
    },
    { case: c, metric: 'lost_tasks', value: report.lostTasks, unit: 'tasks' },
    { case: c, metric: 'double_paid', value: report.store.paidBeyondAccepted, unit: 'payments' },
    { case: c, metric: 'ledger imbalance after', value: report.store.imbalance, unit: 'credits' },
  ]
}

/** `npm run bench:reliability`'s load suite: 10 minutes at the long size, 60 s otherwise. */
export async function runLoadSuite(options: {
  log: (line: string) => void
  long: boolean
  signal?: AbortSignal
}): Promise<BenchRow[]> {
  const contributors = Number(process.env.TABSWARM_LOAD_CONTRIBUTORS ?? (options.long ? 1000 : 200))
  const report = await loadRelay({
    contributors,
    durationMs: options.long ? 600_000 : 60_000,
    warmupMs: options.long ? 60_000 : 10_000,
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
  })
  options.log(`load: ${JSON.stringify(report)}`)
  return loadRows(report)
}
