import { type Logger, silentLogger } from '../log.ts'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import { copyJournalValue } from '../store/journal-copy.ts'
import { JOURNALED_OPS, type JournalEntry, type JournaledOp } from '../store/store-journal.ts'
import { FencedError } from './job-ownership.ts'

/**
 * Where a coordinator's committed journal goes: the shared database. `apply` writes one
 * batch in one transaction (fenced by the ownership of the jobs it touches), or throws:
 * `FencedError` when a job it touches is owned by another coordinator now, a
 * {@link isTransientDatabaseError transient} error when it may simply be tried again, and
 * anything else when the batch itself is refused.
 *
 * `batch.id` names the batch across retries: a sink records it in the same transaction,
 * so a batch whose commit succeeded but whose answer was lost is not applied twice.
 */
export interface JournalSink {
  apply(batch: JournalBatch, signal: AbortSignal): Promise<void>
}

export interface JournalBatch {
  /** Unique per coordinator start; the same for every retry of this batch. */
  id: number
  entries: readonly JournalEntry[]
  /**
   * The fencing token of each job this coordinator held when the batch was cut
   * (`WriteBehindOptions.fenceTokens`): the batch is fenced at these, not at what it holds
   * when an attempt runs. It may have lost a job and taken it back meanwhile, with the
   * job's state reloaded from the database; the old writes must then be refused.
   */
  tokens?: ReadonlyMap<string, bigint>
}

export interface WriteBehindOptions {
  /** The working set: an in-memory store the coordinator reads and writes synchronously. */
  memory: CoordinatorStore
  sink: JournalSink
  log?: Logger
  /**
   * Jobs whose writes the database refused for good: fenced (another coordinator owns
   * them now) or a batch it rejected. Their state in memory is no longer the truth: drop
   * them (and reload them from the database if this coordinator takes them again).
   */
  onLost?(jobIds: readonly string[], reason: Error): void
  /** The jobs this coordinator holds now and their fencing tokens, stamped on each batch. */
  fenceTokens?(): ReadonlyMap<string, bigint>
  /** Most changes held in memory while the database does not take them. @default 200_000 */
  maxBacklog?: number
  /** One attempt to apply a batch. @default 15_000 */
  applyTimeoutMs?: number
  /** First wait before retrying a transient failure; doubles up to 5 s. @default 100 */
  retryMs?: number
}

/**
 * A `CoordinatorStore` that answers from memory and writes behind to a shared database:
 * every state-changing call runs on the in-memory store and is recorded; the record of
 * what committed in memory goes to the sink in batches, one at a time, in order. A unit
 * that throws leaves no record. `flushed()` resolves once everything run so far is in the
 * database (the coordinator answers contributors and researchers only then), and rejects
 * when part of it was refused.
 *
 * While the database is away, batches are retried (backing off) and changes accumulate in
 * memory up to `maxBacklog`; past that, new units are refused with an error that says why.
 */
export interface WriteBehindStore extends CoordinatorStore {
  /** The in-memory store, for rows read from the database (not journaled: see `quietly`). */
  readonly memory: CoordinatorStore
  /** Runs `fn` on the memory store without recording it: rows that came from the database. */
  quietly<T>(fn: (memory: CoordinatorStore) => T): T
  /**
   * Drops the changes to these jobs that have not reached the database: the jobs were
   * lost (their lease lapsed, another coordinator took them), so what this one did with
   * them since its last write is void. A batch in flight leaves them out of its next
   * attempt; one already in the air may still commit, and is then what the next owner
   * reloads (the fence refuses it if another took the job first). `flushed()` callers
   * waiting on them are rejected with `reason`. Returns how many changes were dropped
   * before they were sent.
   */
  discard(jobIds: Iterable<string>, reason: Error): number
  /** Changes recorded and not yet in the database. */
  backlog(): number
  /** Batches written so far, and the changes in them: their ratio is the mean batch. */
  stats(): { batches: number; changes: number }
  /** Resolves when nothing is waiting for the database (or rejects as `flushed` does). */
  drain(): Promise<void>
}

const JOURNALED: ReadonlySet<string> = new Set(JOURNALED_OPS)

/** The job an entry changes, if it belongs to one. */
export function jobOfEntry(entry: JournalEntry): string | undefined {
  switch (entry.op) {
    case 'insertJob':
      return entry.args[0].id
    case 'updateJob':
    case 'deleteResult':
    case 'confirmResult':
      return entry.args[0]
    case 'insertResult':
      return entry.args[0].jobId
    case 'transfer':
      return entry.args[0].jobId
    default:
      return undefined
  }
}

