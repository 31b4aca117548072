import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TaskResultRecord } from '@tabswarm/protocol'
import {
  createCoordinator,
  createDiskBlobStore,
  createSqliteStore,
  createTieredBlobStore,
} from '@tabswarm/relay'
import { createClient, type JobSpec } from '@tabswarm/sdk'
import { freePort } from '../../tests/support/free-port.ts'
import {
  startWorkerProcess,
  type WorkerProcess,
} from '../../tests/support/headless-worker-process.ts'
import { randomMatrix } from '../../tests/support/random-matrix.ts'
import type { BenchRow } from '../bench-types.ts'
import { acknowledgedAccepted } from './acknowledged-results.ts'
import { crashKillPoints, votesInProgress } from './crash-points.ts'
import { auditLedger } from './ledger-audit.ts'
import { pollUntil } from './poll-until.ts'
import { startRelayProcess } from './relay-process.ts'
import { acceptedResults, followResults, missingResults } from './relay-results.ts'
import { createSeededRandom, reliabilitySeed } from './seeded-random.ts'
import { type SimContributor, startSimContributor } from './sim-contributor.ts'
import { boundedSignal, type ReliabilitySuiteOptions } from './suite-options.ts'
import { referenceProduct, wrongTiles } from './wrong-tiles.ts'

const TILE = 8

interface JobPlan {
  name: string
  shape: { m: number; k: number; n: number }
  votes: boolean
}

/**
 * Crash: the relay runs as a real `tabswarm start` process and is SIGKILLed at five or
 * more points of two jobs (seeded, printed): early and mid-job, mid-vote (replicated
 * verification in progress), and mid-settle. "Settle" is the job's final ledger settlement
 * (its last acceptance, the payout of pending credit and the refund of unspent escrow):
 * there is no on-chain settlement yet. It restarts each time on the same ports and data
 * directory. After each restart: every result the API had published (and every result a
 * contributor was told was accepted) is still there, the ledger pays no task twice, the
 * leases held at the kill are leased again (the job moves on), and headless workers and
 * simulated contributors reconnect by themselves.
 */
