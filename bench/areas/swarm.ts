import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { type Ping, ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Page } from 'playwright'
import { build } from 'vite'
import { launchChromium } from '../../tests/support/chromium.ts'
import { startInProcessRelay } from '../../tests/support/in-process-relay.ts'
import { openSwarmTab } from '../../tests/support/swarm-tabs.ts'
import { startTabswarmProcess } from '../../tests/support/tabswarm-process.ts'
import type { BenchArea, BenchRow } from '../bench-types.ts'
import { EGRESS_NOTE, measureJobEgress } from './swarm-job-egress.ts'

const MiB = 1024 * 1024
const BLOB_SIZES_MIB = [1, 16, 64]
/** Peers held at each step of the load ramp. */
const RAMP = [50, 100, 200, 400, 800, 1600, 2400]
/** The ramp stops once it has run this long, whatever step it reached. */
const RAMP_BUDGET_MS = 150_000
/** Clients dialling at once while the ramp adds peers. */
const DIAL_CONCURRENCY = 25
/**
 * New connections per second the ramp opens. All clients share 127.0.0.1, and the relay
 * accepts 100 new connections per second per host (`inboundConnectionsPerHostPerSecond`):
 * a real swarm spreads its arrivals over many hosts, so the ramp stays under that limit
 * rather than measuring it.
 */
const DIALS_PER_SECOND = 80
/** Clients pinged at each step to sample the relay's latency. */
const PING_SAMPLE = 100

/**
 * Parts of the area to run, from `TABSWARM_BENCH_SWARM` (comma-separated: `startup`,
 * `throughput`, `egress`, `load`); all of them when unset. For iterating only: the committed figures
 * come from a full run.
 */
const PARTS = new Set(
  (process.env.TABSWARM_BENCH_SWARM ?? 'startup,throughput,egress,load')
    .split(',')
    .map((part) => part.trim()),
)

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

/** Process ids under `pid` (Chromium's browser, renderers, network and GPU processes). */
function descendants(pid: number): number[] {
  const found: number[] = []
  let threads: string[] = []
  try {
    threads = readdirSync(`/proc/${pid}/task`)
  } catch {
    return found
  }
  for (const thread of threads) {
    let children = ''
    try {
      children = readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8')
    } catch {}
    for (const child of children.split(' ').filter(Boolean).map(Number)) {
      found.push(child, ...descendants(child))
    }
  }
  return found
}

/**
 * CPU seconds (user + system) used so far by this process and everything it started: the
 * in-process relay, Chromium and its renderers. NaN where /proc is missing. On a shared
 * machine the CPU a transfer costs says more than its wall time, which other work stretches.
 */
function benchCpuSeconds(): number {
  let ticks = 0
  try {
    for (const pid of [process.pid, ...descendants(process.pid)]) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        ticks += Number(fields[11]) + Number(fields[12])
      } catch {
        // The process ended between listing and reading.
      }
    }
  } catch {
    return Number.NaN
  }
  // USER_HZ is 100 on Linux.
  return ticks / 100
}

/** Builds the contributor page into a temp folder, exactly as `npm run build:web` does. */
async function buildContributorPage(): Promise<{ root: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'tabswarm-bench-web-'))
  await build({
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    build: { outDir: root, emptyOutDir: true },
    logLevel: 'warn',
  })
  return { root, remove: () => rm(root, { recursive: true, force: true }) }
}

/** Random bytes made in the page and put in its cache; returns their hash. */
function putRandom(page: Page, bytes: number, uploadToRelay: boolean) {
  return page.evaluate(
    async ([n, upload]) => {
      const data = new Uint8Array(n)
      for (let o = 0; o < n; o += 65_536) {
        crypto.getRandomValues(data.subarray(o, Math.min(n, o + 65_536)))
      }
      const { hash } = await globalThis.tabswarm.putBlob!(data)
      let uploadMs = 0
      if (upload) {
        const started = performance.now()
        const response = await fetch('./v1/blobs', { method: 'PUT', body: data })
        if (response.status !== 201) throw new Error(`upload answered ${response.status}`)
        uploadMs = performance.now() - started
      }
      return { hash, uploadMs }
    },
    [bytes, uploadToRelay] as const,
  )
}

