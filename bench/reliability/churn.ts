import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright'
import { launchChromium } from '../../tests/support/chromium.ts'
import { startInProcessRelay } from '../../tests/support/in-process-relay.ts'
import { randomMatrix } from '../../tests/support/random-matrix.ts'
import type { BenchRow } from '../bench-types.ts'
import { acceptedByPeer } from './accepted-by-peer.ts'
import { type ChurnMember, simMember, tabMember, workerMember } from './churn-members.ts'
import { jobEnd } from './job-end.ts'
import { auditLedger } from './ledger-audit.ts'
import { matmulJobSpec } from './matmul-job-spec.ts'
import { createSeededRandom, reliabilitySeed } from './seeded-random.ts'
import { boundedSignal, type ReliabilitySuiteOptions } from './suite-options.ts'
import { referenceProduct, wrongTiles } from './wrong-tiles.ts'

const TILE = 8

/**
 * Churn: one matmul job of 500+ tiles runs while tabs, headless workers and simulated
 * contributors join and leave at random (seeded; the seed is printed). Up to half of them
 * are away at once, most leave mid-task (SIGKILL, a tab killed, a dropped connection) and
 * some come back. Then: the job's output against the CPU reference, tile by tile; every
 * task accepted; the ledger paying each accepted task once and summing to zero.
 */
