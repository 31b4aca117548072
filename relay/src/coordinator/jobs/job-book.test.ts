import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createLedger } from '../../ledger/ledger.ts'
import { silentLogger } from '../../log.ts'
import type { CoordinatorStore, StoredJob } from '../../store/coordinator-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import type { Contributor } from '../contributors/contributor-registry.ts'
import { createProviderIndex } from '../contributors/provider-index.ts'
import type { JobEvent } from '../coordinator-api.ts'
import { createCoordinatorCounters } from '../coordinator-counters.ts'
import { createLeaseTable } from '../leases/lease-table.ts'
import { jobQueue } from '../leases/scheduler.ts'
import { createProvisionalRows } from '../verification/provisional-results.ts'
import { createJobBook } from './job-book.ts'
import { createJobHistories } from './job-history.ts'
import { createJobParts } from './job-parts.ts'
import { createJobPublication } from './job-publication.ts'
import type { JobRuntime } from './job-runtime.ts'
import { tensorBytes } from './tensor-bytes.ts'

const stores: CoordinatorStore[] = []
afterEach(() => {
  for (const store of stores.splice(0)) store.close()
})

/** A job book over an in-memory store, and what a test needs to drive it by hand. */
function setup() {
  const store = createSqliteStore({ path: ':memory:' })
  stores.push(store)
  const blobs = createMemoryBlobStore()
  const ledger = createLedger(store)
  const clock = { now: () => 1_000 }
  const leases = createLeaseTable({ clock, leaseMs: 60_000 })
  const publication = createJobPublication(store)
  const counters = createCoordinatorCounters()
  const book = createJobBook({
    store,
    blobs,
    ledger,
    leases,
    queue: jobQueue,
    publication,
    provisional: createProvisionalRows({ store, publication }),
    counters,
    clock,
    log: silentLogger,
    parts: createJobParts(),
    holders: createProviderIndex(),
    verdicts: { decide() {} },
    histories: createJobHistories(),
  })
  let jobs = 0

  /** A 4x4 matmul in 2x2 tiles (4 tasks), stored and escrowed like a submit, not activated. */
  function storeJob(budget = 100n): StoredJob {
    const a = blobs.put(tensorBytes(Float32Array.from({ length: 8 }, (_, i) => i))).hash
    const b = blobs.put(tensorBytes(Float32Array.from({ length: 8 }, (_, i) => 1 - i))).hash
    const row: StoredJob = {
      id: `job-${++jobs}`,
      seq: 0,
      owner: 'owner',
      spec: {
        kernel: 'matmul',
        inputs: {
          a: { blob: a, dtype: 'float32', shape: [4, 2] },
          b: { blob: b, dtype: 'float32', shape: [2, 4] },
        },
      },
      kernel: 'matmul',
      status: 'running',
      priority: 1,
      tileRows: 2,
      tileCols: 2,
      totalTasks: 4,
      acceptedTasks: 0,
      rejectedResults: 0,
      taskCredits: 5n,
      budget,
      spent: 0n,
      refunded: 0n,
      createdAt: 1_000,
    }
    store.transaction(() => {
      ledger.grant('owner', budget, 1_000)
      expect(ledger.escrow('owner', row.id, budget, 1_000)).toBe(true)
      store.insertJob(row)
    })
    return row
  }

  /** Takes task `index` off the queue and leases it to `peerId`, as the scheduler and grant do. */
  function lease(job: JobRuntime, index: number, peerId: string) {
    const task = job.tasks[index]!
    if (task.queued) {
      task.queued = false
      job.ready.splice(job.ready.indexOf(index, job.head), 1)
    }
    const issued = leases.issue({
      taskId: `t${index}`,
      jobId: job.row.id,
      taskIndex: index,
      peerId,
      canary: false,
    })
    task.leases.add(issued.id)
    job.leased++
    return issued.id
  }

  /** The task indices waiting in the job's queue, in order. */
  const queued = (job: JobRuntime) => job.ready.slice(job.head).filter((i) => job.tasks[i]!.queued)

  return { store, ledger, leases, publication, counters, book, storeJob, lease, queued }
}

function contributor(peerId: string, banned = false): Contributor {
  return {
    peerId,
    payee: `peer:${peerId}`,
    gflops: 20,
    record: { id: peerId, payee: `peer:${peerId}`, verified: 0, faults: 2, banned, lastSeen: 0 },
  }
}

