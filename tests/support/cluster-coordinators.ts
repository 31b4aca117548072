import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const CHILD = fileURLToPath(new URL('./cluster-coordinator-child.ts', import.meta.url))

/** One event line of `cluster-coordinator-child.ts`. */
export type ChildEvent = { event: string } & Record<string, unknown>

export interface CoordinatorChild {
  readonly name: string
  readonly process: ChildProcess
  /** Its coordinator id, once ready. */
  coordinatorId: string
  readonly events: ChildEvent[]
  /** Its leases so far: [job, tile, granted ms, ended ms]. */
  readonly leases: Array<[string, string, number, number]>
  /** The newest stats line. */
  stats?: ChildEvent
  send(command: Record<string, unknown>): void
  /** The first event (past or future) matching `match`, within `timeoutMs`. */
  waitFor(
    match: (event: ChildEvent) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<ChildEvent>
  /** Asks it to stop cleanly (jobs handed back), and waits until it exits. */
  stop(timeoutMs?: number): Promise<void>
  kill(): void
}

export interface CoordinatorChildOptions {
  url: string
  blobDir: string
  /** Simulated contributors in the process. @default 16 */
  workers?: number
  /** @default 2_000 */
  leaseMs?: number
  /** @default 400 */
  renewMs?: number
}

/**
 * Starts a coordinator of a cluster in its own process (`cluster-coordinator-child.ts`)
 * and waits until it is ready.
 */
export async function startCoordinatorChild(
  name: string,
  options: CoordinatorChildOptions,
): Promise<CoordinatorChild> {
  const proc = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      TABSWARM_DATABASE_URL: options.url,
      TABSWARM_BLOB_DIR: options.blobDir,
      WORKERS: String(options.workers ?? 16),
      LEASE_MS: String(options.leaseMs ?? 2_000),
      RENEW_MS: String(options.renewMs ?? 400),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const events: ChildEvent[] = []
  const leases: Array<[string, string, number, number]> = []
  const waiters = new Set<{ match: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }>()
  const stderr: string[] = []
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
  proc.on('exit', (code, signal) => {
    exited = { code, signal }
  })
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    stderr.push(line)
    if (stderr.length > 200) stderr.shift()
  })
  const child: CoordinatorChild = {
    name,
    process: proc,
    coordinatorId: '',
    events,
    leases,
    send(command) {
      proc.stdin!.write(`${JSON.stringify(command)}\n`)
    },
    waitFor(match, what, timeoutMs = 60_000) {
      const hit = events.find(match)
      if (hit != null) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e: ChildEvent) => {
            clearTimeout(timer)
            resolve(e)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(
            new Error(
              `coordinator ${name} did not report ${what} within ${timeoutMs} ms${exited ? ` (it exited: ${JSON.stringify(exited)})` : ''}; its last log lines:\n${stderr.slice(-15).join('\n')}`,
            ),
          )
        }, timeoutMs)
        waiters.add(waiter)
      })
    },
    async stop(timeoutMs = 30_000) {
      if (exited != null) return
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
      child.send({ cmd: 'stop' })
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
      await gone
      clearTimeout(timer)
    },
    kill() {
      proc.kill('SIGKILL')
    },
  }
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let event: ChildEvent
    try {
      event = JSON.parse(line) as ChildEvent
    } catch {
      return
    }
    if (event.event === 'leases') {
      const jobs = event.jobs as string[]
      const epoch = Number(event.epoch)
      for (const [job, tile, from, to] of event.leases as Array<[number, string, number, number]>)
        leases.push([jobs[job]!, tile, epoch + from, epoch + to])
      return
    }
    if (event.event === 'stats') {
      child.stats = event
      return
    }
    events.push(event)
    for (const waiter of [...waiters])
      if (waiter.match(event)) {
        waiters.delete(waiter)
        waiter.resolve(event)
      }
  })
  const ready = await child.waitFor((e) => e.event === 'ready', 'ready')
  child.coordinatorId = String(ready.coordinator)
  return child
}

