import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PostgresServer, startPostgresServer } from '@tabswarm/relay'
import { createClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * The operator's cluster as the README shows it: three `tabswarm start --database …`
 * processes on one PostgreSQL and one shared blob directory, a headless worker on one of
 * them, a researcher on another.
 */
describe('tabswarm start --database: three relays on one PostgreSQL', () => {
  let server: PostgresServer
  let blobDir: string
  let relays: TabswarmProcess[] = []
  let worker: WorkerProcess | undefined

  beforeAll(async () => {
    server = await startPostgresServer()
    const url = await server.createDatabase()
    blobDir = mkdtempSync(join(tmpdir(), 'cluster-relay-blobs-'))
    for (let i = 0; i < 3; i++)
      relays.push(
        await startTabswarmProcess({
          env: { TABSWARM_DATABASE_URL: url, TABSWARM_BLOB_DIR: blobDir },
        }),
      )
  })
  afterAll(async () => {
    await worker?.interrupt(10_000)
    await Promise.all(relays.map((r) => r.stop()))
    relays = []
    await server?.stop()
    if (blobDir) rmSync(blobDir, { recursive: true, force: true })
  })

  it('each relay lists the others for tabs to fail over to', async () => {
    const [a] = relays
    const deadline = Date.now() + 15_000
    let listed: unknown[] = []
    while (Date.now() < deadline) {
      const body = (await (await fetch(`${a!.url}/v1/swarm`)).json()) as { relays?: unknown[] }
      listed = body.relays ?? []
      if (listed.length === 3) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(listed).toHaveLength(3)
  })

  it('a job submitted to a relay with no contributors runs on the one whose worker is idle, is cancelled through a third, and read from any', async () => {
    const [a, b, c] = relays as [TabswarmProcess, TabswarmProcess, TabswarmProcess]
    const atA = createClient({ relay: a.url })
    const atB = createClient({ relay: b.url })
    // One to cancel through B while A owns it: the cancel goes to A through the database.
    const doomed = await atA.submit({
      kernel: 'matmul',
      inputs: {
        a: await atA.uploadTensor({ shape: [16, 16], data: randomMatrix(16, 16, 3) }),
        b: await atA.uploadTensor({ shape: [16, 16], data: randomMatrix(16, 16, 4) }),
      },
    })
    const cancelled = await atB.cancel(doomed.id)
    expect(cancelled.status).toBe('cancelled')
    expect((await atA.getJob(doomed.id)).status).toBe('cancelled')

    worker = startWorkerProcess(c.url)
    const [m, k, n] = [96, 64, 80]
    const ma = randomMatrix(m, k, 41)
    const mb = randomMatrix(k, n, 42)
    const job = await atA.submit({
      kernel: 'matmul',
      inputs: {
        a: await atA.uploadTensor({ shape: [m, k], data: ma }),
        b: await atA.uploadTensor({ shape: [k, n], data: mb }),
      },
    })
    // Read on B, which never ran it: from the database.
    expect((await atB.getJob(job.id)).status).toBe('running')
    const deadline = Date.now() + 90_000
    let status = 'running'
    while (status === 'running' && Date.now() < deadline) {
      status = (await atB.getJob(job.id)).status
      if (status === 'running') await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(status, `job on relay A, worker on relay C: ${worker.stderr().slice(-2000)}`).toBe(
      'completed',
    )
    const product = await atB.matmulOutput(job.id)
    expect(productMismatch(product.data, ma, mb, m, k, n)).toBeUndefined()
    // C's worker ran it: A offered its tasks as soon as C said its contributor wanted work
    // (A hands the whole job back only after 10 s without contributors of its own).
    expect(a.logs()).toMatch(/offering tasks to other relays/)
    expect(c.logs()).toMatch(/running tasks another relay offered/)

    // The public figures on A, which ran nothing: the cluster's, from the database and the
    // relays' heartbeats (C's worker is the one contributor online).
    const statsDeadline = Date.now() + 20_000
    let stats: {
      contributors: { online: number }
      compute: { tasks: number }
      jobs: { byStatus: Record<string, number> }
      credits: { paid: string }
    }
    for (;;) {
      stats = (await (await fetch(`${a.url}/v1/stats`)).json()) as typeof stats
      if (stats.contributors.online === 1 && stats.jobs.byStatus.completed === 1) break
      if (Date.now() > statsDeadline) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(stats).toMatchObject({
      contributors: { online: 1 },
      jobs: { byStatus: { completed: 1, cancelled: 1, running: 0 } },
    })
    expect(stats.compute.tasks).toBeGreaterThan(0)
    expect(BigInt(stats.credits.paid)).toBeGreaterThan(0n)
  })
})
