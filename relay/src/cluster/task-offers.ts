import type { TensorDtype } from '@tabswarm/protocol'
import type pg from 'pg'
import { withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  DB_NOW_MS,
  msFromInt8,
  type PostgresCallOptions,
  runQuery,
} from '../store/postgres/postgres-query.ts'
import { CLUSTER_CHANNEL } from './cluster-wake.ts'
import { decodeOfferReturn, encodeOfferReturns, type OfferReturnRow } from './offer-return-codec.ts'
import { checkBatch, checkId, checkIds, checkMax, checkMs, jsonText } from './task-offer-input.ts'

export { CorruptOfferReturnError, MAX_RETURN_PAYLOAD_BYTES } from './offer-return-codec.ts'
export { MAX_OFFER_BATCH } from './task-offer-input.ts'

/**
 * Task-level sharing between the relays of a cluster, over the tables of migration 6
 * (`relay/src/store/postgres/migrations/task-offers.ts`).
 *
 * A job runs on the coordinator that owns it, which stays the single writer of its state.
 * So that contributors connected to other relays can run its tasks too, the owner *offers*
 * queued tasks (`publish`), each under a lease it holds for the claimer; other relays
 * *claim* them in batches (`claim`, `FOR UPDATE SKIP LOCKED`), run them on their
 * contributors and *return* the outcome (`sendReturns`); the owner takes the returns
 * (`takeReturns`), verifies, records and pays them as its own, and sends the verdicts back
 * (`sendVerdicts` / `takeVerdicts`).
 *
 * Every call is one statement: one round trip, atomic, and in the caller's transaction when
 * `options.client` is given (the takes run in a transaction of their own otherwise, so
 * that one given up on never commits later). Notifications (`offers`, `returns`,
 * `verdicts` on `CLUSTER_CHANNEL`) are sent by the same statement, so listeners hear of rows
 * only once they are committed. Times are the database's clock (`DB_NOW_MS`).
 */

/** A queued task the owner offers to other relays, under a lease it holds for them. */
export interface TaskOffer {
  /** The owner's lease id: unique, and how the result finds its way back. */
  offerId: string
  jobId: string
  /** Coordinator id of the owner (what `job_owners` names). */
  ownerId: string
  /** The task's kernel (`matmul` or `custom`): a claimer takes only kinds its contributors run. */
  kind: string
  /** The lease grant, JSON-safe (the integrator encodes it); stored as JSONB, returned as parsed JSON. */
  grant: unknown
}

/** An offer a relay claimed. */
export interface ClaimedOffer extends TaskOffer {
  /** What is left of the owner's lease at claim, on the database clock, in ms (> 0). */
  expiresInMs: number
}

/** One output tensor of a returned result. */
export interface ReturnedTensor {
  shape: number[]
  dtype: TensorDtype
  bytes: Uint8Array
}

interface ReturnBase {
  /** Whose offer: the owner it goes back to. */
  ownerId: string
  offerId: string
  /** The relay that ran it: where the verdict goes. */
  relayId: string
  /** The contributor who ran it (or held it). */
  peerId: string
}

export type OfferReturn =
  /** `hello`: the contributor's hello as the relay saw it (capabilities, gflops, wallet, address), JSON. */
  | (ReturnBase & { kind: 'result'; hello: unknown; outputs: ReturnedTensor[] })
  | (ReturnBase & { kind: 'error'; hello: unknown; code: string; message: string })
  /** The relay gives the offer back unrun (its contributor left, or nobody here could run it). */
  | (ReturnBase & { kind: 'release' })
  /** The contributor is still at it: extend the owner's lease. */
  | (ReturnBase & { kind: 'renew' })

export interface OfferVerdict {
  relayId: string
  peerId: string
  taskId: string
  outcome: 'accepted' | 'rejected'
}