export async function runCrashSuite(options: ReliabilitySuiteOptions): Promise<BenchRow[]> {
  const { log, long } = options
  const seed = reliabilitySeed()
  const random = createSeededRandom(seed)
  const signal = boundedSignal(options.signal, long ? 600_000 : 150_000)
  const plans: JobPlan[] = [
    {
      name: 'Freivalds',
      shape: long ? { m: 480, k: 64, n: 480 } : { m: 256, k: 32, n: 256 },
      votes: false,
    },
    {
      name: 'votes',
      shape: long ? { m: 192, k: 64, n: 192 } : { m: 96, k: 32, n: 96 },
      votes: true,
    },
  ]
  const { points, midSettle } = crashKillPoints(random, long)
  const what = `relay SIGKILLed ${points.length} times over a ${plans.map((p) => `${(p.shape.m / TILE) * (p.shape.n / TILE)}-task ${p.name}`).join(' and a ')} matmul (seed ${seed})`
  log(`crash: ${what}`)

  const dataDir = mkdtempSync(join(tmpdir(), 'tabswarm-crash-'))
  const relay = await startRelayProcess({
    dataDir,
    httpPort: await freePort(),
    p2pPort: await freePort(),
    env: { TABSWARM_TILE_SIZE: String(TILE), TABSWARM_LEASE_MS: '5000' },
  })
  const client = createClient({ relay: relay.url, requestTimeoutMs: 5_000 })
  const workers: WorkerProcess[] = []
  const sims: SimContributor[] = []
  try {
    for (let i = 0; i < (long ? 3 : 2); i++) {
      const wallet = join(`${dataDir}-wallets`, `worker${i}.key`)
      workers.push(startWorkerProcess(relay.url, ['--wallet-file', wallet, '--drain', '5']))
    }
    for (let i = 0; i < (long ? 6 : 3); i++)
      sims.push(
        await startSimContributor({
          relayAddr: relay.multiaddrs[0]!,
          taskMs: () => 5 + random.int(25),
          label: `crash-sim${i}`,
        }),
      )
    await Promise.all(workers.map((w) => w.waitFor((e) => e.type === 'connected', 60_000)))

    const tally = {
      kills: 0,
      acceptedLost: 0,
      doublePaidSeen: 0,
      recoveryMs: [] as number[],
      reconnectMs: [] as number[],
      resumeMs: [] as number[],
    }
    const jobIds: string[] = []
    const inputs: Array<{ a: Float32Array; b: Float32Array }> = []
    const votes = new Set<string>()
    for (const [index, plan] of plans.entries()) {
      const { m, k, n } = plan.shape
      const a = randomMatrix(m, k, seed + 2 * index)
      const b = randomMatrix(k, n, seed + 2 * index + 1)
      inputs.push({ a, b })
      const spec: JobSpec = {
        kernel: 'matmul',
        inputs: {
          a: await client.uploadTensor({ shape: [m, k], data: a }, { signal }),
          b: await client.uploadTensor({ shape: [k, n], data: b }, { signal }),
        },
        verification: plan.votes ? { freivalds: 0, canaries: 0 } : { canaries: 0 },
      }
      const job = await client.submit(spec, { signal })
      jobIds.push(job.id)
      if (plan.votes) votes.add(job.id)
      log(`crash: job ${job.id} (${plan.name}) submitted`)

      let base = 0
      // The snapshot of published results is kept current while polling, so that the kill
      // follows the trigger at once (mid-settle is a window of a few milliseconds).
      const published = followResults(() => relay.url, job.id)
      for (const point of points.filter((p) => p.job === index)) {
        const state = await pollUntil(
          `job ${job.id} to reach the kill point "${point.label}"`,
          async () => {
            const view = await client.getJob(job.id, { signal })
            await published.update(signal)
            const s = {
              accepted: view.tasks.accepted,
              total: view.tasks.total,
              votesInProgress: plan.votes ? await votesInProgress(relay.url) : 0,
              status: view.status,
            }
            if (view.status !== 'running') return s
            return point.when(s, base) ? s : undefined
          },
          { timeoutMs: 120_000, intervalMs: 10, signal },
        )
        const before = new Map(published.seen)
        // A kill at the settlement may land just after it; any other point must find the job running.
        if (state.status !== 'running' && point.when !== midSettle)
          throw new Error(`job ${job.id} ended before the kill point "${point.label}"`)
        const acked = acknowledgedAccepted(sims, job.id)
        const marks = {
          workers: workers.map((w) => w.events.length),
          sims: sims.map((s) => s.events.length),
        }
        await relay.kill()
        tally.kills++
        await relay.restart()
        const ready = performance.now()
        tally.recoveryMs.push(relay.startMs)
        log(
          `crash: killed ${point.label} at ${state.accepted}/${state.total} (${state.status}${plan.votes ? `, ${state.votesInProgress} replicas pending` : ''}); back in ${relay.startMs.toFixed(0)} ms`,
        )

        // Every contributor comes back by itself: a `connected` after the kill.
        await pollUntil(
          'every worker and simulated contributor to reconnect to the restarted relay',
          () =>
            workers.every((w, i) =>
              w.events.slice(marks.workers[i]).some((e) => e.type === 'connected'),
            ) &&
            sims.every((s, i) => s.events.slice(marks.sims[i]).some((e) => e.type === 'connected'))
              ? true
              : undefined,
          { timeoutMs: 60_000, intervalMs: 50, signal },
        )
        tally.reconnectMs.push(performance.now() - ready)

        const after = await acceptedResults(relay.url, job.id, signal)
        const afterIds = new Set([...after.values()].map((r: TaskResultRecord) => r.taskId))
        const ackedLost = [...acked].filter((id) => !afterIds.has(id)).length
        const lost = missingResults(before, after)
        tally.acceptedLost += lost
        const audit = auditLedger(join(dataDir, 'coordinator.db'), { votes })
        for (const j of audit.jobs.filter((x) => x.doublePaid > 0))
          log(`crash: job ${j.jobId} paid beyond its acceptances: ${j.doublePaidRefs.join(', ')}`)
        if (audit.jobs.some((j) => j.doublePaid > 0) && process.env.TABSWARM_RELIABILITY_EVIDENCE)
          cpSync(
            dataDir,
            join(process.env.TABSWARM_RELIABILITY_EVIDENCE, `crash-${seed}-kill${tally.kills}`),
            { recursive: true },
          )
        tally.doublePaidSeen = Math.max(
          tally.doublePaidSeen,
          audit.jobs.reduce((s, j) => s + j.doublePaid, 0),
        )
        // The leases held at the kill are recovered: the job goes on past where it stood.
        const resumeStart = performance.now()
        await pollUntil(
          `job ${job.id} to accept results again after the restart`,
          async () => {
            const view = await client.getJob(job.id, { signal })
            return view.status !== 'running' || view.tasks.accepted > after.size ? true : undefined
          },
          { timeoutMs: 60_000, intervalMs: 50, signal },
        )
        tally.resumeMs.push(performance.now() - resumeStart)
        log(
          `crash: after restart ${after.size} results (${before.size} before the kill; lost ${lost}, acknowledged lost ${ackedLost}), double paid ${audit.jobs.reduce((s, j) => s + j.doublePaid, 0)}, imbalance ${audit.imbalance}`,
        )
        tally.acceptedLost += ackedLost
        base = after.size
      }
      await pollUntil(
        `job ${job.id} to end`,
        async () => {
          const view = await client.getJob(job.id, { signal })
          return view.status === 'running' ? undefined : view
        },
        { timeoutMs: long ? 300_000 : 60_000, intervalMs: 100, signal },
      )
    }

    await relay.stop()
    // The relay is down: its store can be opened here to assemble outputs and audit.
    const audit = auditLedger(join(dataDir, 'coordinator.db'), { votes })
    const store = createSqliteStore({ path: join(dataDir, 'coordinator.db') })
    const coordinator = createCoordinator({
      store,
      blobs: createTieredBlobStore({
        store,
        large: createDiskBlobStore({ dir: join(dataDir, 'blobs') }),
      }),
    })
    let wrong = 0
    let lostTasks = 0
    try {
      for (const [index, plan] of plans.entries()) {
        const jobAudit = audit.jobs.find((j) => j.jobId === jobIds[index])!
        lostTasks += jobAudit.totalTasks - jobAudit.acceptedTasks
        if (jobAudit.status !== 'completed') continue
        const { m, k, n } = plan.shape
        const { a, b } = inputs[index]!
        const output = await coordinator.jobOutput(jobIds[index]!)
        wrong += wrongTiles(output, referenceProduct(a, b, m, k, n), TILE).length
      }
    } finally {
      coordinator.close()
    }
    for (const j of audit.jobs.filter((x) => x.doublePaid > 0))
      log(`crash: job ${j.jobId} paid beyond its acceptances: ${j.doublePaidRefs.join(', ')}`)
    if (audit.jobs.some((j) => j.doublePaid > 0) && process.env.TABSWARM_RELIABILITY_EVIDENCE)
      cpSync(dataDir, join(process.env.TABSWARM_RELIABILITY_EVIDENCE, `crash-${seed}-end`), {
        recursive: true,
      })
    const doublePaid = Math.max(
      tally.doublePaidSeen,
      audit.jobs.reduce((s, j) => s + j.doublePaid, 0),
    )
    const books =
      Math.abs(audit.imbalance) +
      audit.jobs.reduce((s, j) => s + Math.abs(j.spentMismatch) + j.leftInEscrow + j.unpaid, 0)
    const max = (xs: number[]) => Math.max(0, ...xs)
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? 0
    log(
      `crash: ${tally.kills} kills; lost ${lostTasks}, wrong ${wrong}, double paid ${doublePaid}, accepted lost ${tally.acceptedLost}, books off by ${books}; restart ${median(tally.recoveryMs).toFixed(0)} ms median, reconnect ≤ ${max(tally.reconnectMs).toFixed(0)} ms`,
    )
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      case: what,
      metric,
      value,
      unit,
    })
    return [
      row('kills', tally.kills, 'kills'),
      row('lost_tasks', lostTasks, 'tasks'),
      row('double_paid', doublePaid, 'tasks'),
      row('accepted_results_lost', tally.acceptedLost, 'results'),
      row('wrong_results', wrong, 'tasks'),
      row('ledger_imbalance', books, 'credits'),
      row('restart_ms_median', median(tally.recoveryMs), 'ms'),
      row('reconnect_ms_max', max(tally.reconnectMs), 'ms'),
      row('resume_ms_max', max(tally.resumeMs), 'ms'),
    ]
  } finally {
    await Promise.allSettled(sims.map((s) => s.stop()))
    await Promise.allSettled(workers.map((w) => w.interrupt(10_000)))
    await relay.stop()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(`${dataDir}-wallets`, { recursive: true, force: true })
  }
}
