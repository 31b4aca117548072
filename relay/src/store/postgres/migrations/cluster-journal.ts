import type { PostgresMigration } from '../postgres-migrations.ts'

/**
 * Migration 5: what the coordinators of a cluster need beside the store's own tables.
 *
 * - `journal_batches`: every batch of a coordinator's journal applied, by (coordinator,
 *   batch): a retry of a batch whose commit succeeded but whose answer was lost finds it
 *   and applies nothing twice. Pruned after a day.
 * - `result_seq_blocks`: each coordinator numbers the results it accepts from a block of
 *   2^32 seqs of its own, so seqs are unique across the cluster and, a new block being
 *   above every older one, still rise within a job that changes hands.
 * - `job_requests`: what a relay asks of a job another coordinator owns (a cancel), for
 *   the owner to act on.
 */
export const clusterJournal: PostgresMigration = {
  version: 5,
  name: 'cluster journal batches, result seq blocks and job requests',
  async up(client) {
    await client.query(`
      CREATE TABLE journal_batches (
        coordinator TEXT NOT NULL,
        batch BIGINT NOT NULL,
        applied_at BIGINT NOT NULL,
        PRIMARY KEY (coordinator, batch)
      );
      CREATE INDEX journal_batches_by_time ON journal_batches (applied_at);
      CREATE SEQUENCE result_seq_blocks START WITH 1 MAXVALUE 2097151 NO CYCLE;
      CREATE TABLE job_requests (
        job_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('cancel')),
        account TEXT,
        at BIGINT NOT NULL,
        PRIMARY KEY (job_id, kind)
      );
    `)
  },
}