describe('job book', () => {
  it('activates a stored job with its unaccepted tasks queued, its accepted ones not', () => {
    const { book, storeJob, queued, store } = setup()
    const row = storeJob()
    store.insertResult({
      jobId: row.id,
      taskIndex: 2,
      taskId: 't2',
      leaseId: 'l2',
      payee: 'peer:p',
      peerId: 'p',
      outputs: [],
      method: 'trusted',
      acceptedAt: 1_000,
      provisional: true,
    })
    const job = book.activate(row, [0, 2])
    expect(book.running.get(row.id)).toBe(job)
    expect(job.tasks.map((t) => t.accepted)).toEqual([true, false, true, false])
    expect(job.tasks.map((t) => t.queued)).toEqual([false, true, false, true])
    // In the lease order (diagonal waves: tiles 0 and 3, then 1 and 2), accepted ones left out.
    expect(queued(job)).toEqual([3, 1])
    expect(job.inputs.kind === 'matmul' && job.inputs.tiles.length).toBe(4)
    // Its provisional acceptances are read back from the store.
    expect([...job.provisional.keys()]).toEqual([2])

    // A second job starts level with the least-served one.
    job.pass = 7
    expect(book.activate(storeJob(), []).pass).toBe(7)
  })

  it('refuses to activate a job whose input blobs are missing', () => {
    const { book, storeJob } = setup()
    const row = storeJob()
    const missing = { ...row, id: 'gone', spec: { ...row.spec } } as StoredJob
    if (missing.spec.kernel === 'matmul')
      missing.spec = {
        ...missing.spec,
        inputs: { ...missing.spec.inputs, a: { ...missing.spec.inputs.a, blob: 'f'.repeat(64) } },
      }
    expect(() => book.activate(missing, [])).toThrow(/no blob/)
    expect(book.running.has('gone')).toBe(false)
  })

  it('finishes a job: settles, drops its leases without requeueing, and publishes its end once', async () => {
    const { book, storeJob, lease, leases, ledger, store, publication, counters, queued } = setup()
    const job = book.activate(storeJob(100n), [])
    lease(job, 1, 'p1')
    lease(job, 2, 'p2')
    const other = book.activate(storeJob(100n), [])
    const kept = lease(other, 0, 'p1')
    store.transaction(() => {
      job.row.spent += ledger.pay(job.row.id, 'peer:p1', 5n, 1_000, 'pay:x')
      job.payees.add('peer:p1')
    })
    const events: JobEvent[] = []
    job.listeners.add((event) => events.push(event))

    book.finish(job, 'cancelled')

    expect(book.running.has(job.row.id)).toBe(false)
    expect(book.running.has(other.row.id)).toBe(true)
    expect(job.tasks.every((t) => t.leases.size === 0)).toBe(true)
    expect(job.leased).toBe(0)
    expect(leases.ids()).toEqual([kept])
    expect(queued(job)).toEqual([0, 3])
    expect(store.getJob(job.row.id)).toMatchObject({ status: 'cancelled', refunded: 95n })
    expect(ledger.escrowed(job.row.id)).toBe(0n)
    expect(ledger.earned('peer:p1')).toBe(5n)
    expect(ledger.pending('peer:p1')).toBe(0n)
    expect(ledger.balance('owner')).toBe(95n)
    expect(counters.creditsRefunded).toBe(95n)
    // Readers see it running until the end is committed; listeners hear it once, then go.
    expect(publication.ending(job.row.id)).toBe(job)
    expect(events).toEqual([])
    await publication.settled(job)
    expect(events.map((e) => e.type)).toEqual(['cancelled'])
    expect(publication.ending(job.row.id)).toBeUndefined()
    expect(job.listeners.size).toBe(0)
  })

  it('expels banned contributors: their leases and replicas go, their tasks are queued again', () => {
    const { book, storeJob, lease, leases, queued } = setup()
    const job = book.activate(storeJob(), [])
    const second = book.activate(storeJob(), [])
    lease(job, 0, 'bad')
    lease(job, 1, 'good')
    lease(job, 2, 'good')
    lease(second, 3, 'bad')
    for (const i of [2, 3]) {
      const task = job.tasks[i]!
      if (task.queued) {
        task.queued = false
        job.ready.splice(job.ready.indexOf(i, job.head), 1)
      }
    }
    const outputs: never[] = []
    job.tasks[2]!.replicas = [
      { leaseId: 'r1', peerId: 'bad', payee: 'peer:bad', outputs },
      { leaseId: 'r2', peerId: 'other', payee: 'peer:other', outputs },
    ]
    job.tasks[3]!.replicas = [{ leaseId: 'r3', peerId: 'other', payee: 'peer:other', outputs }]
    expect(queued(job)).toEqual([])
    expect(queued(second)).toEqual([0, 1, 2])

    book.expel([contributor('bad', true)])

    expect(leases.heldBy('bad')).toEqual([])
    expect(leases.heldBy('good')).toHaveLength(2)
    expect(job.tasks[0]!.leases.size).toBe(0)
    expect(job.leased).toBe(2)
    expect(second.leased).toBe(0)
    expect(job.tasks[2]!.replicas.map((r) => r.peerId)).toEqual(['other'])
    expect(job.tasks[3]!.replicas.map((r) => r.peerId)).toEqual(['other'])
    // Leases first, then replicas; task 2 is still leased by `good`, yet its replica slot is
    // open again; task 1 and 3 lost nothing.
    expect(queued(job)).toEqual([0, 2])
    expect(queued(second)).toEqual([0, 1, 2, 3])

    // Nobody banned: nothing moves.
    book.expel([])
    expect(queued(job)).toEqual([0, 2])
  })

  it('never queues a task twice, nor an accepted one, nor one of an ended job', () => {
    const { book, storeJob, lease, queued } = setup()
    const job = book.activate(storeJob(), [3])
    const task = job.tasks[0]!
    book.requeue(job, task)
    book.requeue(job, task)
    expect(queued(job)).toEqual([0, 1, 2])

    // Two leases on one task (a speculative duplicate): it goes back once, with the last.
    const first = lease(job, 0, 'p1')
    const duplicate = lease(job, 0, 'p2')
    expect(queued(job)).toEqual([1, 2])
    book.dropLease(first)
    expect(queued(job)).toEqual([1, 2])
    book.dropLease(duplicate)
    book.dropLease(duplicate)
    book.requeue(job, task)
    expect(queued(job)).toEqual([1, 2, 0])
    expect(job.leased).toBe(0)

    // Released: at the front; a result: not at all.
    const released = lease(job, 2, 'p1')
    book.dropLease(released, 'front')
    expect(queued(job)).toEqual([2, 1, 0])
    const answered = lease(job, 1, 'p1')
    book.dropLease(answered, false)
    expect(queued(job)).toEqual([2, 0])

    book.requeue(job, job.tasks[3]!)
    expect(queued(job)).toEqual([2, 0])

    book.finish(job, 'failed', 'test')
    book.requeue(job, job.tasks[1]!)
    expect(job.tasks[1]!.queued).toBe(false)
    expect(queued(job)).toEqual([2, 0])
  })

  it('fails deadlines that passed, and returns a faulted payee’s pending credit to running jobs', () => {
    const { book, storeJob, ledger, store } = setup()
    const late = book.activate({ ...storeJob(), deadline: 1_000 }, [])
    const job = book.activate(storeJob(), [])
    store.transaction(() => {
      job.row.spent += ledger.pay(job.row.id, 'peer:p1', 5n, 1_000, 'pay:y')
      job.payees.add('peer:p1')
    })
    expect(book.enforceDeadlines()).toBe(1)
    expect(late.row.status).toBe('failed')
    expect(book.running.has(job.row.id)).toBe(true)

    store.transaction(() => book.forfeit('peer:p1', 1_000))
    expect(job.row.spent).toBe(0n)
    expect(store.getJob(job.row.id)?.spent).toBe(0n)
    expect(ledger.escrowed(job.row.id)).toBe(100n)
  })

  it('resumes the jobs stored as running, and fails with a refund one whose inputs are gone', () => {
    const { book, storeJob, store, ledger } = setup()
    const kept = storeJob()
    const stored = storeJob()
    // Another job whose blob B is gone (pruned, say), stored and escrowed as it was submitted.
    const broken: StoredJob = {
      ...stored,
      id: 'broken',
      spec:
        stored.spec.kernel === 'matmul'
          ? {
              ...stored.spec,
              inputs: {
                ...stored.spec.inputs,
                b: { ...stored.spec.inputs.b, blob: '0'.repeat(64) },
              },
            }
          : stored.spec,
    }
    store.transaction(() => {
      ledger.grant('owner', 100n, 1_000)
      ledger.escrow('owner', 'broken', 100n, 1_000)
      store.insertJob(broken)
    })
    book.resume()
    expect([...book.running.keys()].sort()).toEqual([kept.id, stored.id])
    expect(store.getJob('broken')).toMatchObject({ status: 'failed', refunded: 100n })
    expect(store.getJob('broken')?.error).toMatch(/cannot resume after a restart/)
    expect(ledger.escrowed('broken')).toBe(0n)
  })
})
