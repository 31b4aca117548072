import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgresServer } from '@tabswarm/relay'
import {
  type CoordinatorChild,
  clusterJobFacts,
  doubleAssignments,
  startCoordinatorChild,
  waitForJobEnd,
} from '../../tests/support/cluster-coordinators.ts'
import type { BenchArea, BenchRow } from '../bench-types.ts'

/** Simulated contributors per coordinator. */
const WORKERS = 64
/**
 * Each coordinator's job: ROWS × COLS tiles of 8 × 8. Long enough (seconds per run) that
 * start-up and the last tasks' tail are a small part of it.
 */
const ROWS = 200
const COLS = 100
/**
 * 1 and 3 coordinators are measured alternately this many times, and the medians compared:
 * single runs of either swing by up to half on this machine, at the same CPU use.
 */
const ROUNDS = 5

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0)
  const total = cpu.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

/**
 * CPU seconds used so far by PostgreSQL's processes (the postmaster, the backends of every
 * connection, the WAL writer), from /proc: what exited between two readings is missed, and
 * the benchmark's connections live as long as its runs.
 */
function postgresCpuSeconds(): number {
  let ticks = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue
    }
    const close = stat.lastIndexOf(')')
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue
    const fields = stat.slice(close + 2).split(' ')
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    ticks += Number(fields[11]) + Number(fields[12])
  }
  // USER_HZ is 100 on Linux.
  return ticks / 100
}

const p99 = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!
}

/** The run of median throughput (its CPU figures go with it). */
function median(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.tasksPerSecond - b.tasksPerSecond)
  return sorted[Math.floor(sorted.length / 2)]!
}

interface Run {
  tasksPerSecond: number
  tasks: number
  seconds: number
  /** Share of the machine's CPU busy during the run (all cores), 0..1. */
  machineCpu: number
  /** CPU seconds per wall second spent by the coordinator processes, summed. */
  coordinatorCpu: number
  /** CPU seconds per wall second spent by PostgreSQL's processes. */
  databaseCpu: number
  leaseCallP99Us: number
  doubles: number
  /** Share of the tasks run by contributors of relays other than the job's owner, 0..1. */
  elsewhere: number
  /** p99 of the offer-claim statements (`SELECT … FOR UPDATE SKIP LOCKED`), ms. */
  claimP99Ms: number
  /** Changes per journal batch (one transaction each), over the coordinators. */
  meanBatch: number
}

/** What `cluster-coordinator-child.ts` reports of its offers. */
interface OfferStats {
  claimed: { leased: number; claimP99Ms: number }
}

/** Share of the leases of `jobs` that coordinators other than the submitting one granted. */
function ranElsewhere(children: readonly CoordinatorChild[], jobs: readonly string[]): number {
  let total = 0
  let elsewhere = 0
  for (const [i, child] of children.entries())
    for (const [job] of child.leases) {
      const owner = jobs.indexOf(job)
      if (owner < 0) continue
      total++
      if (owner !== i) elsewhere++
    }
  return total === 0 ? 0 : elsewhere / total
}

/**
 * `n` coordinators on one PostgreSQL, each with its own job of ROWS·COLS tasks and WORKERS
 * simulated contributors: full task cycles (lease, compute the tile, submit, verify,
 * write the result, its payment and its job's counters to PostgreSQL, answer once
 * committed) per second, from the moment all start to the last job's end.
 */
