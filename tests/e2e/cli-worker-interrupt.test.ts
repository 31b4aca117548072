import { createClient, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { spinJob } from '../support/spin-job.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * A task of seconds, so that Ctrl-C lands while it runs (on a GPU much faster than
 * SwiftShader, set TABSWARM_TEST_SPIN_NS: see spin-job.ts).
 */
const TASK_MS = 2_800
/** A lease far longer than the test may take: only a hand-back can free the task in time. */
const LEASE_MS = 180_000

/** Ctrl-C on `tabswarm worker` with a task in flight, against a real relay and dawn. */
describe('tabswarm worker interrupted mid-task', () => {
  let system: TabswarmProcess
  let client: TabswarmClient
  const workers: WorkerProcess[] = []

  beforeAll(async () => {
    system = await startTabswarmProcess({ env: { TABSWARM_LEASE_MS: String(LEASE_MS) } })
    client = createClient({ relay: system.url })
  })
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.interrupt(10_000)))
    await system?.stop()
  })

  const submitSpin = async () => client.submit(await spinJob(client, { ms: TASK_MS }))

  function worker(extraArgs: string[] = []) {
    const w = startWorkerProcess(system.url, extraArgs)
    workers.push(w)
    return w
  }

  it('finishes the task in flight, reports it and exits 0 with a summary', async () => {
    const w = worker()
    await w.waitFor((e) => e.type === 'connected')
    const job = await submitSpin()
    const started = await w.waitFor((e) => e.type === 'task-started' && e.jobId === job.id)
    const code = await w.interrupt(120_000)
    expect(code, w.stderr()).toBe(0)

    const types = w.events.map((e) => e.type)
    // The drain began while the task was running, and the task was finished after it.
    expect(w.events).toContainEqual({ type: 'draining', taskId: started.taskId })
    expect(types.indexOf('draining')).toBeLessThan(types.indexOf('task-finished'))
    expect(w.events.find((e) => e.type === 'task-finished')).toMatchObject({
      taskId: started.taskId,
      outcome: 'accepted',
    })
    expect(types).not.toContain('task-released')
    expect(w.events.at(-1)).toMatchObject({ type: 'summary', tasks: 1, accepted: 1, released: 0 })
    expect(await job.wait({ timeoutMs: 10_000 })).toMatchObject({ status: 'completed' })
  })

  it('a second Ctrl-C hands the lease back; another worker completes the job at once', async () => {
    const first = worker()
    await first.waitFor((e) => e.type === 'connected')
    const job = await submitSpin()
    const started = await first.waitFor((e) => e.type === 'task-started' && e.jobId === job.id)
    first.process.kill('SIGINT')
    await first.waitFor((e) => e.type === 'draining')
    first.process.kill('SIGINT')
    expect(await first.exited, first.stderr()).toBe(0)
    expect(first.events).toContainEqual({
      type: 'task-released',
      taskId: started.taskId,
      reason: 'stopped',
    })
    expect(first.events.map((e) => e.type)).not.toContain('task-finished')
    expect(first.events.at(-1)).toMatchObject({ type: 'summary', tasks: 0, released: 1 })

    // The released task is leased again at once, not after the 3-minute lease: the second
    // worker (stopping by itself after one task) computes it well inside that.
    const handedBackAt = performance.now()
    const second = worker(['--max-tasks', '1'])
    const done = await job.wait({ timeoutMs: 120_000 })
    expect(done.status).toBe('completed')
    expect(performance.now() - handedBackAt).toBeLessThan(LEASE_MS / 2)
    expect(await second.exited, second.stderr()).toBe(0)
    expect(second.events.find((e) => e.type === 'task-finished')).toMatchObject({
      taskId: started.taskId,
      outcome: 'accepted',
    })
    expect(second.events.at(-1)).toMatchObject({ type: 'summary', tasks: 1, accepted: 1 })
  })
})
