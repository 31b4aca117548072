import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PostgresServer, startPostgresServer } from '@tabswarm/relay'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type CoordinatorChild,
  clusterJobFacts,
  doubleAssignments,
  startCoordinatorChild,
  waitForJobEnd,
} from '../support/cluster-coordinators.ts'

/**
 * Three relay/coordinators (separate processes) on one real PostgreSQL, each with simulated
 * contributors. A job runs on the coordinator that owns it; when that one dies, or loses
 * the database for longer than its lease, another takes the job over from the database
 * and finishes it. Checked each time: every result right, no task leased by two
 * coordinators at once, each task paid once, the ledger summing to zero.
 */
const LEASE_MS = 2_000
const RENEW_MS = 400

let server: PostgresServer
let blobDir: string
let children: CoordinatorChild[] = []

beforeAll(async () => {
  server = await startPostgresServer()
  blobDir = mkdtempSync(join(tmpdir(), 'cluster-blobs-'))
})
afterEach(async () => {
  await Promise.all(children.map((c) => c.stop(10_000)))
  children = []
})
afterAll(async () => {
  await server?.stop()
  if (blobDir) rmSync(blobDir, { recursive: true, force: true })
})

async function threeCoordinators(url: string): Promise<CoordinatorChild[]> {
  children = await Promise.all(
    ['a', 'b', 'c'].map((name) =>
      startCoordinatorChild(name, {
        url,
        blobDir,
        workers: 8,
        leaseMs: LEASE_MS,
        renewMs: RENEW_MS,
      }),
    ),
  )
  return children
}

async function acceptedSoFar(url: string, jobId: string): Promise<number> {
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  try {
    const row = (await db.query('SELECT accepted_tasks FROM jobs WHERE id = $1', [jobId])).rows[0]
    return Number(row?.accepted_tasks ?? 0)
  } finally {
    await db.end()
  }
}

async function untilAccepted(url: string, jobId: string, atLeast: number): Promise<number> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const accepted = await acceptedSoFar(url, jobId)
    if (accepted >= atLeast) return accepted
    if (Date.now() > deadline)
      throw new Error(`job ${jobId}: ${accepted} tasks accepted after 60 s, waiting for ${atLeast}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function expectSettledRight(url: string, jobId: string, checker: CoordinatorChild) {
  const facts = await clusterJobFacts(url, jobId)
  expect(facts).toMatchObject({
    status: 'completed',
    acceptedTasks: 2_000,
    totalTasks: 2_000,
    results: 2_000,
    distinctTasks: 2_000,
    // One payment per task: none lost with a dead coordinator, none made twice.
    pays: 2_000,
    ledgerSum: 0n,
    escrowLeft: 0n,
  })
  // Read back through a relay's API from the database, and checked against the CPU product.
  checker.send({ cmd: 'output', job: jobId, rows: 40, cols: 50 })
  const output = await checker.waitFor((e) => e.event === 'output' && e.job === jobId, 'the output')
  expect(output).toMatchObject({ ok: true, wrong: 0 })
}

describe('several coordinators on one PostgreSQL', () => {
  it('three coordinators: a 2,000-task job completes on the contributors of all three, every result right, nothing leased twice at once, the ledger sums to zero', async () => {
    const url = await server.createDatabase()
    const [a, b, c] = await threeCoordinators(url)
    a!.send({ cmd: 'submit', rows: 40, cols: 50 })
    const job = String((await a!.waitFor((e) => e.event === 'submitted', 'its job')).job)
    for (const child of children) child.send({ cmd: 'work' })
    expect(await waitForJobEnd(url, job, 120_000)).toBe('completed')
    await expectSettledRight(url, job, c!)
    // Its owner records it, but contributors of every relay ran its tasks: the others
    // claimed them from the owner's offers.
    for (const other of [b!, c!])
      expect(other.leases.filter(([j]) => j === job).length).toBeGreaterThan(0)
    expect(doubleAssignments(children)).toBe(0)
  })

  it('SIGKILL of the owner mid-job: another takes the job over within the lease and completes it, nothing lost or paid twice', async () => {
    const url = await server.createDatabase()
    const [a, b, c] = await threeCoordinators(url)
    a!.send({ cmd: 'submit', rows: 40, cols: 50 })
    const job = String((await a!.waitFor((e) => e.event === 'submitted', 'its job')).job)
    for (const child of children) child.send({ cmd: 'work' })
    const before = await untilAccepted(url, job, 400)
    const killedAt = Date.now()
    a!.kill()
    const taken = await Promise.race(
      [b!, c!].map((x) =>
        x.waitFor((e) => e.event === 'taken' && e.job === job, 'the takeover', 30_000),
      ),
    )
    const takeoverMs = Number(taken.at) - killedAt
    expect(takeoverMs).toBeLessThan(LEASE_MS + 2 * RENEW_MS + 1_500)
    expect(before).toBeLessThan(2_000)
    expect(await waitForJobEnd(url, job, 120_000)).toBe('completed')
    await expectSettledRight(url, job, b!)
    expect(doubleAssignments(children, new Map([['a', killedAt]]))).toBe(0)
  })

  it('the database stopped past the lease and started again: the coordinators recover, and the job completes paid once', async () => {
    const url = await server.createDatabase()
    const [a, b] = await threeCoordinators(url)
    a!.send({ cmd: 'submit', rows: 40, cols: 50 })
    const job = String((await a!.waitFor((e) => e.event === 'submitted', 'its job')).job)
    for (const child of children) child.send({ cmd: 'work' })
    await untilAccepted(url, job, 300)
    await server.pause()
    // Longer than a lease: every coordinator must assume it lost what it owned.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 1_000))
    await server.resume()
    expect(await waitForJobEnd(url, job, 120_000)).toBe('completed')
    await expectSettledRight(url, job, b!)
    expect(doubleAssignments(children)).toBe(0)
  })
})