export async function runChurnSuite(options: ReliabilitySuiteOptions): Promise<BenchRow[]> {
  const { log, long } = options
  const seed = reliabilitySeed()
  const random = createSeededRandom(seed)
  const shape = long ? { m: 320, k: 64, n: 320 } : { m: 184, k: 32, n: 184 }
  const counts = long ? { tabs: 3, workers: 4, sims: 8 } : { tabs: 2, workers: 3, sims: 3 }
  const signal = boundedSignal(options.signal, long ? 600_000 : 150_000)
  const tiles = Math.ceil(shape.m / TILE) * Math.ceil(shape.n / TILE)
  const what = `${tiles}-task matmul, ${counts.tabs} tabs + ${counts.workers} workers + ${counts.sims} sims churning (seed ${seed})`
  log(`churn: ${what}`)

  // Leases short enough that a contributor that vanishes holds its task only briefly.
  const relay = await startInProcessRelay({ tileSize: TILE, leaseMs: 5_000 })
  let browser: Browser | undefined
  const scratch = mkdtempSync(join(tmpdir(), 'tabswarm-churn-'))
  const members: ChurnMember[] = []
  let joiningNow = (): Array<Promise<void>> => []
  try {
    browser = await launchChromium()
    const relayAddr = relay.running.multiaddrs[0]!
    // Task times draw from their own generator, so the churn's choices follow from the seed
    // alone, however many tasks ran in between.
    const pace = createSeededRandom((seed + 0x9e3779b9) >>> 0)
    const taskMs = () => 10 + pace.int(long ? 150 : 40)
    for (let i = 0; i < counts.tabs; i++)
      members.push(tabMember(`tab${i}`, browser, relay.running.url))
    for (let i = 0; i < counts.workers; i++)
      members.push(workerMember(`worker${i}`, relay.running.url, scratch))
    for (let i = 0; i < counts.sims; i++) members.push(simMember(`sim${i}`, relayAddr, taskMs))
    // Everyone is in before the job starts, so that the churn meets work in flight.
    await Promise.all(members.map((m) => m.join(signal)))
    log(`churn: ${members.length} contributors joined`)

    const { m, k, n } = shape
    const a = randomMatrix(m, k, seed)
    const b = randomMatrix(k, n, seed + 1)
    const c = relay.running.coordinator
    await c.grant('researcher', 10n ** 12n)
    const blobs = {
      a: await relay.putBlob(new Uint8Array(a.buffer)),
      b: await relay.putBlob(new Uint8Array(b.buffer)),
    }
    const job = await c.submit(
      // No canaries: each payment is then the one of an accepted task, which the audit checks.
      matmulJobSpec(blobs, shape, { verification: { canaries: 0 } }),
      { account: 'researcher' },
    )
    const started = performance.now()
    const ended = jobEnd(c, job.id, signal)
    let over = false
    void ended.finally(() => {
      over = true
    })

    const tally = { leaves: 0, midTask: 0, abrupt: 0, rejoins: 0 }
    const joining = new Map<ChurnMember, Promise<void>>()
    joiningNow = () => [...joining.values()]
    const maxAway = Math.floor(members.length / 2)
    // The churn: one change every 0.3 to 1.2 s until the job ends (bounded by the count too).
    for (let tick = 0; tick < 2_000 && !over; tick++) {
      await Promise.race([
        new Promise((resolve) => setTimeout(resolve, 300 + random.int(900))),
        ended.catch(() => undefined),
      ])
      if (over || signal.aborted) break
      const live = members.filter((x) => x.live)
      const away = members.filter((x) => !x.live && !joining.has(x))
      const out = members.length - live.length
      if (out < maxAway && live.length > 1 && (away.length === 0 || random.chance(0.55))) {
        const leaving = random.pick(live)
        const mode = random.chance(0.7) ? 'abrupt' : 'graceful'
        const { midTask } = await leaving.leave(mode)
        tally.leaves++
        if (midTask) tally.midTask++
        if (mode === 'abrupt') tally.abrupt++
        log(`churn: ${leaving.label} left (${mode}${midTask ? ', mid-task' : ''})`)
      } else if (away.length > 0 && random.chance(0.6)) {
        const back = random.pick(away)
        // Not awaited: a worker or a tab takes seconds to start, the churn goes on meanwhile.
        joining.set(
          back,
          back
            .join(signal)
            .then(
              () => log(`churn: ${back.label} came back`),
              (err: unknown) => log(`churn: ${back.label} could not come back: ${String(err)}`),
            )
            .finally(() => joining.delete(back)),
        )
        tally.rejoins++
      }
    }
    const view = await ended
    const wallS = (performance.now() - started) / 1000
    await c.durable()

    const ref = referenceProduct(a, b, m, k, n)
    const wrong =
      view.status === 'completed' ? wrongTiles(await c.jobOutput(job.id), ref, TILE) : []
    const audit = auditLedger(join(relay.config.dataDir, 'coordinator.db'))
    const jobAudit = audit.jobs.find((j) => j.jobId === job.id)!
    const lost = jobAudit.totalTasks - jobAudit.acceptedTasks
    // Who computed the accepted results: tabs and sims by their peer ids, workers the rest.
    const byKind = { tab: 0, worker: 0, sim: 0 }
    for (const [peer, n] of acceptedByPeer(join(relay.config.dataDir, 'coordinator.db'), job.id))
      byKind[members.find((x) => x.peerIds.has(peer))?.kind ?? 'worker'] += n
    log(
      `churn: job ${view.status} in ${wallS.toFixed(1)} s; ${tally.leaves} leaves (${tally.midTask} mid-task, ${tally.abrupt} abrupt), ${tally.rejoins} returns; lost ${lost}, wrong ${wrong.length}, double paid ${jobAudit.doublePaid}, unpaid ${jobAudit.unpaid}, imbalance ${audit.imbalance}; accepted from tabs ${byKind.tab}, workers ${byKind.worker}, sims ${byKind.sim}`,
    )
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      case: what,
      metric,
      value,
      unit,
    })
    return [
      row('lost_tasks', lost, 'tasks'),
      row('double_paid', jobAudit.doublePaid, 'tasks'),
      row('unpaid_tasks', jobAudit.unpaid, 'tasks'),
      row('wrong_results', wrong.length, 'tasks'),
      row(
        'ledger_imbalance',
        Math.abs(audit.imbalance) + Math.abs(jobAudit.spentMismatch) + jobAudit.leftInEscrow,
        'credits',
      ),
      row('leaves', tally.leaves, 'contributors'),
      row('leaves_mid_task', tally.midTask, 'contributors'),
      row('returns', tally.rejoins, 'contributors'),
      row('wall_time', wallS, 's'),
      row('accepted_from_tabs', byKind.tab, 'tasks'),
      row('accepted_from_workers', byKind.worker, 'tasks'),
      row('accepted_from_sims', byKind.sim, 'tasks'),
    ]
  } finally {
    // Joins still under way end first (each is bounded), so that nothing is left running.
    await Promise.allSettled(joiningNow())
    await Promise.allSettled(members.filter((x) => x.live).map((x) => x.leave('abrupt')))
    await browser?.close()
    await relay.stop()
    rmSync(scratch, { recursive: true, force: true })
  }
}
