import { DatabaseSync } from 'node:sqlite'

/** What the store says about one job's payments, read straight from its SQLite tables. */
export interface JobLedgerAudit {
  jobId: string
  status: string
  totalTasks: number
  /** Distinct task indexes with an accepted result. */
  acceptedTasks: number
  /** `pay` transfers of the job (escrow to a contributor's pending credit). */
  pays: number
  /**
   * Payments beyond what the acceptances justify. With one answer per task (Freivalds, spot
   * check) every accepted task is paid once, through the lease of its accepted result; with
   * votes, each payment must fall in the commit of one of the job's acceptances (same
   * timestamp) and a task pays at most `maxReplicas` agreeing replicas.
   */
  doublePaid: number
  /** The `ref`s (`pay:<leaseId>`) of the payments counted in `doublePaid`, for a report. */
  doublePaidRefs: string[]
  /** Accepted tasks whose accepted lease was never paid (one-answer jobs only). */
  unpaid: number
  /** `spent` minus (pays − forfeits): zero when the job's books agree with the transfers. */
  spentMismatch: number
  /** Once the job is over: credit left in its escrow or in pending accounts (should be 0). */
  leftInEscrow: number
}

export interface LedgerAudit {
  /** Sum of every balance: zero in a double-entry ledger. */
  imbalance: number
  jobs: JobLedgerAudit[]
}

type Row = Record<string, unknown>

/**
 * Audits the coordinator's ledger in its SQLite file, opened read-only beside the running
 * relay (WAL lets a reader in while it writes). Call after `durable()` (or, for a child
 * process, after it acknowledged what is to be checked): only committed units are seen.
 */
export function auditLedger(
  dbPath: string,
  options: { votes?: ReadonlySet<string>; maxReplicas?: number } = {},
): LedgerAudit {
  const db = new DatabaseSync(dbPath, { readOnly: true })
  // One read transaction: every query sees the same snapshot (WAL), so an acceptance the
  // relay commits meanwhile cannot show its payment without its result.
  db.exec('BEGIN')
  try {
    const all = (query: string, ...params: Array<string | number>) =>
      db.prepare(query).all(...params) as Row[]
    const imbalance = Number(
      (db.prepare('SELECT COALESCE(SUM(balance), 0) AS s FROM balances').get() as Row).s,
    )
    const jobs = all('SELECT id, status, total_tasks, spent FROM jobs ORDER BY seq').map((job) =>
      auditJob(all, String(job.id), job, options.votes?.has(String(job.id)) ?? false, options),
    )
    return { imbalance, jobs }
  } finally {
    db.exec('COMMIT')
    db.close()
  }
}

function auditJob(
  all: (query: string, ...params: Array<string | number>) => Row[],
  jobId: string,
  job: Row,
  votes: boolean,
  options: { maxReplicas?: number },
): JobLedgerAudit {
  const results = all(
    'SELECT task_index, lease_id, accepted_at FROM results WHERE job_id = ?',
    jobId,
  )
  const pays = all("SELECT ref, amount, at FROM transfers WHERE job_id = ? AND kind = 'pay'", jobId)
  const forfeits = all(
    "SELECT COALESCE(SUM(amount), 0) AS s FROM transfers WHERE job_id = ? AND kind = 'forfeit'",
    jobId,
  )
  const paidTotal = pays.reduce((s, p) => s + Number(p.amount), 0)
  const acceptedIndexes = new Set(results.map((r) => Number(r.task_index)))
  let doublePaid = 0
  const doublePaidRefs: string[] = []
  let unpaid = 0
  if (!votes) {
    const acceptedLeases = new Set(results.map((r) => `pay:${String(r.lease_id)}`))
    const paidRefs = pays.map((p) => String(p.ref))
    doublePaidRefs.push(...paidRefs.filter((ref) => !acceptedLeases.has(ref)))
    doublePaid = doublePaidRefs.length
    const paid = new Set(paidRefs)
    unpaid = [...acceptedLeases].filter((ref) => !paid.has(ref)).length
  } else {
    // A vote pays its agreeing replicas in the acceptance's commit, stamped with its time.
    const acceptancesAt = new Map<number, number>()
    for (const r of results) {
      const at = Number(r.accepted_at)
      acceptancesAt.set(at, (acceptancesAt.get(at) ?? 0) + 1)
    }
    const paysAt = new Map<number, number>()
    for (const p of pays) paysAt.set(Number(p.at), (paysAt.get(Number(p.at)) ?? 0) + 1)
    const cap = options.maxReplicas ?? 8
    for (const [at, count] of paysAt) {
      const room = (acceptancesAt.get(at) ?? 0) * cap
      if (count > room) {
        doublePaid += count - room
        doublePaidRefs.push(...pays.filter((p) => Number(p.at) === at).map((p) => String(p.ref)))
      }
    }
  }
  const finished = String(job.status) !== 'running'
  const left = finished
    ? Number(
        (
          all(
            'SELECT COALESCE(SUM(balance), 0) AS s FROM balances WHERE account = ? OR account LIKE ?',
            `escrow:${jobId}`,
            `pending:%:${jobId}`,
          )[0] as Row
        ).s,
      )
    : 0
  return {
    jobId,
    status: String(job.status),
    totalTasks: Number(job.total_tasks),
    acceptedTasks: acceptedIndexes.size,
    pays: pays.length,
    doublePaid: doublePaid + (results.length - acceptedIndexes.size),
    doublePaidRefs,
    unpaid,
    spentMismatch: Number(job.spent) - (paidTotal - Number((forfeits[0] as Row).s)),
    leftInEscrow: left,
  }
}