/**
 * Failures worth retrying as they are: the connection (refused, reset, ended, timed out),
 * the server shutting down or starting, or a transaction that lost a conflict.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown }
  const code = typeof e?.code === 'string' ? e.code : ''
  if (/^(08|57P0|53)/.test(code) || code === '40001' || code === '40P01') return true
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTCONN)$/.test(code)) return true
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return true
  const message = typeof e?.message === 'string' ? e.message : ''
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    message,
  )
}

export function createWriteBehindStore(options: WriteBehindOptions): WriteBehindStore {
  const { memory, sink } = options
  const log = options.log ?? silentLogger
  const maxBacklog = options.maxBacklog ?? 200_000
  const applyTimeoutMs = options.applyTimeoutMs ?? 15_000
  const retryMs = options.retryMs ?? 100

  let depth = 0
  let quiet = 0
  /** Entries of the unit running now: kept only if it returns. */
  let unit: JournalEntry[] = []
  /** Committed in memory, not yet taken by a batch. */
  let open: JournalEntry[] = []
  let openWaiter: PromiseWithResolvers<void> | undefined
  let inFlight: { entries: number; done: Promise<void> } | undefined
  /** Jobs discarded while `inFlight` runs: its next attempt leaves them out. */
  let flightDiscards = new Map<string, Error>()
  /** Why changes were discarded from `open` since the last batch was cut. */
  let openRefused: Error | undefined
  let scheduled: ReturnType<typeof setImmediate> | undefined
  let nextBatchId = 1
  let batchesWritten = 0
  let changesWritten = 0
  let closed = false
  const stop = new AbortController()

  function record(op: JournaledOp, args: unknown[], result: unknown): void {
    if (quiet > 0) return
    // Copied after the call: the memory store may have filled in fields (a job's seq), and
    // the caller goes on mutating the objects it passed (a running job's row).
    unit.push({
      op,
      args: copyJournalValue(args),
      result: copyJournalValue(result),
    } as JournalEntry)
  }

  function schedule(): void {
    if (scheduled != null || inFlight != null || open.length === 0 || closed) return
    scheduled = setImmediate(() => {
      scheduled = undefined
      void ship()
    })
  }

  async function ship(): Promise<void> {
    if (inFlight != null || open.length === 0) return
    const entries = open
    const waiter = openWaiter
    const refusedBefore = openRefused
    open = []
    openWaiter = undefined
    openRefused = undefined
    flightDiscards = new Map()
    const tokens = options.fenceTokens?.()
    const batch: JournalBatch = { id: nextBatchId++, entries, ...(tokens ? { tokens } : {}) }
    const done = applyWithRecovery(batch, refusedBefore)
    inFlight = { entries: entries.length, done }
    try {
      await done
      batchesWritten++
      changesWritten += entries.length
      waiter?.resolve()
    } catch (err) {
      waiter?.reject(err)
    } finally {
      inFlight = undefined
    }
    schedule()
  }

  /**
   * Applies a batch until it is in the database, minus what was refused for good. Rejects
   * (after applying the rest) when anything was refused, so that no caller answers as if
   * that part were durable.
   */
  async function applyWithRecovery(first: JournalBatch, refusedBefore?: Error): Promise<void> {
    let batch = first
    let refused = refusedBefore
    let wait = retryMs
    for (;;) {
      if (closed) throw new Error('the store was closed before its changes reached the database')
      if (flightDiscards.size > 0 && batch.entries.some(discardedInFlight)) {
        refused ??= flightDiscards.get(jobOfEntry(batch.entries.find(discardedInFlight)!)!)
        batch = { ...batch, entries: batch.entries.filter((e) => !discardedInFlight(e)) }
      }
      if (batch.entries.length === 0) break
      try {
        const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(applyTimeoutMs)])
        await sink.apply(batch, signal)
        break
      } catch (err) {
        if (err instanceof FencedError) {
          // Another coordinator owns that job now: its changes here are void; the rest go on.
          // (Already discarded, it is known lost: this coordinator may even hold it again.)
          refused ??= err
          if (!flightDiscards.has(err.jobId)) lose([err.jobId], err)
          batch = { ...batch, entries: batch.entries.filter((e) => jobOfEntry(e) !== err.jobId) }
          continue
        }
        if (isTransientDatabaseError(err)) {
          log.warn('database unavailable, retrying the write', {
            changes: batch.entries.length,
            retryInMs: wait,
            error: (err as Error).message,
          })
          await sleep(wait, stop.signal).catch(() => {})
          wait = Math.min(wait * 2, 5_000)
          continue
        }
        // Refused as it is: apply it job by job, so one job's bad change costs only that job.
        refused ??= err as Error
        batch = await applyPerJob(batch, err as Error)
        break
      }
    }
    if (refused != null) throw refused
  }

  async function applyPerJob(batch: JournalBatch, cause: Error): Promise<JournalBatch> {
    const byJob = new Map<string | undefined, JournalEntry[]>()
    for (const entry of batch.entries) {
      const job = jobOfEntry(entry)
      const list = byJob.get(job)
      if (list == null) byJob.set(job, [entry])
      else list.push(entry)
    }
    if (byJob.size === 1) {
      const [job] = byJob.keys()
      log.error('database refused changes', {
        job: job ?? null,
        changes: batch.entries.length,
        error: cause.message,
      })
      if (job != null) lose([job], cause)
      return { id: batch.id, entries: [] }
    }
    for (const entries of byJob.values())
      await applyWithRecovery({ ...batch, id: nextBatchId++, entries }).catch(() => {})
    return { id: batch.id, entries: [] }
  }

  const discardedInFlight = (entry: JournalEntry): boolean => {
    const job = jobOfEntry(entry)
    return job != null && flightDiscards.has(job)
  }

  function discard(jobIds: Iterable<string>, reason: Error): number {
    const ids = new Set(jobIds)
    if (ids.size === 0) return 0
    if (inFlight != null)
      for (const id of ids) if (!flightDiscards.has(id)) flightDiscards.set(id, reason)
    const before = open.length
    open = open.filter((entry) => {
      const job = jobOfEntry(entry)
      return job == null || !ids.has(job)
    })
    const dropped = before - open.length
    if (dropped > 0) {
      if (open.length > 0) openRefused ??= reason
      else {
        // Nothing left to cut a batch from: whoever waits on these hears it now.
        openWaiter?.reject(reason)
        openWaiter = undefined
      }
    }
    return dropped
  }

  function lose(jobIds: readonly string[], reason: Error): void {
    // Their later changes are as void as the refused ones.
    discard(jobIds, reason)
    try {
      options.onLost?.(jobIds, reason)
    } catch (err) {
      log.error('dropping lost jobs failed', {
        jobs: jobIds.join(','),
        error: (err as Error).message,
      })
    }
  }

  const backlog = () => open.length + (inFlight?.entries ?? 0)

  function transaction<T>(fn: () => T): T {
    if (depth > 0 || quiet > 0) return fn()
    if (closed) throw new Error('the store is closed')
    if (backlog() >= maxBacklog)
      throw new Error(
        `the database has not taken this relay's last ${backlog()} changes (is it reachable?): new work is refused until it does`,
      )
    depth++
    unit = []
    try {
      const value = memory.transaction(fn)
      if (unit.length > 0) {
        for (const entry of unit) open.push(entry)
        schedule()
      }
      return value
    } finally {
      unit = []
      depth--
    }
  }

  function flushed(): Promise<void> {
    if (open.length > 0) {
      openWaiter ??= Promise.withResolvers<void>()
      return openWaiter.promise
    }
    if (inFlight != null) return inFlight.done
    return memory.flushed()
  }

  // Every operation of the memory store, with the journaled ones recorded and run as units.
  const store = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(memory) as Array<keyof CoordinatorStore>) {
    const value = memory[key]
    if (typeof value !== 'function') continue
    if (JOURNALED.has(key)) {
      store[key] = (...args: unknown[]) =>
        transaction(() => {
          const result = (value as (...a: unknown[]) => unknown).apply(memory, args)
          record(key as JournaledOp, args, result)
          return result
        })
    } else store[key] = (value as (...a: unknown[]) => unknown).bind(memory)
  }

  return Object.assign(store, {
    memory,
    transaction,
    flushed,
    flush() {
      memory.flush()
      if (scheduled != null) {
        clearImmediate(scheduled)
        scheduled = undefined
      }
      void ship()
    },
    quietly<T>(fn: (m: CoordinatorStore) => T): T {
      quiet++
      try {
        return memory.transaction(() => fn(memory))
      } finally {
        quiet--
      }
    },
    discard,
    backlog,
    stats: () => ({ batches: batchesWritten, changes: changesWritten }),
    async drain() {
      for (;;) {
        const pending = flushed()
        await pending
        if (backlog() === 0) return
      }
    },
    close() {
      closed = true
      stop.abort(new Error('the store was closed'))
      if (scheduled != null) clearImmediate(scheduled)
      openWaiter?.reject(new Error('the store was closed before its changes reached the database'))
      openWaiter = undefined
      memory.close()
    },
  }) as unknown as WriteBehindStore
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
