import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, encodeNpy, parseNpy, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * The researcher's side against a real relay, with the GPU work done by real headless
 * workers (`tabswarm worker`, dawn in Node) instead of browser tabs.
 */
describe('the SDK and the CLI against a relay with headless workers', () => {
  let system: TabswarmProcess
  let workers: WorkerProcess[] = []
  let client: TabswarmClient
  let dir: string

  beforeAll(async () => {
    system = await startTabswarmProcess()
    client = createClient({ relay: system.url })
    workers = [startWorkerProcess(system.url), startWorkerProcess(system.url)]
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-sdk-'))
  })
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.interrupt(10_000)))
    await system?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('client.matmul returns the verified product of odd shapes, with progress', async () => {
    const [m, k, n] = [211, 157, 173]
    const a = randomMatrix(m, k, 11)
    const b = randomMatrix(k, n, 12)
    const seen: number[] = []
    const c = await client.matmul(
      { shape: [m, k], data: a },
      { shape: [k, n], data: b },
      { onProgress: (job) => seen.push(job.tasks.accepted), timeoutMs: 120_000 },
    )
    expect(c.shape).toEqual([m, n])
    expect(productMismatch(c.data, a, b, m, k, n)).toBeUndefined()
    expect(seen.at(-1)).toBeGreaterThan(0)
  })

  it('the CLI multiplies .npy files, then lists and shows the job as JSON', async () => {
    const [m, k, n] = [90, 64, 33]
    const a = randomMatrix(m, k, 21)
    const b = randomMatrix(k, n, 22)
    await writeFile(join(dir, 'a.npy'), encodeNpy({ dtype: 'float32', shape: [m, k], data: a }))
    await writeFile(join(dir, 'b.npy'), encodeNpy({ dtype: 'float32', shape: [k, n], data: b }))
    const relay = ['--relay', system.url]
    const out = join(dir, 'c.npy')
    const matmul = await runCli([
      'matmul',
      join(dir, 'a.npy'),
      join(dir, 'b.npy'),
      '-o',
      out,
      '--json',
      ...relay,
    ])
    expect(matmul.code, matmul.stderr).toBe(0)
    expect(JSON.parse(matmul.stdout)).toMatchObject({
      output: out,
      shape: [m, n],
      dtype: 'float32',
    })
    const c = parseNpy(await readFile(out))
    expect(productMismatch(c.data as Float32Array, a, b, m, k, n)).toBeUndefined()

    const jobs = await runCli(['jobs', '--json', ...relay])
    expect(jobs.code, jobs.stderr).toBe(0)
    const listed = JSON.parse(jobs.stdout) as Array<{ id: string; status: string }>
    expect(listed.length).toBeGreaterThanOrEqual(2)
    expect(listed.every((j) => j.status === 'completed')).toBe(true)

    const job = await runCli(['job', listed[0]!.id, '--json', ...relay])
    expect(job.code, job.stderr).toBe(0)
    expect(JSON.parse(job.stdout)).toMatchObject({ id: listed[0]!.id, status: 'completed' })

    const missing = await runCli(['job', 'no-such-job', ...relay])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('cancelling a job stops its tasks, and job <id> then exits 1', async () => {
    // Big enough that the workers cannot finish it before the cancel lands.
    const [m, k, n] = [1024, 512, 1024]
    const [refA, refB] = await Promise.all([
      client.uploadTensor({ shape: [m, k], data: randomMatrix(m, k, 31) }),
      client.uploadTensor({ shape: [k, n], data: randomMatrix(k, n, 32) }),
    ])
    const job = await client.submit({ kernel: 'matmul', inputs: { a: refA, b: refB } })
    const cancel = await runCli(['cancel', job.id, '--json', '--relay', system.url])
    expect(cancel.code, cancel.stderr).toBe(0)
    const cancelled = JSON.parse(cancel.stdout) as {
      status: string
      tasks: { accepted: number; total: number }
    }
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.tasks.accepted).toBeLessThan(cancelled.tasks.total)
    await expect(job.wait()).rejects.toThrow(/cancelled/)
    const shown = await runCli(['job', job.id, '--relay', system.url])
    expect(shown.code).toBe(1)
  })

  it('a worker drains on SIGINT: exits 0 with a summary of what it did', async () => {
    const worker = workers[0]!
    const code = await worker.interrupt()
    expect(code).toBe(0)
    const summary = worker.events.find((e) => e.type === 'summary')
    expect(summary).toMatchObject({ type: 'summary' })
    expect(summary!.tasks).toBeGreaterThan(0)
    // An honest worker is never rejected; results for the cancelled job come back stale.
    const outcomes = worker.events.filter((e) => e.type === 'task-finished').map((e) => e.outcome)
    expect(outcomes).toContain('accepted')
    expect(outcomes).not.toContain('rejected')
    expect(summary!.accepted).toBe(outcomes.filter((o) => o === 'accepted').length)
  })
})