/**
 * Tasks leased by two coordinators at once: a tile of a job whose lease by one overlaps
 * in time a lease of it by another. A coordinator killed mid-lease has its open leases end
 * at `killedAt` (its contributors' work died with it).
 */
export function doubleAssignments(
  children: readonly CoordinatorChild[],
  killedAt: ReadonlyMap<string, number> = new Map(),
): number {
  const byTile = new Map<string, Array<{ by: string; from: number; to: number }>>()
  for (const child of children) {
    const end = killedAt.get(child.name)
    for (const [job, tile, from, to] of child.leases) {
      const key = `${job}/${tile}`
      const list = byTile.get(key) ?? []
      list.push({ by: child.name, from, to: end != null ? Math.min(to, end) : to })
      byTile.set(key, list)
    }
  }
  let doubles = 0
  for (const list of byTile.values()) {
    const overlap = list.some((a, i) =>
      list.some((b, j) => j > i && a.by !== b.by && a.from < b.to && b.from < a.to),
    )
    if (overlap) doubles++
  }
  return doubles
}

/** A job's end and its money, as the shared database has them. */
export interface ClusterJobFacts {
  status: string
  /** When its coordinator ended it (that coordinator's clock, ms since the epoch). */
  finishedAt: number | null
  acceptedTasks: number
  totalTasks: number
  /** Result rows, and distinct tasks among them. */
  results: number
  distinctTasks: number
  /** `pay` transfers of the job less those taken back (`forfeit`), against its accepted results. */
  pays: number
  /** Sum of every balance: zero in a double-entry ledger. */
  ledgerSum: bigint
  /** What the job's escrow holds at the end: zero once it settled. */
  escrowLeft: bigint
}

export async function clusterJobFacts(url: string, jobId: string): Promise<ClusterJobFacts> {
  const db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await db.connect()
  try {
    const job = (
      await db.query(
        'SELECT status, accepted_tasks, total_tasks, finished_at FROM jobs WHERE id = $1',
        [jobId],
      )
    ).rows[0]
    const results = (
      await db.query(
        'SELECT count(*)::int AS n, count(DISTINCT task_index)::int AS d FROM results WHERE job_id = $1',
        [jobId],
      )
    ).rows[0]
    const pays = (
      await db.query(
        "SELECT count(*)::int AS n FROM transfers WHERE job_id = $1 AND kind = 'pay'",
        [jobId],
      )
    ).rows[0]
    const sum = (await db.query('SELECT COALESCE(sum(balance), 0)::text AS s FROM balances'))
      .rows[0]
    const escrow = (
      await db.query('SELECT COALESCE(balance, 0)::text AS b FROM balances WHERE account = $1', [
        `escrow:${jobId}`,
      ])
    ).rows[0]
    return {
      status: job?.status,
      finishedAt: job?.finished_at != null ? Number(job.finished_at) : null,
      acceptedTasks: Number(job?.accepted_tasks),
      totalTasks: Number(job?.total_tasks),
      results: results.n,
      distinctTasks: results.d,
      pays: pays.n,
      ledgerSum: BigInt(sum.s),
      escrowLeft: BigInt(escrow?.b ?? '0'),
    }
  } finally {
    await db.end()
  }
}

/**
 * Waits until the job is no longer running in the shared database; its status, with the
 * job's error after it when it has one (`failed: task 7 failed verification 3 times`), so
 * that a failed expectation names the cause. Each look opens its own connection: the
 * database may be stopped on purpose meanwhile.
 */
export async function waitForJobEnd(
  url: string,
  jobId: string,
  timeoutMs = 120_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    const db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
    try {
      await db.connect()
      const row = (await db.query('SELECT status, error FROM jobs WHERE id = $1', [jobId])).rows[0]
      if (row != null && row.status !== 'running')
        return row.error != null ? `${row.status}: ${row.error}` : (row.status as string)
    } catch (err) {
      lastError = err
    } finally {
      await db.end().catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(
    `job ${jobId} still running after ${timeoutMs} ms${lastError != null ? ` (last error: ${(lastError as Error).message})` : ''}`,
  )
}