async function measureTabs(log: (line: string) => void) {
  const rows: BenchRow[] = []
  const page = await buildContributorPage()
  const relay = await startInProcessRelay({ webRoot: page.root })
  const browser = await launchChromium()
  try {
    // Start-up: two rounds of three fresh tabs. Every tab's first relay connection counts;
    // the first direct link is timed on the tabs that had a peer to meet (the 2nd and 3rd).
    const toRelay: number[] = []
    const toDirect: number[] = []
    const relayToDirect: number[] = []
    for (let round = 0; PARTS.has('startup') && round < 2; round++) {
      const context = await browser.newContext()
      const tabs = []
      for (let i = 0; i < 3; i++) tabs.push(await openSwarmTab(context, relay.running.url))
      for (const [i, tab] of tabs.entries()) {
        await tab.page.waitForFunction(
          () => globalThis.tabswarm.stats().peers.direct >= 1,
          undefined,
          {
            timeout: 60_000,
          },
        )
        const stats = await tab.page.evaluate(() => globalThis.tabswarm.stats())
        toRelay.push(stats.relay.firstConnectedAtMs!)
        if (i > 0) {
          toDirect.push(stats.peers.firstDirectAtMs!)
          relayToDirect.push(stats.peers.firstDirectAtMs! - stats.relay.firstConnectedAtMs!)
        }
        // Absent in tabs from before the timeline existed (a baseline run of older code).
        const { firstDialSteps, ...timeline } = stats.timeline ?? { firstDialSteps: {} }
        const steps = Object.entries({ ...timeline, ...firstDialSteps })
          .map(([step, at]) => `${step.replace(/AtMs$/, '')} ${at == null ? '-' : at.toFixed(0)}`)
          .join(', ')
        log(`round ${round} tab ${i}: ${steps}`)
      }
      await context.close()
    }
    log(`page load to relay: ${toRelay.map((v) => v.toFixed(0)).join(', ')} ms`)
    log(`page load to first direct WebRTC: ${toDirect.map((v) => v.toFixed(0)).join(', ')} ms`)
    log(
      `relay connection to first direct WebRTC: ${relayToDirect.map((v) => v.toFixed(0)).join(', ')} ms`,
    )
    if (PARTS.has('startup'))
      rows.push(
        {
          case: 'tab start-up',
          metric: 'page load → first relay connection (median)',
          value: Math.round(median(toRelay)),
          unit: 'ms',
        },
        {
          case: 'tab start-up',
          metric: 'page load → first direct WebRTC connection (median)',
          value: Math.round(median(toDirect)),
          unit: 'ms',
        },
        {
          case: 'tab start-up',
          metric: 'relay connection → first direct WebRTC connection (median)',
          value: Math.round(median(relayToDirect)),
          unit: 'ms',
        },
      )
    if (!PARTS.has('throughput')) return rows

    // Throughput: A serves, B fetches. Tab to tab over WebRTC, beside the same size stored
    // on the relay by A (HTTP upload) and fetched by B over its relay connection.
    const [a, b] = [
      await openSwarmTab(browser, relay.running.url),
      await openSwarmTab(browser, relay.running.url),
    ]
    await b.page.waitForFunction(
      (peer) =>
        globalThis.tabswarm
          .connections()
          .some((c) => c.peerId === peer && c.transport === 'webrtc'),
      a.peerId,
      { timeout: 60_000 },
    )
    for (const mib of BLOB_SIZES_MIB) {
      const reps = mib >= 64 ? 2 : 3
      const direct: number[] = []
      const directCpuMsPerMiB: number[] = []
      const viaRelay: number[] = []
      for (let r = 0; r < reps; r++) {
        const peerBlob = await putRandom(a.page, mib * MiB, false)
        const cpuBefore = benchCpuSeconds()
        const got = await b.page.evaluate(
          ([hash, from]) =>
            globalThis.tabswarm.fetchBlob(hash, { providers: [from], relay: false }),
          [peerBlob.hash, a.peerId] as const,
        )
        direct.push(mib / (got.elapsedMs / 1000))
        directCpuMsPerMiB.push(((benchCpuSeconds() - cpuBefore) * 1000) / mib)
        const relayBlob = await putRandom(a.page, mib * MiB, true)
        const fetched = await b.page.evaluate(
          (hash) => globalThis.tabswarm.fetchBlob(hash, { askConnectedPeers: false }),
          relayBlob.hash,
        )
        if (fetched.source !== 'relay')
          throw new Error(`expected the relay to serve, got ${fetched.source}`)
        viaRelay.push(mib / ((relayBlob.uploadMs + fetched.elapsedMs) / 1000))
      }
      log(
        `${mib} MiB: tab→tab ${direct.map((v) => v.toFixed(1)).join(', ')} MiB/s (CPU ${directCpuMsPerMiB.map((v) => v.toFixed(0)).join(', ')} ms/MiB); via relay ${viaRelay.map((v) => v.toFixed(1)).join(', ')} MiB/s`,
      )
      rows.push({
        case: `blob ${mib} MiB`,
        metric: 'tab → tab over WebRTC (median)',
        value: Number(median(direct).toFixed(1)),
        unit: 'MiB/s',
        vs: { name: 'via-relay', value: Number(median(viaRelay).toFixed(1)) },
      })
      rows.push({
        case: `blob ${mib} MiB`,
        metric: 'tab → tab over WebRTC: CPU per MiB, all bench processes (median)',
        value: Math.round(median(directCpuMsPerMiB)),
        unit: 'ms/MiB',
      })
    }
  } finally {
    await browser.close()
    await relay.stop()
    await page.remove()
  }
  return rows
}