export interface TaskOffers {
  /**
   * Inserts offers (one statement, any count up to 1,000), each expiring `expiresInMs` from
   * now on the database clock, and notifies `{type:'offers', by, count}` in the same
   * transaction. An offer id already present is left as it is (idempotent).
   */
  publish(
    offers: ReadonlyArray<TaskOffer & { expiresInMs: number }>,
    options?: PostgresCallOptions,
  ): Promise<void>
  /**
   * Deletes those of `offerIds` nobody has claimed; returns the ids it deleted (the rest
   * were claimed, or are gone). Atomic against `claim`: an offer is either withdrawn or
   * claimed, never both.
   */
  withdraw(offerIds: readonly string[], options?: PostgresCallOptions): Promise<string[]>
  /** Deletes every offer of these jobs, claimed or not (the job ended or changed owner); returns how many. */
  withdrawJobs(jobIds: readonly string[], options?: PostgresCallOptions): Promise<number>
  /**
   * Claims up to `max` (1..1000) open, unexpired offers of `kinds`, oldest first, not owned
   * by `relayId` itself (`owner_id <> relayId`), with `FOR UPDATE SKIP LOCKED`, in one
   * statement; sets `claimed_by`/`claimed_at`. Offers with under `minLeftMs` (default
   * 5_000) left are not taken.
   */
  claim(
    relayId: string,
    kinds: readonly string[],
    max: number,
    options?: PostgresCallOptions & { minLeftMs?: number },
  ): Promise<ClaimedOffer[]>
  /**
   * Inserts returns (one statement whatever the count; outputs' bytes concatenated into
   * `payload`, their shapes/dtypes/byteLengths in `outputs`), and notifies
   * `{type:'returns', to}` once per distinct owner in the same transaction.
   */
  sendReturns(returns: readonly OfferReturn[], options?: PostgresCallOptions): Promise<void>
  /**
   * Takes (deletes and returns, oldest first) up to `max` returns for `ownerId`, using SKIP
   * LOCKED. In the same transaction deletes the `task_offers` rows of the 'result' /
   * 'error' / 'release' returns taken (those offers are done; a 'renew' leaves its offer).
   * Payload split back into tensors, checked against the stored byte lengths: a row that
   * disagrees throws `CorruptOfferReturnError` (the batch is taken all the same).
   */
  takeReturns(ownerId: string, max: number, options?: PostgresCallOptions): Promise<OfferReturn[]>
  /** Inserts verdicts and notifies `{type:'verdicts', to}` once per distinct relay, one transaction. */
  sendVerdicts(verdicts: readonly OfferVerdict[], options?: PostgresCallOptions): Promise<void>
  /** Takes (deletes and returns, oldest first) up to `max` verdicts for `relayId`. */
  takeVerdicts(relayId: string, max: number, options?: PostgresCallOptions): Promise<OfferVerdict[]>
  /**
   * Deletes offers expired more than `graceMs` ago (default 60_000), and returns/verdicts
   * older than `graceMs` (their owner or relay is gone); returns how many rows it deleted.
   */
  purge(options?: PostgresCallOptions & { graceMs?: number }): Promise<number>
}

