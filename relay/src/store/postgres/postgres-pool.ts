import pg from 'pg'

/**
 * A connection pool to the PostgreSQL that several relay/coordinators share. Every query is
 * bounded: a statement that runs past `statementTimeoutMs` is cancelled by the server, a
 * connection that cannot be made in `connectionTimeoutMs` fails, and a caller's
 * `AbortSignal` ends what it waits for (see `withTransaction`).
 */
export interface PostgresPoolOptions {
  /** Connections this process may hold. @default 8 */
  max?: number
  /** @default 10_000 */
  statementTimeoutMs?: number
  /** @default 5_000 */
  connectionTimeoutMs?: number
  /** The name the server shows for these connections (`pg_stat_activity`). @default 'tabswarm' */
  applicationName?: string
}

/** What `--database` / `TABSWARM_DATABASE_URL` may be: a PostgreSQL connection URL. */
export function checkDatabaseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(
      `database URL ${JSON.stringify(redactDatabaseUrl(url))} is not a URL: give one like postgres://user:password@host:5432/tabswarm`,
    )
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error(
      `database URL ${JSON.stringify(redactDatabaseUrl(url))} is not a PostgreSQL URL (postgres://…): SQLite needs no URL, it is the default under the data directory`,
    )
  return parsed
}

/** The URL with its password replaced, for logs and errors. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@')
}

export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  checkDatabaseUrl(url)
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 8,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    idle_in_transaction_session_timeout: (options.statementTimeoutMs ?? 10_000) * 3,
    application_name: options.applicationName ?? 'tabswarm',
  })
  // An idle client whose server went away emits 'error': without a listener the process
  // dies. The pool drops that client; the next query opens a new one (or fails, bounded).
  pool.on('error', () => {})
  return pool
}

/**
 * A connection from the pool, for several statements. While a client is checked out the
 * pool listens to nothing on it, so a server that goes away between two statements (a
 * restart, a failover) would throw from the client's `error` event and end the process;
 * here the event is heard and dropped, and the next statement fails and says why.
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect()
  const heard = () => {}
  client.on('error', heard)
  const release = client.release.bind(client)
  client.release = (err?: Error | boolean) => {
    client.removeListener('error', heard)
    release(err)
  }
  return client
}

/**
 * Runs `fn` in one transaction on one connection: committed when it resolves, rolled back
 * when it throws (and the error rethrown) or when `signal` aborts first (the connection is
 * then destroyed, so nothing it was doing can commit later).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: {
    signal?: AbortSignal
    isolation?: 'read committed' | 'repeatable read' | 'serializable'
  } = {},
): Promise<T> {
  options.signal?.throwIfAborted()
  const client = await checkOut(pool)
  let broken: Error | undefined
  const onAbort = () => {
    broken = options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted')
    // Ends the connection: the server rolls back whatever the transaction had done.
    client.release(broken)
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await client.query(
      options.isolation != null && options.isolation !== 'read committed'
        ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}`
        : 'BEGIN',
    )
    const value = await fn(client)
    await client.query('COMMIT')
    return value
  } catch (err) {
    if (broken != null) throw broken
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    if (broken == null) client.release()
  }
}