async function throughput(
  url: string,
  n: number,
  log: (line: string) => void,
  /** One job, submitted to the first coordinator, instead of one per coordinator. */
  oneJob = false,
): Promise<Run> {
  const blobDir = mkdtempSync(join(tmpdir(), 'bench-scale-blobs-'))
  const children: CoordinatorChild[] = []
  try {
    for (let i = 0; i < n; i++)
      children.push(
        await startCoordinatorChild(`c${i}`, {
          url,
          blobDir,
          workers: WORKERS,
          leaseMs: 5_000,
          renewMs: 1_000,
        }),
      )
    const jobs: string[] = []
    for (const child of oneJob ? children.slice(0, 1) : children) {
      child.send({ cmd: 'submit', rows: ROWS, cols: COLS })
      jobs.push(String((await child.waitFor((e) => e.event === 'submitted', 'its job')).job))
    }
    const cpuBefore = children.map((c) => Number(c.stats?.cpuMs ?? 0))
    const machineBefore = machineJiffies()
    const databaseBefore = postgresCpuSeconds()
    const started = Date.now()
    for (const child of children) child.send({ cmd: 'work' })
    for (const job of jobs) {
      const status = await waitForJobEnd(url, job, 600_000)
      if (status !== 'completed') throw new Error(`scale job ${job} ended ${status}`)
    }
    const machineAfter = machineJiffies()
    const databaseAfter = postgresCpuSeconds()
    const cpuWindow = (Date.now() - started) / 1000
    // The last stats line of each lags by up to half a second: let one more arrive.
    await new Promise((resolve) => setTimeout(resolve, 600))
    const cpuSeconds = children.reduce(
      (sum, c, i) => sum + (Number(c.stats?.cpuMs ?? 0) - (cpuBefore[i] ?? 0)) / 1000,
      0,
    )
    const tasks = jobs.length * ROWS * COLS
    // Timed to the moment the last job ended, by its coordinator's clock (this machine's),
    // not to when a poll of the database first saw it.
    let ended = started
    for (const job of jobs) {
      const facts = await clusterJobFacts(url, job)
      if (facts.results !== facts.totalTasks || facts.distinctTasks !== facts.totalTasks)
        throw new Error(`scale job ${job}: ${facts.results} results for ${facts.totalTasks} tasks`)
      ended = Math.max(ended, facts.finishedAt ?? Date.now())
    }
    const seconds = (ended - started) / 1000
    const journal = children.map((c) => c.stats?.journal as { batches: number; changes: number })
    const batches = journal.reduce((sum, j) => sum + (j?.batches ?? 0), 0)
    const changes = journal.reduce((sum, j) => sum + (j?.changes ?? 0), 0)
    const run: Run = {
      meanBatch: changes / Math.max(1, batches),
      tasksPerSecond: tasks / seconds,
      tasks,
      seconds,
      machineCpu:
        (machineAfter.busy - machineBefore.busy) /
        Math.max(1, machineAfter.total - machineBefore.total),
      coordinatorCpu: cpuSeconds / seconds,
      databaseCpu: (databaseAfter - databaseBefore) / cpuWindow,
      leaseCallP99Us: Math.max(...children.map((c) => Number(c.stats?.leaseCallP99Us ?? 0))),
      doubles: doubleAssignments(children),
      elsewhere: ranElsewhere(children, jobs),
      claimP99Ms: Math.max(
        ...children.map((c) =>
          Number((c.stats?.offers as OfferStats | undefined)?.claimed.claimP99Ms ?? 0),
        ),
      ),
    }
    log(
      `  ${n} coordinator(s), ${jobs.length} job(s): ${(run.elsewhere * 100).toFixed(0)}% run by other relays' contributors, offer claim p99 ${run.claimP99Ms.toFixed(1)} ms`,
    )
    log(
      `  ${n} coordinator(s): ${tasks} tasks in ${seconds.toFixed(2)} s = ${run.tasksPerSecond.toFixed(0)}/s, machine CPU ${(run.machineCpu * 100).toFixed(0)}%, coordinators ${run.coordinatorCpu.toFixed(2)} cores, PostgreSQL ${run.databaseCpu.toFixed(2)} cores, ${run.meanBatch.toFixed(0)} changes per journal batch`,
    )
    return run
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    rmSync(blobDir, { recursive: true, force: true })
  }
}

/**
 * Three coordinators; the owner of a running job is SIGKILLed mid-job. Measured: from the
 * kill to another coordinator resuming the job (lease 5 s, renewed every second: the
 * defaults), the takeover queries' p99, and that the job still completes with every task
 * paid once.
 */
