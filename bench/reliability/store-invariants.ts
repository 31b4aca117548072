import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { createSqliteStore } from '@tabswarm/relay'

/** What the coordinator's store looks like after a run: the ledger and every job checked. */
export interface StoreCheck {
  /** Sum of every ledger balance: 0 in a double-entry ledger. */
  imbalance: number
  jobs: number
  /** Jobs per status. */
  statuses: Record<string, number>
  /** Jobs whose record disagrees with itself, the results table or the ledger, with why. */
  halfWritten: string[]
  /** Payments (`pay` transfers) beyond one per accepted task, summed over jobs: double pay under a one-replica policy (Freivalds). */
  paidBeyondAccepted: number
  /** Tasks of jobs that did not complete (running, failed or cancelled): not done. */
  tasksNotDone: number
}

/**
 * Opens the store of a stopped relay (`<dataDir>/coordinator.db`) and checks that the
 * ledger sums to zero and that no job is half written: its accepted count matches the
 * results stored, never exceeds its tasks, a completed job has them all, and its escrow
 * holds exactly budget − spent − refunded (nothing once it is over).
 */
export function checkStoreInvariants(dataDir: string): StoreCheck {
  const store = createSqliteStore({ path: join(dataDir, 'coordinator.db') })
  try {
    const halfWritten: string[] = []
    const statuses: Record<string, number> = {}
    const jobs = store.listJobs({ limit: 1_000_000 })
    let tasksNotDone = 0
    for (const job of jobs) {
      statuses[job.status] = (statuses[job.status] ?? 0) + 1
      if (job.status !== 'completed') tasksNotDone += job.totalTasks - job.acceptedTasks
      const accepted = store.acceptedTasks(job.id).length
      const escrow = store.balance(`escrow:${job.id}`)
      const problems: string[] = []
      if (accepted !== job.acceptedTasks)
        problems.push(`${job.acceptedTasks} accepted on the job, ${accepted} results stored`)
      if (job.acceptedTasks > job.totalTasks)
        problems.push(`${job.acceptedTasks} accepted of ${job.totalTasks} tasks`)
      if (job.status === 'completed' && job.acceptedTasks !== job.totalTasks)
        problems.push(`completed with ${job.acceptedTasks} of ${job.totalTasks} tasks`)
      if (escrow !== job.budget - job.spent - job.refunded)
        problems.push(
          `escrow ${escrow} ≠ budget ${job.budget} − spent ${job.spent} − refunded ${job.refunded}`,
        )
      if (job.status !== 'running' && escrow !== 0n)
        problems.push(`${job.status} with ${escrow} still in escrow`)
      if (escrow < 0n) problems.push(`escrow is negative (${escrow})`)
      if (problems.length > 0) halfWritten.push(`${job.id} (${job.status}): ${problems.join('; ')}`)
    }
    return {
      imbalance: Number(store.ledgerImbalance()),
      jobs: jobs.length,
      statuses,
      halfWritten,
      tasksNotDone,
      paidBeyondAccepted: paymentsBeyondResults(join(dataDir, 'coordinator.db')),
    }
  } finally {
    store.close()
  }
}

/** Σ over jobs of max(0, pay transfers − accepted results), read straight from the tables. */
function paymentsBeyondResults(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const row = db
      .prepare(
        `SELECT COALESCE(SUM(MAX(0, p.pays - COALESCE(r.results, 0))), 0) AS extra
         FROM (SELECT job_id, COUNT(*) AS pays FROM transfers WHERE kind = 'pay' GROUP BY job_id) p
         LEFT JOIN (SELECT job_id, COUNT(*) AS results FROM results GROUP BY job_id) r USING (job_id)`,
      )
      .get() as { extra: number }
    return Number(row.extra)
  } finally {
    db.close()
  }
}
