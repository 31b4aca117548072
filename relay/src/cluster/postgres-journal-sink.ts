import type pg from 'pg'
import type { Logger } from '../log.ts'
import { silentLogger } from '../log.ts'
import { withTransaction } from '../store/postgres/postgres-pool.ts'
import type { JournalApplied } from '../store/postgres/postgres-store.ts'
import type { JournalEntry } from '../store/store-journal.ts'
import { ESCROW_REFUSED, escrowOverdrafts } from './escrow-overdraft.ts'
import { type FenceRow, fenceLockSql, type PostgresJobOwnership } from './postgres-job-ownership.ts'
import { type JournalBatch, type JournalSink, jobOfEntry } from './write-behind-store.ts'

export interface PostgresJournalSinkOptions {
  pool: pg.Pool
  coordinatorId: string
  ownership: Pick<PostgresJobOwnership, 'adopt' | 'checkFence' | 'end'>
  /** Applies the entries on the caller's transaction (`PostgresStore.applyJournal`). */
  applyJournal(client: pg.ClientBase, entries: readonly JournalEntry[]): Promise<JournalApplied>
  log?: Logger
  /** Batch records older than this are pruned now and then. @default a day */
  keepBatchesMs?: number
}

const ENDED = new Set(['completed', 'failed', 'cancelled'])

/**
 * Writes a coordinator's journal to the shared PostgreSQL, a batch per transaction:
 *
 * 1. the batch is recorded under (coordinator, batch id); found recorded already, it was
 *    applied by an attempt whose answer was lost, and nothing is done twice;
 * 2. jobs the batch inserts are adopted by this coordinator; every other job it touches is
 *    fenced at the token the batch was cut under (`FencedError` if another coordinator
 *    owns it now, or this one lost it and took it back since: its state was reloaded from
 *    the database, and the old writes must not land twice);
 * 3. the entries are applied, in order: a result, its payment and its job's counters
 *    commit together or not at all;
 * 4. an escrow that took a researcher's balance below zero (two relays taking the same
 *    credits at once) is refused: the batch rolls back.
 *
 * Jobs the batch ends lose their owner row in the same transaction, so nobody takes an
 * ended job over.
 */
export function createPostgresJournalSink(options: PostgresJournalSinkOptions): JournalSink {
  const { pool, coordinatorId, ownership } = options
  const log = options.log ?? silentLogger
  const keepBatchesMs = options.keepBatchesMs ?? 24 * 3_600_000
  let applied = 0

  return {
    async apply(batch: JournalBatch, signal: AbortSignal) {
      const inserted = new Set<string>()
      const touched = new Set<string>()
      const ended = new Set<string>()
      for (const entry of batch.entries) {
        if (entry.op === 'insertJob') inserted.add(entry.args[0].id)
        const job = jobOfEntry(entry)
        if (job != null) touched.add(job)
        if (
          entry.op === 'updateJob' &&
          entry.args[1].status != null &&
          ENDED.has(entry.args[1].status)
        )
          ended.add(entry.args[0])
      }
      // A job the batch inserts is adopted here, not fenced (its escrow may come before it).
      for (const job of inserted) touched.delete(job)
      const fresh = await withTransaction(
        pool,
        async (client) => {
          // One round trip: the batch's record and the fence's lock of every job it touches.
          const { rows } = await client.query<FenceRow & { fresh: number | null }>(
            `WITH recorded AS (
               INSERT INTO journal_batches (coordinator, batch, applied_at) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING batch
             ),
             fence AS (${fenceLockSql('$4')})
             SELECT NULL AS job_id, NULL AS owner, NULL AS token,
               (SELECT count(*) FROM recorded)::int AS fresh
             UNION ALL
             SELECT job_id, owner, token::text, NULL FROM fence`,
            [coordinatorId, batch.id, Date.now(), [...touched].sort()],
          )
          // Recorded already: applied by an attempt whose answer was lost (and its jobs may
          // have ended since, so it is not fenced again).
          // (Picked out by column, not by position: UNION ALL promises no order.)
          if (rows.find((row) => row.fresh != null)?.fresh !== 1) return false
          if (touched.size > 0)
            ownership.checkFence(
              touched,
              rows.filter((row) => row.fresh == null),
              batch.tokens,
            )
          for (const job of inserted) await ownership.adopt(client, job)
          const { balances } = await options.applyJournal(client, batch.entries)
          const overdrawn = escrowOverdrafts(batch.entries, balances)
          if (overdrawn.length > 0) throw new Error(`${ESCROW_REFUSED}: ${overdrawn.join('; ')}`)
          if (ended.size > 0) await ownership.end(client, [...ended])
          return true
        },
        { signal },
      )
      if (!fresh) log.info('journal batch was applied already', { batch: batch.id })
      if (++applied % 1_000 === 0)
        await pool
          .query('DELETE FROM journal_batches WHERE applied_at < $1', [Date.now() - keepBatchesMs])
          .catch((err: Error) => log.warn('pruning journal batches failed', { error: err.message }))
    },
  }
}