async function takeover(url: string, log: (line: string) => void) {
  const blobDir = mkdtempSync(join(tmpdir(), 'bench-scale-blobs-'))
  const children: CoordinatorChild[] = []
  try {
    for (let i = 0; i < 3; i++)
      children.push(
        await startCoordinatorChild(`k${i}`, {
          url,
          blobDir,
          workers: 4,
          leaseMs: 5_000,
          renewMs: 1_000,
        }),
      )
    const [victim, ...others] = children as [CoordinatorChild, ...CoordinatorChild[]]
    victim.send({ cmd: 'submit', rows: 40, cols: 50 })
    const job = String((await victim.waitFor((e) => e.event === 'submitted', 'its job')).job)
    for (const child of children) child.send({ cmd: 'work' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const killedAt = Date.now()
    victim.kill()
    const taken = await Promise.race(
      others.map((c) =>
        c.waitFor((e) => e.event === 'taken' && e.job === job, 'the takeover', 30_000),
      ),
    )
    const takeoverMs = Number(taken.at) - killedAt
    const status = await waitForJobEnd(url, job, 300_000)
    const facts = await clusterJobFacts(url, job)
    await new Promise((resolve) => setTimeout(resolve, 600))
    const takeOverQueries = others.flatMap(
      (c) => (c.stats?.takeOverMs as number[] | undefined) ?? [],
    )
    log(
      `  SIGKILL of the owner: taken over after ${takeoverMs} ms; job ${status}, ${facts.results} results, ${facts.pays} payments, ledger sum ${facts.ledgerSum}`,
    )
    if (status !== 'completed' || facts.pays !== facts.totalTasks || facts.ledgerSum !== 0n)
      throw new Error(
        `takeover run: job ${status}, ${facts.pays} payments for ${facts.totalTasks} tasks, ledger sum ${facts.ledgerSum}`,
      )
    return {
      takeoverMs,
      takeOverQueryP99Ms: p99(takeOverQueries),
      doubles: doubleAssignments(children, new Map([[victim.name, killedAt]])),
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    rmSync(blobDir, { recursive: true, force: true })
  }
}

export const scaleArea: BenchArea = {
  name: 'scale',
  title: 'Several coordinators on one PostgreSQL',
  async run(log) {
    // Durable as an operator's server would be (fsync on), on this machine's disk.
    const server = await startPostgresServer({ settings: {} })
    try {
      log(`throughput, one job per coordinator, ${ROUNDS} rounds:`)
      const ones: Run[] = []
      const threes: Run[] = []
      for (let round = 0; round < ROUNDS; round++) {
        ones.push(await throughput(await server.createDatabase(), 1, log))
        threes.push(await throughput(await server.createDatabase(), 3, log))
      }
      const one = median(ones)
      const three = median(threes)
      const ratios = ones.map((o, i) => threes[i]!.tasksPerSecond / o.tasksPerSecond)
      log(
        `  medians: 1 coordinator ${one.tasksPerSecond.toFixed(0)}/s, 3 coordinators ${three.tasksPerSecond.toFixed(0)}/s = ${(three.tasksPerSecond / one.tasksPerSecond).toFixed(2)}×; rounds ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}`,
      )
      log('throughput, one job shared by three coordinators:')
      const shared = await throughput(await server.createDatabase(), 3, log, true)
      log('failover:')
      const kill = await takeover(await server.createDatabase(), log)
      const rows: BenchRow[] = [
        {
          case: '1 coordinator',
          metric: 'tasks_per_s',
          value: Math.round(one.tasksPerSecond),
          unit: 'task cycles/s',
        },
        {
          case: '3 coordinators',
          metric: 'tasks_per_s',
          value: Math.round(three.tasksPerSecond),
          unit: 'task cycles/s',
          vs: { name: '1 coordinator', value: Math.round(one.tasksPerSecond) },
        },
        {
          case: '3 / 1 coordinators',
          metric: 'speedup',
          value: +(three.tasksPerSecond / one.tasksPerSecond).toFixed(2),
          unit: '× (medians)',
        },
        {
          case: '3 / 1 coordinators, lowest round',
          metric: 'speedup',
          value: +Math.min(...ratios).toFixed(2),
          unit: '×',
        },
        {
          case: '3 / 1 coordinators, highest round',
          metric: 'speedup',
          value: +Math.max(...ratios).toFixed(2),
          unit: '×',
        },
        {
          case: 'one job, 3 coordinators',
          metric: 'tasks_per_s',
          value: Math.round(shared.tasksPerSecond),
          unit: 'task cycles/s',
          vs: { name: '1 coordinator', value: Math.round(one.tasksPerSecond) },
        },
        {
          case: 'one job, 3 coordinators',
          metric: 'run_elsewhere',
          value: Math.round(shared.elsewhere * 100),
          unit: '% of tasks',
        },
        {
          case: 'one job, 3 coordinators',
          metric: 'offer_claim_p99',
          value: +shared.claimP99Ms.toFixed(1),
          unit: 'ms',
        },
        {
          case: 'one job, 3 coordinators',
          metric: 'machine_cpu',
          value: Math.round(shared.machineCpu * 100),
          unit: '% of 2 cores',
        },
        {
          case: '1 coordinator',
          metric: 'machine_cpu',
          value: Math.round(one.machineCpu * 100),
          unit: '% of 2 cores',
        },
        {
          case: '3 coordinators',
          metric: 'machine_cpu',
          value: Math.round(three.machineCpu * 100),
          unit: '% of 2 cores',
        },
        {
          case: '1 coordinator',
          metric: 'coordinator_cpu',
          value: +one.coordinatorCpu.toFixed(2),
          unit: 'cores',
        },
        {
          case: '3 coordinators',
          metric: 'coordinator_cpu',
          value: +three.coordinatorCpu.toFixed(2),
          unit: 'cores',
        },
        {
          case: '1 coordinator',
          metric: 'database_cpu',
          value: +one.databaseCpu.toFixed(2),
          unit: 'cores',
        },
        {
          case: '3 coordinators',
          metric: 'database_cpu',
          value: +three.databaseCpu.toFixed(2),
          unit: 'cores',
        },
        {
          case: '1 coordinator',
          metric: 'journal_batch',
          value: Math.round(one.meanBatch),
          unit: 'changes per transaction',
        },
        {
          case: '3 coordinators',
          metric: 'lease_call_p99',
          value: +three.leaseCallP99Us.toFixed(1),
          unit: 'µs',
        },
        {
          case: 'takeover',
          metric: 'takeover_query_p99',
          value: +kill.takeOverQueryP99Ms.toFixed(1),
          unit: 'ms',
        },
        {
          case: 'all runs above',
          metric: 'double_assignments',
          value: [...ones, ...threes, shared].reduce((sum, run) => sum + run.doubles, kill.doubles),
          unit: 'tasks',
        },
        {
          case: 'SIGKILL of the owner',
          metric: 'takeover_time',
          value: kill.takeoverMs,
          unit: 'ms',
        },
      ]
      return {
        rows,
        notes: [
          `Each coordinator is its own process with ${WORKERS} simulated contributors in it (lease, compute an 8×8 tile on the CPU, submit, verify, record); one job of ${ROWS * COLS} tasks per coordinator; 1 and 3 coordinators measured alternately ${ROUNDS} times, the medians compared (the lowest and highest round's ratios beside); each run timed from the contributors' start to the moment its coordinator ended the last job; PostgreSQL 15 on this machine with durable defaults (fsync on). The coordinators, their contributors and the database share the machine’s 2 cores: machine CPU beside each figure, and the CPU of the coordinator processes and of PostgreSQL’s (database_cpu, read from /proc). journal_batch: changes per journal transaction; each simulated contributor waits for its result to be durable before it leases again, as a tab does, so a batch holds about one result from each.`,
          'Claim latency has three parts here: a contributor’s lease comes from its coordinator’s memory (lease_call_p99); a coordinator claims other coordinators’ offered tasks in batches (offer_claim_p99: SELECT … FOR UPDATE SKIP LOCKED on task_offers, only when it has no work of its own for a contributor); and it claims whole jobs only when it takes them over (takeover_query_p99).',
          '“one job, 3 coordinators”: a single job submitted to one coordinator, run by the contributors of all three; its owner verifies, records and pays every result (run_elsewhere: the share its offers carried to the others).',
          'takeover_time: from the SIGKILL to another coordinator resuming the job, with the default lease (5 s, renewed every second).',
        ],
      }
    } finally {
      await server.stop()
    }
  },
}
