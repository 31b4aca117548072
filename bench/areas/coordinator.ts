import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Capabilities } from '@tabswarm/protocol'
import {
  type Coordinator,
  createCoordinator,
  createDiskBlobStore,
  createMemoryBlobStore,
  createSqliteStore,
  createTieredBlobStore,
  float32Output,
  matmulOperands,
} from '@tabswarm/relay'
import { compareMatmul, matmulReference, matmulReferenceWithBound } from '@tabswarm/worker-kernels'
import type { BenchArea, BenchRow } from '../bench-types.ts'

const CRASH_CHILD = fileURLToPath(
  new URL('../../tests/e2e/coordinator-crash-child.ts', import.meta.url),
)

const caps: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'bench',
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

function matrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37))
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11))
  return { a, b }
}

/**
 * Full task cycles per second: lease, compute a small tile, submit, verify (Freivalds),
 * record (SQLite on disk: result row, output blob inline, ledger), acknowledge once durable. `workers`
 * simulated contributors run concurrently in this process, as a relay serves many peers.
 */
async function tasksPerSecond(synchronous: 'normal' | 'full', tasks: number, workers: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-coordinator-'))
  try {
    const store = createSqliteStore({ path: join(dir, 'coordinator.db'), synchronous })
    const c = createCoordinator({
      store,
      blobs: createTieredBlobStore({
        store,
        large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
      }),
      tileSize: 8,
      welcomeCredits: 10n ** 12n,
    })
    for (let w = 0; w < workers; w++) c.registerContributor(`w${w}`, caps)
    const side = Math.round(Math.sqrt(tasks)) * 8
    const { a, b } = matrices(side, 8, side)
    const job = c.submitMatmul({ a, b, m: side, k: 8, n: side })
    await c.durable()
    const started = performance.now()
    let cycles = 0
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const peer = `w${w}`
        for (;;) {
          const grant = c.lease(peer)
          if (grant == null) return
          const { a: ta, b: tb, m, k, n } = matmulOperands(c, grant)
          const out = matmulReference(ta, tb, m, k, n)
          c.submitResult(peer, grant.leaseId, [float32Output(out, [m, n])])
          await c.durable()
          cycles++
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    const status = (await c.getJob(job.id)).status
    c.close()
    if (status !== 'completed') throw new Error(`tasks_per_s job ended ${status}`)
    return cycles / seconds
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

type Kind = 'honest' | 'noise' | 'colluder'
const population = (): Array<{ peer: string; wallet: string; address: string; kind: Kind }> =>
  Array.from({ length: 50 }, (_, i) => ({
    peer: `sim-${i}`,
    wallet: `0x${(i + 1).toString(16).padStart(40, '0')}`,
    address: `10.2.${i}.1`,
    kind: i % 10 === 3 ? 'noise' : i % 10 === 7 ? 'colluder' : 'honest',
  }))

/**
 * Compute spent per unit of useful compute with 20% saboteurs (half noise, half colluding on
 * one wrong answer), through the real coordinator; and the fraction of accepted tiles that
 * are wrong, against the f64 reference.
 */
async function overhead(
  verification: { freivalds: number; maxErrorRate?: number },
  m: number,
  k: number,
  n: number,
  tile: number,
) {
  const { freivalds } = verification
  const blobs = createMemoryBlobStore()
  const c: Coordinator = createCoordinator({
    store: createSqliteStore({ path: ':memory:' }),
    blobs,
    tileSize: tile,
    welcomeCredits: 10n ** 15n,
    maxTaskFailures: 64,
    maxReplicas: 24,
  })
  const people = population()
  for (const p of people)
    c.registerContributor(p.peer, {
      capabilities: caps,
      wallet: { address: p.wallet },
      address: p.address,
    })
  const { a, b } = matrices(m, k, n)
  const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
  const job = await c.submit(
    {
      kernel: 'matmul',
      inputs: {
        a: { blob: put(a), dtype: 'float32', shape: [m, k] },
        b: { blob: put(b), dtype: 'float32', shape: [k, n] },
      },
      verification,
      budget: 1e14,
    },
    { account: 'bench' },
  )
  const honest = new Map<string, Float32Array>()
  let executed = 0
  let checked = 0
  for (let round = 0; round < 10_000; round++) {
    let leased = 0
    for (const p of people) {
      const grant = c.lease(p.peer)
      if (grant == null) continue
      leased++
      executed++
      const { a: ta, b: tb, m: tm, k: tk, n: tn } = matmulOperands(c, grant)
      let right = honest.get(grant.taskId)
      if (right == null) {
        right = matmulReference(ta, tb, tm, tk, tn)
        honest.set(grant.taskId, right)
      }
      let output = right
      if (p.kind === 'noise') output = Float32Array.from(right, () => Math.random() * 4 - 2)
      if (p.kind === 'colluder')
        output = Float32Array.from(right, (x, i) => (i === 0 ? x + 0.5 : x))
      c.submitResult(p.peer, grant.leaseId, [float32Output(output, [tm, tn])])
      if (freivalds > 0) checked++
    }
    if (leased === 0) break
  }
  const view = await c.getJob(job.id)
  if (view.status !== 'completed')
    throw new Error(`overhead job ended ${view.status}: ${view.error}`)
  const output = await c.jobOutput(job.id)
  // Wrong accepted tiles, each judged under its own f32 bound.
  let wrongTiles = 0
  const tiles = view.tasks.total
  for (let r0 = 0; r0 < m; r0 += tile) {
    for (let c0 = 0; c0 < n; c0 += tile) {
      const got = new Float32Array(tile * tile)
      for (let r = 0; r < tile; r++)
        got.set(output.subarray((r0 + r) * n + c0, (r0 + r) * n + c0 + tile), r * tile)
      const aBand = a.subarray(r0 * k, (r0 + tile) * k)
      const bBand = new Float32Array(k * tile)
      for (let r = 0; r < k; r++) bBand.set(b.subarray(r * n + c0, r * n + c0 + tile), r * tile)
      const { c: expected, bound } = matmulReferenceWithBound(aBand, bBand, tile, k, tile)
      if (!compareMatmul(got, expected, { k, bound }).ok) wrongTiles++
    }
  }
  // Freivalds costs 2(mk + kn + mn) flops per round on the coordinator, 2 rounds per check.
  const taskFlops = 2 * tile * k * tile
  const verifyFlops = checked * 2 * 2 * (tile * k + k * tile + tile * tile)
  const stats = c.stats()
  const spotFlops = stats.counters.spotCheckedFlops ?? 0
  const ratio = (executed * taskFlops + verifyFlops + spotFlops) / (tiles * taskFlops)
  c.close()
  return {
    ratio,
    errorRate: wrongTiles / tiles,
    executed,
    tiles,
    bans: stats.counters.bans,
    spotChecks: stats.counters.spotChecks,
  }
}

/**
 * The baseline: every task computed by two distinct contributors, accepted when they agree,
 * one more replica per disagreement; no Freivalds, no reputation, no bans.
 */
function fixedReplication(tasks: number, seed = 1): { ratio: number; errorRate: number } {
  const people = population()
  let state = seed
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
  let executed = 0
  let wrong = 0
  for (let t = 0; t < tasks; t++) {
    const answers: string[] = []
    const used = new Set<number>()
    for (;;) {
      let who: number
      do who = Math.floor(random() * people.length)
      while (used.has(who))
      used.add(who)
      const kind = people[who]!.kind
      answers.push(
        kind === 'honest' ? 'right' : kind === 'colluder' ? 'collude' : `noise-${who}-${t}`,
      )
      executed++
      const agreed = answers.find((x, i) => answers.indexOf(x) !== i)
      if (agreed != null) {
        if (agreed !== 'right') wrong++
        break
      }
    }
  }
  return { ratio: executed / tasks, errorRate: wrong / tasks }
}

/** Seconds from a SIGKILL with `tasks` leases in flight until the restarted coordinator serves again. */
async function recovery(tasks: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-recovery-'))
  const side = Math.round(Math.sqrt(tasks)) * 8
  const args = [CRASH_CHILD, dir, String(side), '8', String(side), '8', '--leases-only']
  const runChild = (until: (event: Record<string, unknown>) => boolean) =>
    new Promise<{ event: Record<string, unknown>; wallMs: number }>((resolve, reject) => {
      const started = performance.now()
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      let settled = false
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as Record<string, unknown>
        if (!settled && until(event)) {
          settled = true
          clearTimeout(timer)
          const wallMs = performance.now() - started
          child.once('exit', () => resolve({ event, wallMs }))
          child.kill('SIGKILL')
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        if (!settled) reject(new Error(`recovery child exited ${code ?? signal}: ${stderr}`))
      })
    })
  try {
    const held = await runChild((e) => e.type === 'leased')
    if (held.event.held !== (side / 8) ** 2) throw new Error(`only ${held.event.held} leases held`)
    const restarted = await runChild((e) => e.type === 'ready')
    return {
      inFlight: held.event.held as number,
      queued: restarted.event.queued as number,
      recoveryMs: restarted.event.recoveryMs as number,
      wallMs: restarted.wallMs,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const coordinatorArea: BenchArea = {
  name: 'coordinator',
  title:
    'Coordinator: task cycles per second, verification overhead with saboteurs, crash recovery',
  async run(log) {
    const rows: BenchRow[] = []
    const notes: string[] = []

    const normal: number[] = []
    for (let i = 0; i < 3; i++) normal.push(await tasksPerSecond('normal', 10_000, 64))
    // The same task count as NORMAL, so the two figures compare.
    const full = await tasksPerSecond('full', 10_000, 64)
    log(
      `tasks_per_s: normal ${normal.map((x) => x.toFixed(0)).join(', ')}; full ${full.toFixed(0)}`,
    )
    rows.push({
      case: '8x8x8 tiles, 64 contributors, SQLite synchronous=NORMAL',
      metric: 'tasks_per_s',
      value: Math.round(median(normal)),
      unit: 'tasks/s',
      vs: { name: 'synchronous=FULL (fsync per group commit)', value: Math.round(full) },
    })

    const [m, k, n, tile] = [4096, 512, 4096, 128]
    const adaptive = await overhead({ freivalds: 1 }, m, k, n, tile)
    const baseline = fixedReplication(adaptive.tiles)
    log(
      `overhead: freivalds ${adaptive.ratio.toFixed(3)} (${adaptive.executed} leases for ${adaptive.tiles} tiles, ${adaptive.spotChecks} spot checks, ${adaptive.bans} bans), baseline ${baseline.ratio.toFixed(3)}`,
    )
    rows.push({
      case: `matmul ${m}x${k}x${n}, ${tile}-tiles, 50 contributors, 20% saboteurs, Freivalds on every tile + newcomers recomputed`,
      metric: 'overhead',
      value: Number(adaptive.ratio.toFixed(3)),
      unit: 'compute / useful',
      vs: { name: 'fixed 2x replication', value: Number(baseline.ratio.toFixed(3)) },
    })
    rows.push({
      case: 'same run: wrong tiles accepted',
      metric: 'error_rate',
      value: adaptive.errorRate,
      unit: 'wrong / accepted',
      vs: { name: 'fixed 2x replication', value: Number(baseline.errorRate.toFixed(4)) },
    })
    const votes = await overhead({ freivalds: 0, maxErrorRate: 1e-4 }, 256, 16, 256, 16)
    log(`votes only: ${votes.ratio.toFixed(3)}, error ${votes.errorRate}`)
    rows.push({
      case: 'votes with credibility (maxErrorRate 1e-4, no Freivalds), 256 16-tiles, newcomers',
      metric: 'overhead',
      value: Number(votes.ratio.toFixed(3)),
      unit: 'compute / useful',
      vs: {
        name: 'fixed 2x replication',
        value: Number(fixedReplication(votes.tiles).ratio.toFixed(3)),
      },
    })
    rows.push({
      case: 'votes and credibility only: wrong tiles accepted',
      metric: 'error_rate',
      value: votes.errorRate,
      unit: 'wrong / accepted',
    })

    const rec = await recovery(10_000)
    log(`recovery: ${JSON.stringify(rec)}`)
    rows.push({
      case: `SIGKILL with ${rec.inFlight} leases in flight, restart on the same data dir`,
      metric: 'recovery_ms',
      value: Math.round(rec.recoveryMs),
      unit: 'ms (open store, reload job, requeue)',
      vs: {
        name: 'wall time from spawn to serving, incl. Node start',
        value: Math.round(rec.wallMs),
      },
    })

    notes.push(
      "saboteurs: noise returns random values; colluders all return the right tile with +0.5 on its first element, an error inside Freivalds' row tolerance at k = 512 (it tolerates about n elements' worst-case rounding per row), so only an exact recomputation catches it. Every result of a contributor with no verified record (a newcomer, or anyone after a fault) is recomputed on the coordinator, and 2% of everyone else's (spotCheckRate, so a contributor honest at first cannot cheat inside Freivalds' tolerance for ever), up to 2e8 flops each (a band of rows of bigger tiles); those flops count in the overhead.",
      'tasks_per_s: each cycle is lease -> CPU matmul of an 8x8x8 tile -> submitResult (shape check, Freivalds with 2 rounds, output blob stored inline in SQLite (blobs over 256 KiB go to files), result row + ledger transfer + contributor record in SQLite) -> await durable(). Writes are group-committed: units of work are savepoints inside one transaction committed per event-loop turn, and a result is acknowledged only after its commit.',
      'synchronous=NORMAL in WAL mode survives SIGKILL of the process at any moment (a committed transaction is in the WAL, in the OS page cache); only an OS crash or power loss before the next checkpoint can lose the last commits. FULL adds an fsync per commit (TABSWARM_DB_SYNC=full).',
      `overhead counts contributor compute for every executed lease (rejected ones included) plus the coordinator's Freivalds work (2 rounds x 2(mk+kn+mn) flops per check), over the useful 2mkn of the tiles. Saboteurs are banned after 2 faults (the default), so their waste is bounded per identity; a larger job amortises it further. error_rate is measured against the f64 reference, tile by tile.`,
      `the fixed 2x replication baseline is a simulation of the policy (quorum of 2 distinct contributors, a third and further replicas on disagreement, no reputation) on the same population; colluders pairing up get wrong tiles accepted.`,
      'votes-only: newcomers start at credibility 1 - f (f = 0.2 assumed saboteurs), so a tile needs about 7 agreeing newcomers to reach 1 - 1e-4; credibility grows as contributors pass checks, which is why mixing Freivalds-checked matmul work or canaries in lowers replication over time.',
      'recovery_ms is measured inside the restarted process from creating the coordinator to serving (open SQLite, reload the running job and its inputs, requeue every task whose lease was lost); leases are not persisted, so in-flight tasks simply become queued again.',
    )
    return { rows, notes }
  },
}
