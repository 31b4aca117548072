import pg from 'pg'
import { checkOut } from './postgres-pool.ts'

/**
 * Where a statement runs: inside the caller's transaction when it passes `client` (the
 * journal's group commit, a fenced write), else on a connection of the pool, on its own.
 */
export interface PostgresCallOptions {
  /** The caller's connection, inside its transaction. Its `signal` is then the caller's to honour. */
  client?: pg.ClientBase
  /**
   * Ends the wait: the pool's connection is destroyed. A statement the server had begun may
   * still finish there (outside a transaction, it then commits): an aborted nonce claim may
   * have spent its nonce, which refuses the request, the safe side. Every statement is bounded
   * anyway by the pool's `statement_timeout` and connection timeout.
   */
  signal?: AbortSignal
}

const INT8_OID = 20

/**
 * Reads `BIGINT` as a `bigint`, never through a JS number: credits and fencing tokens stay
 * exact. Callers turn millisecond timestamps back into numbers with `msFromInt8`.
 */
export const INT8_AS_BIGINT: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => BigInt(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

/** A `BIGINT` millisecond timestamp (or count) as a number; throws past 2^53. */
export function msFromInt8(value: unknown): number {
  if (typeof value !== 'bigint')
    throw new TypeError(`expected a BIGINT read as a bigint, got ${typeof value}`)
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`${value} does not fit a JS number exactly`)
  return n
}

/** Throws unless `value` is a whole number of milliseconds a `BIGINT` holds exactly. */
export function assertMs(name: string, value: number): void {
  if (!Number.isSafeInteger(value))
    throw new RangeError(`${name} must be a whole number of milliseconds, got ${value}`)
}

/** The database's clock in epoch milliseconds, as SQL: what leases and liveness across relays are measured by. */
export const DB_NOW_MS = '(extract(epoch FROM now()) * 1000)::bigint'

/** A pool (each statement on a connection of its own) or one connection (inside its transaction). */
export type Queryable = pg.Pool | pg.ClientBase

/**
 * Runs one parameterised statement (`INT8_AS_BIGINT` types) on `options.client` if given,
 * else on `on` (see `runStatement`).
 */
export async function runQuery<R extends pg.QueryResultRow>(
  on: Queryable,
  text: string,
  values: readonly unknown[],
  options: PostgresCallOptions = {},
): Promise<pg.QueryResult<R>> {
  const config: pg.QueryConfig = { text, values: [...values], types: INT8_AS_BIGINT }
  return runStatement<R>(options.client ?? on, config, options.signal)
}

/**
 * Runs one statement on `target`: a caller's connection as it is (inside its transaction),
 * or a connection of a pool, which an abort of `signal` destroys, so that a statement in
 * flight cannot commit later.
 */
export async function runStatement<R extends pg.QueryResultRow>(
  target: Queryable,
  config: pg.QueryConfig,
  signal?: AbortSignal,
): Promise<pg.QueryResult<R>> {
  signal?.throwIfAborted()
  if (!(target instanceof pg.Pool) || signal == null) return target.query<R>(config)
  const client = await checkOut(target)
  if (signal.aborted) {
    client.release()
    signal.throwIfAborted()
  }
  let aborted: Error | undefined
  const onAbort = () => {
    aborted = signal.reason instanceof Error ? signal.reason : new Error('aborted')
    client.release(aborted)
  }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await client.query<R>(config)
  } catch (err) {
    throw aborted ?? err
  } finally {
    signal.removeEventListener('abort', onAbort)
    if (aborted == null) client.release()
  }
}
