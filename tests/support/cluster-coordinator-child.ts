/**
 * One coordinator of a cluster on a shared PostgreSQL, with simulated contributors in the
 * same process (lease, compute the tile on the CPU, submit, wait until durable), driven
 * over stdin and reporting over stdout as JSON lines. Used by the cluster tests and the
 * `scale` benchmark, which start several and SIGKILL some.
 *
 * Environment: TABSWARM_DATABASE_URL, TABSWARM_BLOB_DIR, WORKERS (simulated contributors,
 * default 16), LEASE_MS / RENEW_MS (job ownership, default 2000 / 400).
 *
 * stdin:  {"cmd":"submit","rows":R,"cols":C}  a matmul job of R·C tiles of 8×8 (k = 8)
 *         {"cmd":"work"}                       the contributors start asking for work
 *         {"cmd":"output","job":id,"rows":R,"cols":C}  reads a finished job's product through
 *                                              this relay's cluster API and checks it
 *         {"cmd":"stop"}                       hand jobs back, close, exit 0
 * stdout: {"event":"ready","coordinator":id,"pid":n}
 *         {"event":"submitted","job":id,"tasks":n}
 *         {"event":"taken","job":id,"at":ms}      a job taken over from another coordinator
 *         {"event":"output","job":id,"ok":bool,"wrongTiles":n}
 *         {"event":"leases","jobs":[id,…],"epoch":ms,"leases":[[jobIndex,tile,grantMs,endMs],…]}
 *                                              every 100 ms, times since epoch
 *         {"event":"stats","cycles":n,"cpuMs":n,"leaseCallP99Us":n (over the run),"backlog":n,
 *          "journal":{batches,changes},"owned":n,
 *          "takeOverMs":[…],"offers":{published,claimed}}                      every 500 ms
 */
import { createInterface } from 'node:readline'
import type { Capabilities } from '@tabswarm/protocol'
import {
  createClusterApi,
  createCoordinator,
  createDiskBlobStore,
  createJsonLogger,
  createTieredBlobStore,
  float32Output,
  type LeaseGrant,
  matmulOperands,
  openClusterStore,
  sharedInputsIn,
  startClusterNode,
} from '@tabswarm/relay'
import { matmulReference } from '@tabswarm/worker-kernels'

const url = process.env.TABSWARM_DATABASE_URL
const blobDir = process.env.TABSWARM_BLOB_DIR
if (url == null || blobDir == null) {
  console.error('cluster-coordinator-child needs TABSWARM_DATABASE_URL and TABSWARM_BLOB_DIR')
  process.exit(2)
}
const workers = Number(process.env.WORKERS ?? 16)
const leaseMs = Number(process.env.LEASE_MS ?? 2_000)
const renewMs = Number(process.env.RENEW_MS ?? 400)

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)

// Cluster events as JSON lines on stderr; takeovers also as events on stdout.
const baseLog = createJsonLogger({
  level: 'info',
  write: (line) => process.stderr.write(`${line}\n`),
})
const log = {
  ...baseLog,
  child: (name: string) => {
    const child = baseLog.child(name)
    return {
      ...child,
      info(message: string, fields?: Record<string, unknown>) {
        if (message === 'job taken over') emit({ event: 'taken', job: fields?.job, at: Date.now() })
        child.info(message, fields)
      },
    }
  },
}

const cluster = await openClusterStore({ url, leaseMs, renewMs, log: baseLog })
const files = createDiskBlobStore({ dir: blobDir })
const blobs = createTieredBlobStore({ store: cluster.working, large: files })
const coordinator = createCoordinator({
  store: cluster.working,
  blobs,
  tileSize: 8,
  welcomeCredits: 10n ** 12n,
  // The simulated contributors are honest and fast: no speculation in the way of counting.
  speculateAfterMs: 600_000,
  log: baseLog.child('coordinator'),
})
const node = await startClusterNode({
  cluster,
  coordinator,
  log: log.child('cluster') as never,
  // Tasks are shared: contributors here get other relays' offered tasks when this
  // coordinator has none for them.
  sharedInputs: sharedInputsIn(files),
})
const gateway = node.work
emit({ event: 'ready', coordinator: node.coordinatorId, pid: process.pid })

const caps: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'cluster-test',
}
for (let w = 0; w < workers; w++)
  gateway.registerContributor(`w${w}-${process.pid}`, {
    capabilities: caps,
    address: `10.${(process.pid >> 8) & 255}.${process.pid & 255}.${w + 1}`,
  })

let cycles = 0
let stopping = false
const leaseCallsUs: number[] = []
/**
 * Leases so far, compactly (tens of thousands cross a pipe per second in the benchmark):
 * [job index into `leaseJobs`, tile, granted, ended], times in ms since `leaseEpoch`.
 */
let leaseLog: Array<[number, string, number, number]> = []
const leaseJobs: string[] = []
const leaseEpoch = Date.now()
const jobIndex = (jobId: string) => {
  let i = leaseJobs.indexOf(jobId)
  if (i < 0) i = leaseJobs.push(jobId) - 1
  return i
}
const cpuStart = process.cpuUsage()

/**
 * Which tile a lease is for, the same on every coordinator (task ids are keyed per
 * coordinator): the inputs' hashes, with where in A its row band starts.
 */
