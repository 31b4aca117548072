import { createClient, type TabswarmClient } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/**
 * A task's kernel deadline comes from its lease (`kernelDeadlineMs`: 6 s of an 8 s lease,
 * the rest left to report it): short, so the endless kernel times out in seconds,
 * yet long enough for the next task to wait out the replacement kernel process's start
 * (Node plus a dawn device: about 1 s, up to 5 s measured on a loaded 2-core machine).
 */
const LEASE_MS = 8_000
/**
 * The worker's drain bound (`--drain`, seconds), shorter than the kernel's deadline: SIGTERM
 * with the endless kernel in flight must end the process within it.
 */
const DRAIN_S = 1

/** A loop the compiler cannot prove finite: it ends only on an input nobody sends. */
const FOREVER_WGSL = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() {
  var i = 0u;
  loop { i = i + 1u; if (x[0] < -1.0) { break; } y[0] = f32(i); }
}`

/**
 * Issue 9, defect 2, end to end: a researcher's endless kernel on the only headless worker
 * of a real relay. Before the fix the worker kept its wedged dawn device: every later task
 * timed out, a core stayed busy, and SIGTERM did not end the process.
 */
describe('a hostile kernel on a headless worker', () => {
  let system: TabswarmProcess
  let client: TabswarmClient
  let worker: WorkerProcess | undefined

  beforeAll(async () => {
    system = await startTabswarmProcess({ env: { TABSWARM_LEASE_MS: String(LEASE_MS) } })
    client = createClient({ relay: system.url })
  })
  afterAll(async () => {
    await worker?.interrupt(10_000)
    await system?.stop()
  })

  it('times the kernel out, runs the next innocent matmul at once, and exits on SIGTERM mid-kernel within the drain bound', async () => {
    const w = startWorkerProcess(system.url, ['--drain', String(DRAIN_S)])
    worker = w
    await w.waitFor((e) => e.type === 'connected', 120_000)
    const input = await client.uploadTensor({ shape: [1], data: new Float32Array(1) })
    const submitForever = () =>
      client.submit({
        kernel: 'custom',
        name: 'forever',
        program: {
          wgsl: FOREVER_WGSL,
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: [
          { inputs: [input], outputs: [{ shape: [1], dtype: 'float32' }], workgroups: [1, 1, 1] },
        ],
        verification: { replication: 1, spotCheck: 0, canaries: 0 },
      })
    const hostile = await submitForever()
    const failed = await w.waitFor((e) => e.type === 'task-failed', 60_000)
    expect(String(failed.error)).toMatch(/deadline/)

    // The innocent product: 4 ms on a healthy worker, KERNEL_TIMEOUT forever after
    // the endless kernel before the fix.
    const [m, k, n] = [64, 48, 40]
    const a = randomMatrix(m, k, 31)
    const b = randomMatrix(k, n, 32)
    const started = performance.now()
    const c = await client
      .matmul({ shape: [m, k], data: a }, { shape: [k, n], data: b }, { timeoutMs: 60_000 })
      .catch((err: unknown) => {
        throw new Error(`${err}; worker events: ${JSON.stringify(w.events)}\n${w.stderr()}`)
      })
    console.info(
      `innocent matmul after the endless kernel: ${Math.round(performance.now() - started)} ms`,
    )
    expect(productMismatch(c.data, a, b, m, k, n)).toBeUndefined()
    const afterHostile = w.events.filter((e) => e.type === 'task-failed')
    expect(afterHostile).toHaveLength(1)
    await client.cancel(hostile.id)

    // Another endless kernel in flight, then SIGTERM: a drain that outlasts its bound hands
    // the task back and exits; the wedged device is in a process that is killed, not waited on.
    const again = await submitForever()
    await w.waitFor((e) => e.type === 'task-started' && e.jobId === again.id, 60_000)
    const stopping = performance.now()
    w.process.kill('SIGTERM')
    const code = await Promise.race([
      w.exited,
      new Promise<'still running'>((resolve) =>
        setTimeout(() => resolve('still running'), (DRAIN_S + 10) * 1000),
      ),
    ])
    expect(code, w.stderr()).toBe(0)
    console.info(`worker exited ${Math.round(performance.now() - stopping)} ms after SIGTERM`)
    expect(w.events).toContainEqual(expect.objectContaining({ type: 'task-released' }))
    await client.cancel(again.id)
  })
})
