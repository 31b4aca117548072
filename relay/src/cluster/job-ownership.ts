import type pg from 'pg'

/**
 * Which coordinator runs which job, when several share one PostgreSQL. Each running job is
 * owned by one coordinator at a time, under a row of `job_owners` (job id, owner, fencing
 * token, lease expiry):
 *
 * - the coordinator that inserts a job owns it from the start (token 1);
 * - an owner renews all its leases together, every `renewMs`; a lease lapses `leaseMs`
 *   after its last renewal;
 * - a coordinator takes over jobs whose lease lapsed (or that nobody owns) with
 *   `SELECT … FOR UPDATE SKIP LOCKED`, a batch at a time, each take incrementing the
 *   job's fencing token;
 * - every write of a job's state runs `fence` first in the same transaction: it locks the
 *   job's owner row and fails unless this coordinator still holds it at the token it was
 *   given. A stale owner (paused, partitioned, presumed dead) therefore never overwrites
 *   the new owner's work, even if its lease lapsed without its noticing.
 */
export interface JobOwnership {
  /** This process's coordinator id: unique per start (a restarted relay is a new owner). */
  readonly coordinatorId: string
  /** The jobs this coordinator holds now, with their fencing tokens. */
  owned(): ReadonlyMap<string, bigint>
  /**
   * Records a new job as this coordinator's (token 1), inside the caller's transaction
   * (the one that inserts the job row).
   */
  adopt(client: pg.ClientBase, jobId: string): Promise<bigint>
  /**
   * Takes up to `max` running jobs whose owner's lease lapsed or that have no owner, a
   * batch at once with `SKIP LOCKED` (two coordinators never take the same job), each
   * with a new fencing token. Returns what was taken. `lapsedForMs`: only jobs whose lease
   * lapsed at least that long ago (a coordinator with nobody to run them lets one that has
   * contributors take them first). @default 0
   */
  takeOver(
    max: number,
    signal?: AbortSignal,
    lapsedForMs?: number,
  ): Promise<Array<{ jobId: string; token: bigint }>>
  /**
   * Extends the lease of every job this coordinator holds. Returns the jobs it no longer
   * holds (taken over after its lease lapsed, or ended): drop them from memory at once.
   */
  renew(signal?: AbortSignal): Promise<string[]>
  /** Gives jobs up (ended, or handed back at shutdown) so others need not wait for the lease. */
  release(jobIds: readonly string[], signal?: AbortSignal): Promise<void>
  /**
   * Inside the caller's transaction: locks the owner rows of `jobIds` (`FOR KEY SHARE`) and
   * throws `FencedError` naming the first that this coordinator no longer holds at its
   * token. Jobs it never held throw too.
   */
  fence(client: pg.ClientBase, jobIds: Iterable<string>): Promise<void>
}

/** A write refused because another coordinator owns the job now. */
export class FencedError extends Error {
  readonly jobId: string
  constructor(jobId: string, message: string) {
    super(message)
    this.name = 'FencedError'
    this.jobId = jobId
  }
}
