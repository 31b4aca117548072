import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, encodeNpy, type JobView, parseNpy, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'
import { spinJob } from '../support/spin-job.ts'
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
    const summary = JSON.parse(matmul.stdout) as {
      job: string
      credits: { budget: string; spent: string; refunded: string }
    }
    expect(summary).toMatchObject({ output: out, shape: [m, n], dtype: 'float32' })
    // What the job cost, settled: the budget is spent or refunded, nothing else.
    expect(BigInt(summary.credits.spent)).toBeGreaterThan(0n)
    expect(BigInt(summary.credits.spent) + BigInt(summary.credits.refunded)).toBe(
      BigInt(summary.credits.budget),
    )
    const c = parseNpy(await readFile(out))
    expect(productMismatch(c.data as Float32Array, a, b, m, k, n)).toBeUndefined()

    const jobs = await runCli(['jobs', '--json', ...relay])
    expect(jobs.code, jobs.stderr).toBe(0)
    const listed = JSON.parse(jobs.stdout) as Array<{ id: string; status: string }>
    expect(listed.length).toBeGreaterThanOrEqual(2)
    expect(listed[0]!.id).toBe(summary.job)
    expect(listed.every((j) => j.status === 'completed')).toBe(true)

    const job = await runCli(['job', listed[0]!.id, '--json', ...relay])
    expect(job.code, job.stderr).toBe(0)
    expect(JSON.parse(job.stdout)).toMatchObject({ id: listed[0]!.id, status: 'completed' })

    const missing = await runCli(['job', 'no-such-job', ...relay])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('job --watch follows a job to its end; handle.progress() reports each state up to it', async () => {
    // Seconds of work for two workers (16 x 0.5 s): the CLI attaches well before the end, and the
    // states it prints prove it (a plain `job` on an ended job would print completed too).
    const job = await client.submit(await spinJob(client, { tasks: 16, ms: 525 }))
    const watching = runCli(['job', job.id, '--watch', '--json', '--relay', system.url])
    const states: JobView[] = []
    for await (const state of job.progress()) states.push(state)
    expect(states[0]!.status).toBe('running')
    expect(states.at(-1)).toMatchObject({ status: 'completed', tasks: { accepted: 16, total: 16 } })
    const accepted = states.map((state) => state.tasks.accepted)
    expect(accepted).toEqual([...accepted].sort((x, y) => x - y))
    expect(new Set(accepted).size).toBeGreaterThan(2)
    const watched = await watching
    expect(watched.code, watched.stderr).toBe(0)
    // One line per state it saw: it attached while the job ran and followed it to the end.
    const lines = watched.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobView)
    expect(lines[0]).toMatchObject({ id: job.id, status: 'running' })
    expect(lines[0]!.tasks.accepted).toBeLessThan(16)
    expect(lines.at(-1)).toMatchObject({ id: job.id, status: 'completed' })
  })

  it('handle.cancel() part way: spent > 0, refunded = budget - spent, nothing accepted after', async () => {
    const job = await client.submit(await spinJob(client, { tasks: 40, ms: 700 }))
    for await (const state of job.progress()) if (state.tasks.accepted >= 2) break
    const marks = workers.map((w) => w.events.length)
    const cancelled = await job.cancel()
    expect(cancelled.status).toBe('cancelled')
    const [budget, spent, refunded] = [
      cancelled.credits.budget,
      cancelled.credits.spent,
      cancelled.credits.refunded,
    ].map(BigInt) as [bigint, bigint, bigint]
    expect(spent).toBeGreaterThan(0n)
    expect(refunded).toBe(budget - spent)
    expect(cancelled.tasks.accepted).toBeGreaterThanOrEqual(2)
    expect(cancelled.tasks.accepted).toBeLessThan(cancelled.tasks.total)
    // Each worker is idle again (no work left anywhere), so the task it had in flight at the
    // cancel has been reported: it ended stale, and nothing more was accepted or paid for.
    await Promise.all(
      workers.map((w, i) => w.waitFor((e, index) => index >= marks[i]! && e.type === 'idle')),
    )
    const staleAfter = workers.flatMap((w, i) =>
      w.events.slice(marks[i]).filter((e) => e.type === 'task-finished' && e.outcome === 'stale'),
    )
    expect(staleAfter.length).toBeGreaterThan(0)
    const later = await job.status()
    expect(later.tasks.accepted).toBe(cancelled.tasks.accepted)
    expect(later.credits).toEqual(cancelled.credits)
    await expect(job.wait()).rejects.toThrow(/cancelled/)
  })

  it('aborting an SDK call through its AbortSignal cancels the job it started', async () => {
    const [m, k, n] = [1024, 512, 1024]
    const stop = new AbortController()
    const product = client.matmul(
      { shape: [m, k], data: randomMatrix(m, k, 41) },
      { shape: [k, n], data: randomMatrix(k, n, 42) },
      { signal: stop.signal, onProgress: () => stop.abort(new Error('enough of that')) },
    )
    await expect(product).rejects.toThrow('enough of that')
    const [latest] = await client.listJobs({ limit: 1 })
    expect(latest).toMatchObject({ kernel: 'matmul', status: 'cancelled' })
    expect(latest!.tasks.accepted).toBeLessThan(latest!.tasks.total)
  })

  it('tabswarm cancel stops a job part way, and job <id> then exits 1', async () => {
    // Tens of seconds of work for two workers: the CLI starts well before it could end,
    // even on a loaded machine (a 64-tile matmul sometimes finished first).
    const job = await client.submit(await spinJob(client, { tasks: 40, ms: 700 }))
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

  it('an idle worker exits 0 on SIGINT with a summary of what it did', async () => {
    // (A task in flight during Ctrl-C: cli-worker-interrupt.test.ts.)
    const worker = workers[0]!
    const code = await worker.interrupt()
    expect(code).toBe(0)
    const summary = worker.events.find((e) => e.type === 'summary')
    expect(summary).toMatchObject({ type: 'summary', released: 0 })
    expect(summary!.tasks).toBeGreaterThan(0)
    // An honest worker is never rejected; the only other outcome here is stale (tiles of the
    // jobs cancelled above, finished after their cancel).
    const outcomes = worker.events.filter((e) => e.type === 'task-finished').map((e) => e.outcome)
    expect(outcomes).toContain('accepted')
    expect(outcomes.every((o) => o === 'accepted' || o === 'stale')).toBe(true)
    expect(summary!.accepted).toBe(outcomes.filter((o) => o === 'accepted').length)
  })
})