export interface TaskOffersOptions {
  /**
   * Bound on each call that runs on the pool (a call on the caller's `client` is bounded by
   * the caller). @default 10_000
   */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MIN_LEFT_MS = 5_000
const DEFAULT_PURGE_GRACE_MS = 60_000
const MAX_KINDS = 64

/**
 * The exchange on `pool` (a pool of the shared database, with migration 6 applied).
 *
 * @example
 * const offers = createTaskOffers(pool)
 * await offers.publish([{ offerId, jobId, ownerId: coordinatorId, kind: 'matmul', grant, expiresInMs: 30_000 }])
 * const claimed = await offers.claim(relayId, ['matmul'], 20, { signal })
 */
export function createTaskOffers(pool: pg.Pool, options: TaskOffersOptions = {}): TaskOffers {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  checkMs('timeoutMs', timeoutMs, 1)

  const bounded = (call: PostgresCallOptions) =>
    AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(call.signal ? [call.signal] : [])])
  const onCaller = (call: PostgresCallOptions & { client: pg.ClientBase }) => ({
    client: call.client,
    ...(call.signal ? { signal: call.signal } : {}),
  })

  /**
   * A statement that adds or drops what its caller asked for: in the caller's transaction,
   * or on its own (autocommit) under our timeout. Given up on, it may still commit in the
   * server (see `runQuery`); a retry then finds it done (`publish` is idempotent, a
   * duplicate return or verdict is one the owner or relay already had).
   */
  const run = <R extends pg.QueryResultRow>(
    text: string,
    values: readonly unknown[],
    call: PostgresCallOptions,
  ) =>
    call.client != null
      ? runQuery<R>(pool, text, values, onCaller({ ...call, client: call.client }))
      : runQuery<R>(pool, text, values, { signal: bounded(call) })

  /**
   * A statement that takes rows for its caller (a claim, a take, a withdrawal): in the
   * caller's transaction, or in one of its own, never autocommit. Given up on, it may be
   * waiting on a row lock in the server and would commit there once it got it, after its
   * caller was told it failed: offers claimed or returns taken that nobody receives. In a
   * transaction, the connection is destroyed before any COMMIT and the server rolls back.
   */
  const take = <R extends pg.QueryResultRow>(
    text: string,
    values: readonly unknown[],
    call: PostgresCallOptions,
  ) =>
    call.client != null
      ? runQuery<R>(pool, text, values, onCaller({ ...call, client: call.client }))
      : withTransaction(pool, (client) => runQuery<R>(client, text, values), {
          signal: bounded(call),
        })

  return {
    async publish(offers, call = {}) {
      checkBatch('offers', offers)
      if (offers.length === 0) return
      const ids: string[] = []
      const jobs: string[] = []
      const owners: string[] = []
      const kinds: string[] = []
      const grants: string[] = []
      const lifetimes: number[] = []
      offers.forEach((offer, i) => {
        const at = `offers[${i}]`
        ids.push(checkId(`${at}.offerId`, offer.offerId))
        jobs.push(checkId(`${at}.jobId`, offer.jobId))
        owners.push(checkId(`${at}.ownerId`, offer.ownerId))
        kinds.push(checkId(`${at}.kind`, offer.kind))
        grants.push(jsonText(`${at}.grant`, offer.grant))
        lifetimes.push(checkMs(`${at}.expiresInMs`, offer.expiresInMs, 1))
      })
      await run(
        // Inserted in the order given (`seq` breaks ties of `offered_at` that way); a
        // notification per owner counts only the rows this call added.
        `WITH added AS (
           INSERT INTO task_offers (offer_id, job_id, owner_id, kind, "grant", offered_at, expires_at)
           SELECT o.offer_id, o.job_id, o.owner_id, o.kind, o.grant_json::jsonb,
                  ${DB_NOW_MS}, ${DB_NOW_MS} + o.expires_in
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
             WITH ORDINALITY AS o(offer_id, job_id, owner_id, kind, grant_json, expires_in, i)
           ORDER BY o.i
           ON CONFLICT (offer_id) DO NOTHING
           RETURNING owner_id
         )
         SELECT pg_notify($7, json_build_object('type', 'offers', 'by', owner_id, 'count', n)::text)
         FROM (SELECT owner_id, count(*)::int AS n FROM added GROUP BY owner_id) AS per_owner`,
        [ids, jobs, owners, kinds, grants, lifetimes, CLUSTER_CHANNEL],
        call,
      )
    },

    async withdraw(offerIds, call = {}) {
      const ids = checkIds('offerIds', offerIds)
      if (ids.length === 0) return []
      // The DELETE locks each row: an offer a claim holds is waited for and then, claimed,
      // left; one withdrawn first is skipped by the claim (SKIP LOCKED) and then gone.
      const { rows } = await take<{ offer_id: string }>(
        `DELETE FROM task_offers WHERE offer_id = ANY($1::text[]) AND claimed_by IS NULL
         RETURNING offer_id`,
        [ids],
        call,
      )
      const deleted = new Set(rows.map((row) => row.offer_id))
      return [...new Set(ids)].filter((offerId) => deleted.has(offerId))
    },

    async withdrawJobs(jobIds, call = {}) {
      const ids = checkIds('jobIds', jobIds)
      if (ids.length === 0) return 0
      const { rowCount } = await run(
        'DELETE FROM task_offers WHERE job_id = ANY($1::text[])',
        [ids],
        call,
      )
      return rowCount ?? 0
    },

    async claim(relayId, kinds, max, call = {}) {
      checkId('relayId', relayId)
      if (!Array.isArray(kinds)) throw new TypeError('kinds must be an array of task kinds')
      if (kinds.length === 0 || kinds.length > MAX_KINDS)
        throw new RangeError(
          `kinds must name 1 to ${MAX_KINDS} task kinds its contributors run, got ${kinds.length}: a relay with nothing to run claims nothing`,
        )
      const wanted = kinds.map((kind, i) => checkId(`kinds[${i}]`, kind))
      checkMax(max)
      // At least a millisecond: a claimed offer always has some lease left.
      const minLeftMs = Math.max(1, checkMs('minLeftMs', call.minLeftMs ?? DEFAULT_MIN_LEFT_MS, 0))
      // SKIP LOCKED: rows another relay is claiming (or an owner withdrawing) are passed
      // over, so concurrent claimers split the open offers; under READ COMMITTED a row
      // claimed and committed meanwhile is re-checked (`claimed_by IS NULL`) before it is
      // locked, so no offer is claimed twice.
      const { rows } = await take<ClaimRow>(
        `WITH picked AS (
           SELECT offer_id FROM task_offers
           WHERE claimed_by IS NULL AND owner_id <> $1 AND kind = ANY($2::text[])
             AND expires_at >= ${DB_NOW_MS} + $4
           ORDER BY offered_at, seq
           LIMIT $3
           FOR UPDATE SKIP LOCKED
         ), claimed AS (
           UPDATE task_offers o SET claimed_by = $1, claimed_at = ${DB_NOW_MS}
           FROM picked WHERE o.offer_id = picked.offer_id
           RETURNING o.offer_id, o.job_id, o.owner_id, o.kind, o."grant",
                     o.expires_at - ${DB_NOW_MS} AS left_ms, o.offered_at, o.seq
         )
         SELECT offer_id, job_id, owner_id, kind, "grant", left_ms FROM claimed
         ORDER BY offered_at, seq`,
        [relayId, wanted, max, minLeftMs],
        call,
      )
      return rows.map((row) => ({
        offerId: row.offer_id,
        jobId: row.job_id,
        ownerId: row.owner_id,
        kind: row.kind,
        grant: row.grant,
        expiresInMs: msFromInt8(row.left_ms),
      }))
    },

    async sendReturns(returns, call = {}) {
      checkBatch('returns', returns)
      if (returns.length === 0) return
      const columns = encodeOfferReturns(returns)
      await run(
        // Each result's bytes are a slice of one binary parameter (no hex, no copy per row).
        `WITH added AS (
           INSERT INTO offer_returns
             (owner_id, offer_id, relay_id, peer_id, kind, hello, outputs, payload, code, message, at)
           SELECT r.owner_id, r.offer_id, r.relay_id, r.peer_id, r.kind, r.hello::jsonb,
                  r.outputs::jsonb,
                  CASE WHEN r.len IS NULL THEN NULL
                       ELSE substring($12::bytea FROM r.off + 1 FOR r.len) END,
                  r.code, r.message, ${DB_NOW_MS}
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::int[], $9::int[], $10::text[], $11::text[])
             WITH ORDINALITY AS r(owner_id, offer_id, relay_id, peer_id, kind, hello, outputs,
                                  off, len, code, message, i)
           ORDER BY r.i
           RETURNING owner_id
         )
         SELECT pg_notify($13, json_build_object('type', 'returns', 'to', owner_id)::text)
         FROM (SELECT DISTINCT owner_id FROM added) AS owners`,
        [
          columns.owners,
          columns.offers,
          columns.relays,
          columns.peers,
          columns.kinds,
          columns.hellos,
          columns.outputs,
          columns.offsets,
          columns.lengths,
          columns.codes,
          columns.messages,
          columns.payload,
          CLUSTER_CHANNEL,
        ],
        call,
      )
    },

    async takeReturns(ownerId, max, call = {}) {
      checkId('ownerId', ownerId)
      checkMax(max)
      const { rows } = await take<OfferReturnRow>(
        // The returns' offers are deleted by the same statement: a result, an error or a
        // release ends its offer; a renewal keeps it. Only this owner's offers.
        `WITH taken AS (
           SELECT id FROM offer_returns WHERE owner_id = $1
           ORDER BY id LIMIT $2
           FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM offer_returns r USING taken WHERE r.id = taken.id
           RETURNING r.id, r.offer_id, r.relay_id, r.peer_id, r.kind, r.hello, r.outputs,
                     r.payload, r.code, r.message
         ), done AS (
           DELETE FROM task_offers o
           WHERE o.owner_id = $1
             AND o.offer_id IN (SELECT offer_id FROM gone WHERE kind <> 'renew')
         )
         SELECT * FROM gone ORDER BY id`,
        [ownerId, max],
        call,
      )
      return rows.map((row) => decodeOfferReturn(ownerId, row))
    },

    async sendVerdicts(verdicts, call = {}) {
      checkBatch('verdicts', verdicts)
      if (verdicts.length === 0) return
      const relays: string[] = []
      const peers: string[] = []
      const tasks: string[] = []
      const outcomes: string[] = []
      verdicts.forEach((verdict, i) => {
        const at = `verdicts[${i}]`
        relays.push(checkId(`${at}.relayId`, verdict.relayId))
        peers.push(checkId(`${at}.peerId`, verdict.peerId))
        tasks.push(checkId(`${at}.taskId`, verdict.taskId))
        if (verdict.outcome !== 'accepted' && verdict.outcome !== 'rejected')
          throw new RangeError(
            `${at}.outcome must be 'accepted' or 'rejected', got ${JSON.stringify(verdict.outcome)}`,
          )
        outcomes.push(verdict.outcome)
      })
      await run(
        `WITH added AS (
           INSERT INTO offer_verdicts (relay_id, peer_id, task_id, outcome, at)
           SELECT v.relay_id, v.peer_id, v.task_id, v.outcome, ${DB_NOW_MS}
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS v(relay_id, peer_id, task_id, outcome, i)
           ORDER BY v.i
           RETURNING relay_id
         )
         SELECT pg_notify($5, json_build_object('type', 'verdicts', 'to', relay_id)::text)
         FROM (SELECT DISTINCT relay_id FROM added) AS relays`,
        [relays, peers, tasks, outcomes, CLUSTER_CHANNEL],
        call,
      )
    },

    async takeVerdicts(relayId, max, call = {}) {
      checkId('relayId', relayId)
      checkMax(max)
      const { rows } = await take<VerdictRow>(
        `WITH taken AS (
           SELECT id FROM offer_verdicts WHERE relay_id = $1
           ORDER BY id LIMIT $2
           FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM offer_verdicts v USING taken WHERE v.id = taken.id
           RETURNING v.id, v.peer_id, v.task_id, v.outcome
         )
         SELECT * FROM gone ORDER BY id`,
        [relayId, max],
        call,
      )
      return rows.map((row) => ({
        relayId,
        peerId: row.peer_id,
        taskId: row.task_id,
        outcome: row.outcome,
      }))
    },

    async purge(call = {}) {
      const graceMs = checkMs('graceMs', call.graceMs ?? DEFAULT_PURGE_GRACE_MS, 0)
      const { rows } = await run<{ deleted: bigint }>(
        `WITH offers AS (
           DELETE FROM task_offers WHERE expires_at < ${DB_NOW_MS} - $1 RETURNING 1
         ), returns AS (
           DELETE FROM offer_returns WHERE at < ${DB_NOW_MS} - $1 RETURNING 1
         ), verdicts AS (
           DELETE FROM offer_verdicts WHERE at < ${DB_NOW_MS} - $1 RETURNING 1
         )
         SELECT (SELECT count(*) FROM offers) + (SELECT count(*) FROM returns)
                + (SELECT count(*) FROM verdicts) AS deleted`,
        [graceMs],
        call,
      )
      return msFromInt8(rows[0]?.deleted ?? 0n)
    },
  }
}

interface ClaimRow {
  offer_id: string
  job_id: string
  owner_id: string
  kind: string
  grant: unknown
  left_ms: bigint
}

interface VerdictRow {
  id: bigint
  peer_id: string
  task_id: string
  outcome: OfferVerdict['outcome']
}
