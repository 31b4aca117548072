/**
 * A coordinator process on a data directory, with simulated honest contributors in the same
 * process, for crash tests and the recovery benchmark. The parent SIGKILLs it at any moment
 * and starts it again on the same directory.
 *
 *   node coordinator-crash-child.ts <dataDir> <m> <k> <n> <tile> [--leases-only] [--votes]
 *
 * Prints one JSON line per event on stdout: `ready` (after recovery, with the time it took
 * and the tasks queued), `accepted` (per result once durable, with its outcome), `done`.
 * With `--leases-only` it leases every task and holds the leases (tasks in flight) instead
 * of computing. With `--votes` the job is checked by votes only (no Freivalds), and a fifth
 * contributor `s0` answers every task with noise: its outvoted results are faulted and its
 * pending credit forfeited in the same transactions as the acceptances, all the time.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Capabilities } from '@tabswarm/protocol'
import {
  createCoordinator,
  createDiskBlobStore,
  createSqliteStore,
  createTieredBlobStore,
  float32Output,
  matmulOperands,
} from '@tabswarm/relay'
import { matmulReference } from '@tabswarm/worker-kernels'

const [dir, ms, ks, ns, tiles] = process.argv.slice(2)
const leasesOnly = process.argv.includes('--leases-only')
const votes = process.argv.includes('--votes')
if (dir == null || ms == null || ks == null || ns == null || tiles == null) {
  process.stderr.write(
    'usage: coordinator-crash-child.ts <dataDir> <m> <k> <n> <tile> [--leases-only] [--votes]\n',
  )
  process.exit(2)
}
const [m, k, n, tile] = [ms, ks, ns, tiles].map(Number) as [number, number, number, number]
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)

const caps: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'coordinator-crash-child',
}

/** Deterministic inputs, so the parent can compute the expected product (same formula there). */
function crashMatrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6)
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5)
  return { a, b }
}

const started = performance.now()
const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
const blobs = createTieredBlobStore({
  store,
  large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
})
const c = createCoordinator({
  store,
  blobs,
  tileSize: tile,
  welcomeCredits: 1_000_000_000n,
  // --leases-only: four peers hold every task at once.
  maxLeasesPerPeer: Number.POSITIVE_INFINITY,
  // The saboteur stays, so that faults keep coming until the end.
  // No recomputation either: the votes alone catch it.
  ...(votes ? { banAfterFaults: 1_000_000, spotCheckRate: 0, newcomerSpotChecks: 0 } : {}),
})
const peers = votes ? ['w0', 'w1', 'w2', 'w3', 's0'] : ['w0', 'w1', 'w2', 'w3']
for (const peer of peers) c.registerContributor(peer, caps)

// A result whose acknowledgement the crash may have swallowed: send it again.
const inflightPath = join(dir, 'inflight.json')
let resent: string | undefined
if (existsSync(inflightPath)) {
  const inflight = JSON.parse(readFileSync(inflightPath, 'utf8')) as {
    peer: string
    leaseId: string
    shape: [number, number]
    output: number[]
  }
  resent = c.submitResult(inflight.peer, inflight.leaseId, [
    float32Output(Float32Array.from(inflight.output), inflight.shape),
  ]).outcome
}
let { jobs } = await c.listJobs({ limit: 1 })
if (jobs.length === 0) {
  const { a, b } = crashMatrices(m, k, n)
  const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
  jobs = [
    await c.submit(
      {
        kernel: 'matmul',
        inputs: {
          a: { blob: put(a), dtype: 'float32', shape: [m, k] },
          b: { blob: put(b), dtype: 'float32', shape: [k, n] },
        },
        ...(votes ? { verification: { freivalds: 0 } } : {}),
      },
      { account: 'researcher' },
    ),
  ]
}
const job = jobs[0]!
say({
  type: 'ready',
  job: job.id,
  accepted: job.tasks.accepted,
  queued: c.stats().gauges.queueDepth,
  recoveryMs: performance.now() - started,
  resent,
})

if (leasesOnly) {
  let held = 0
  for (let i = 0; ; i = (i + 1) % peers.length) {
    if (c.lease(peers[i]!) == null) break
    held++
  }
  say({ type: 'leased', held })
  // Hold them until killed.
  setInterval(() => {}, 1_000)
} else {
  let i = 0
  const step = () => {
    const peer = peers[i++ % peers.length]!
    const grant = c.lease(peer)
    if (grant == null) {
      void c.getJob(job.id).then((view) => {
        if (view.status !== 'running') {
          say({ type: 'done', status: view.status })
          c.close()
          process.exit(0)
        }
        setTimeout(step, 5)
      })
      return
    }
    const { a: ta, b: tb, m: tm, k: tk, n: tn } = matmulOperands(c, grant)
    const right = matmulReference(ta, tb, tm, tk, tn)
    const output = peer === 's0' ? right.map(() => Math.random() * 100) : right
    // Written before the result is sent, renamed into place so a crash leaves a whole file.
    writeFileSync(
      `${inflightPath}.tmp`,
      JSON.stringify({ peer, leaseId: grant.leaseId, shape: [tm, tn], output: [...output] }),
    )
    renameSync(`${inflightPath}.tmp`, inflightPath)
    const { outcome } = c.submitResult(peer, grant.leaseId, [float32Output(output, [tm, tn])])
    void c.durable().then(() => {
      say({ type: 'accepted', outcome, task: grant.taskId })
      setTimeout(step, 1)
    })
  }
  step()
}