async function measureRelayLoad(log: (line: string) => void) {
  const rows: BenchRow[] = []
  const notes: string[] = []
  // The relay runs in its own process, as `tabswarm start` does, so the clients' CPU here
  // is not counted against it (both still share this machine's cores).
  const relay = await startTabswarmProcess({ env: { TABSWARM_MAX_PEERS: '4096' } })
  const target = multiaddr(relay.multiaddrs[0]!)
  const clients: Libp2p<{ identify: unknown; ping: Ping }>[] = []
  const started = performance.now()
  let baselineP95: number | undefined
  let knee: number | undefined
  try {
    for (const level of RAMP) {
      if (performance.now() - started > RAMP_BUDGET_MS) {
        log(`ramp budget spent before ${level} peers`)
        break
      }
      const dialMs: number[] = []
      let dialErrors = 0
      const reasons = new Set<string>()
      const toAdd = level - clients.length
      for (let i = 0; i < toAdd; i += DIAL_CONCURRENCY) {
        const batchStarted = performance.now()
        await Promise.all(
          Array.from({ length: Math.min(DIAL_CONCURRENCY, toAdd - i) }, async () => {
            const client = await createLibp2p({
              transports: [webSockets()],
              connectionEncrypters: [noise()],
              streamMuxers: [yamux()],
              services: { identify: identify(), ping: ping() },
            })
            clients.push(client)
            const t0 = performance.now()
            try {
              await client.dial(target, { signal: AbortSignal.timeout(20_000) })
              dialMs.push(performance.now() - t0)
            } catch (err) {
              dialErrors++
              reasons.add(`dial: ${(err as Error).message}`)
            }
          }),
        )
        const pace =
          (DIAL_CONCURRENCY * 1000) / DIALS_PER_SECOND - (performance.now() - batchStarted)
        if (pace > 0) await new Promise((resolve) => setTimeout(resolve, pace))
      }
      const connected = clients.filter((c) => c.getConnections().length > 0)
      const sample = connected.slice(-PING_SAMPLE)
      const pings: number[] = []
      let pingErrors = 0
      await Promise.all(
        sample.map(async (client) => {
          try {
            pings.push(
              await client.services.ping.ping(target, { signal: AbortSignal.timeout(10_000) }),
            )
          } catch (err) {
            pingErrors++
            reasons.add(`ping: ${(err as Error).message}`)
          }
        }),
      )
      const p95 = quantile(pings, 0.95)
      const errors = dialErrors + pingErrors
      log(
        `${level} peers: ${connected.length} connected, dial p50 ${median(dialMs).toFixed(0)} ms, ping p50 ${median(pings).toFixed(1)} ms p95 ${p95.toFixed(1)} ms, errors ${errors}`,
      )
      rows.push(
        { case: `${level} peers`, metric: 'connected', value: connected.length, unit: 'peers' },
        {
          case: `${level} peers`,
          metric: 'dial p50 (new peers)',
          value: Math.round(median(dialMs)),
          unit: 'ms',
        },
        {
          case: `${level} peers`,
          metric: `ping p95 (${sample.length} peers at once)`,
          value: Number(p95.toFixed(1)),
          unit: 'ms',
        },
        { case: `${level} peers`, metric: 'errors (dials + pings)', value: errors, unit: 'count' },
      )
      if (reasons.size > 0) {
        const why = [...reasons].slice(0, 3).join(' | ')
        log(`  errors at ${level} peers: ${why}`)
        notes.push(`Errors at ${level} peers: ${why}`)
      }
      baselineP95 ??= p95
      const climbed = p95 > 3 * baselineP95 || errors > 0.01 * level
      if (climbed && knee == null) knee = level
      if (climbed) break
    }
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()))
    await relay.stop()
  }
  rows.push({
    case: 'relay capacity',
    metric:
      knee != null
        ? 'knee: first step where ping p95 > 3× the first step or errors > 1 %'
        : 'no knee up to the largest step run',
    value: knee ?? clients.length,
    unit: 'peers',
  })
  return { rows, notes }
}