const tileOf = (grant: LeaseGrant) =>
  grant.inputs.map((i) => `${i.sha256.slice(0, 16)}@${i.range?.byteOffset ?? 0}`).join('/')

/**
 * The contributors' input cache, as a tab's: each input is fetched from the relay once
 * (a job's bands are shared by many tiles), then read from memory.
 */
const cached = new Map<string, Uint8Array>()
const inputs = {
  inputBytes(sha256: string): Uint8Array | undefined {
    let bytes = cached.get(sha256)
    if (bytes == null) {
      bytes = gateway.inputBytes(sha256)
      if (bytes != null) {
        if (cached.size >= 4_096) cached.clear()
        cached.set(sha256, bytes)
      }
    }
    return bytes
  },
}

async function work(peer: string): Promise<void> {
  while (!stopping) {
    const t0 = performance.now()
    const grant = gateway.lease(peer)
    leaseCallsUs.push((performance.now() - t0) * 1000)
    if (grant == null) {
      // As a relay's long poll waits: until a task may be ready, or 20 ms at most.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          off()
          resolve()
        }
        const timer = setTimeout(done, 20)
        const off = gateway.onTaskReady(done)
      })
      continue
    }
    const granted = Date.now()
    const { a, b, m, k, n } = matmulOperands(inputs, grant)
    const out = matmulReference(a, b, m, k, n)
    // The lease ends when the result is handed in: from then on the coordinator holds the
    // task (or has let it go), whatever the answer and however long durability takes.
    leaseLog.push([
      jobIndex(grant.jobId),
      tileOf(grant),
      granted - leaseEpoch,
      Date.now() - leaseEpoch,
    ])
    try {
      gateway.submitResult(peer, grant.leaseId, [float32Output(out, [m, n])])
      await gateway.durable()
      cycles++
    } catch {
      // Fenced or refused: the job is someone else's now; its lease is void.
    }
  }
}

const flushLeases = setInterval(() => {
  if (leaseLog.length === 0) return
  emit({ event: 'leases', jobs: leaseJobs, epoch: leaseEpoch, leases: leaseLog })
  leaseLog = []
}, 100)
const stats = setInterval(() => {
  const cpu = process.cpuUsage(cpuStart)
  // Over the whole run (the newest 200,000 calls), not the last half second.
  if (leaseCallsUs.length > 200_000) leaseCallsUs.splice(0, leaseCallsUs.length - 200_000)
  const sorted = [...leaseCallsUs].sort((x, y) => x - y)
  emit({
    event: 'stats',
    cycles,
    cpuMs: (cpu.user + cpu.system) / 1000,
    leaseCallP99Us: sorted.length > 0 ? sorted[Math.floor(sorted.length * 0.99)] : null,
    backlog: cluster.working.backlog(),
    journal: cluster.working.stats(),
    owned: node.owned().size,
    takeOverMs: node.stats().ownership.takeOverMs,
    offers: node.stats().offers,
  })
}, 500)

/** A job's operands: the same on every coordinator, so any can check a product. */
function operands(rows: number, cols: number) {
  const m = rows * 8
  const n = cols * 8
  const a = Float32Array.from({ length: m * 8 }, (_, i) => Math.sin(i * 0.37))
  const b = Float32Array.from({ length: 8 * n }, (_, i) => Math.cos(i * 0.11))
  return { a, b, m, n }
}

// What a researcher's request to this relay reads: jobs run elsewhere come from the database.
const api = createClusterApi({
  coordinator,
  shared: cluster.shared,
  blobs,
  requestCancel: () => Promise.reject(new Error('not used here')),
  refreshAccount: async () => {},
})

const loops: Array<Promise<void>> = []
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { cmd: string; rows?: number; cols?: number }
  if (cmd.cmd === 'submit') {
    const { a, b, m, n } = operands(cmd.rows ?? 40, cmd.cols ?? 50)
    const job = coordinator.submitMatmul({ a, b, m, k: 8, n })
    await coordinator.durable()
    emit({ event: 'submitted', job: job.id, tasks: job.tasks.total })
  } else if (cmd.cmd === 'output') {
    const { a, b, m, n } = operands(cmd.rows ?? 40, cmd.cols ?? 50)
    const out = await api.jobOutput(String((cmd as { job?: string }).job))
    const expected = matmulReference(a, b, m, 8, n)
    let wrong = 0
    for (let i = 0; i < expected.length; i++)
      if (Math.abs((out[i] ?? Number.NaN) - expected[i]!) > 1e-4 * (1 + Math.abs(expected[i]!)))
        wrong++
    emit({ event: 'output', job: (cmd as { job?: string }).job, ok: wrong === 0, wrong })
  } else if (cmd.cmd === 'work') {
    for (let w = 0; w < workers; w++) loops.push(work(`w${w}-${process.pid}`))
  } else if (cmd.cmd === 'stop') {
    break
  }
}
stopping = true
await Promise.all(loops)
clearInterval(flushLeases)
clearInterval(stats)
if (leaseLog.length > 0)
  emit({ event: 'leases', jobs: leaseJobs, epoch: leaseEpoch, leases: leaseLog })
await node.stop()
coordinator.close()
await cluster.close()
emit({ event: 'stopped' })
process.exit(0)
