import type pg from 'pg'
import { withTransaction } from '../store/postgres/postgres-pool.ts'
import { notifyCluster } from './cluster-wake.ts'

/**
 * Asks the coordinator that runs `jobId` to cancel it: a `job_requests` row, which the
 * owner reads on its next round (`cluster-node.ts`), and a notification that wakes it at
 * once. `account` is whose request it is (checked again by the owner); asked twice, the
 * request stays one.
 */
export async function requestJobCancel(
  pool: pg.Pool,
  jobId: string,
  account: string | undefined,
  signal: AbortSignal,
): Promise<void> {
  await withTransaction(
    pool,
    async (client) => {
      await client.query(
        `INSERT INTO job_requests (job_id, kind, account, at) VALUES ($1, 'cancel', $2, $3)
         ON CONFLICT (job_id, kind) DO NOTHING`,
        [jobId, account ?? null, Date.now()],
      )
      await notifyCluster(client, { type: 'cancel', jobId })
    },
    { signal },
  )
}