export const swarmArea: BenchArea = {
  name: 'swarm',
  title:
    'Swarm: tab start-up, blob throughput tab to tab vs via the relay, job data over the data plane, relay capacity',
  async run(log) {
    const loadAtStart = loadavg()[0]!
    const tabRows = PARTS.has('startup') || PARTS.has('throughput') ? await measureTabs(log) : []
    let egressRows: BenchRow[] = []
    if (PARTS.has('egress')) {
      const page = await buildContributorPage()
      try {
        egressRows = await measureJobEgress(page.root, log)
      } finally {
        await page.remove()
      }
    }
    const load = PARTS.has('load') ? await measureRelayLoad(log) : { rows: [], notes: [] }
    return {
      rows: [...tabRows, ...egressRows, ...load.rows],
      notes: [
        ...load.notes,
        `Machine load average (1 min) when the run started: ${loadAtStart.toFixed(1)}; when it ended: ${loadavg()[0]!.toFixed(1)}, on 2 cores shared with other work. Above about 2, every figure here is stretched by it, start-up and MiB/s most, CPU per MiB least.`,
        'All peers run on this one machine (2 cores shared by the relay, Chromium and the load clients): loopback has no network latency or bandwidth limit, so these figures bound the software, not a real network.',
        'Start-up times are from navigation start (performance.now() in the tab) and include the tab starting its GPU worker (SwiftShader here) at the same time, which competes for the CPU. “Relay connection → first direct WebRTC connection” is, per tab that had a peer to meet, its first direct link less its first relay connection: the relay reservation, the announcement on the discovery topic, the peer hearing it and the WebRTC dial (signalled through the relay). The bench log prints each tab’s timeline of those steps.',
        'Tab → tab: the fetching tab asks the holding tab over their direct WebRTC connection; MiB/s = size ÷ time from the request to the verified (sha-256) blob. Via relay: the holding tab uploads over HTTP to the relay’s store, the fetching tab fetches it over its libp2p WebSocket connection to the relay; MiB/s = size ÷ (upload + fetch). Medians of 3 runs (2 at 64 MiB). CPU per MiB: user + system CPU time of the bench process and everything it started (the in-process relay, Chromium’s browser, renderer, network and GPU processes) during the tab → tab fetch, ÷ size; on a machine shared with other work it is steadier than MiB/s, which that work stretches.',
        `Job egress: ${EGRESS_NOTE}`,
        'Relay capacity: Node libp2p clients (WebSockets, noise, yamux) in the bench process dial a `tabswarm start` child process in batches of 25, at most 80 new connections per second (under the relay’s per-host limit of 100/s, since every client here shares 127.0.0.1), then up to 100 of them ping it at once. The ramp stops at the first step where ping p95 exceeds 3× the first step’s or errors exceed 1 % of the peers, or after about 150 s.',
      ],
    }
  },
}
