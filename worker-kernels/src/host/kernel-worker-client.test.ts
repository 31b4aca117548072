import { describe, expect, it } from 'vitest'
import { KernelAbortedError, KernelShapeError, KernelTimeoutError } from '../errors.ts'
import type { HostInfo, KernelWorkerCallOptions } from './kernel-types.ts'
import { createKernelWorkerClient, type KernelWorkerRemote } from './kernel-worker-client.ts'

// The page's side against a fake worker: one that never answers (dead or terminated),
// one that answers, and one that records cancellations.

type FakeWorker = KernelWorkerRemote & {
  calls: KernelWorkerCallOptions[]
  cancelled: string[]
}

function fakeWorker(answer: (options: KernelWorkerCallOptions) => Promise<unknown>): FakeWorker {
  const fake: FakeWorker = {
    calls: [],
    cancelled: [],
    init: () => Promise.resolve({ vendor: 'fake' } as HostInfo),
    run(_request, options = {}) {
      fake.calls.push(options)
      return answer(options)
    },
    async cancel(callId) {
      fake.cancelled.push(callId)
      return true
    },
    setDeviceLostListener: () => Promise.resolve(),
  }
  return fake
}

const never = (): Promise<never> => new Promise<never>(() => {})
const one = Float32Array.of(1)
const tiny = { kernel: 'matmul' as const, a: one, b: one, m: 1, k: 1, n: 1 }

describe('createKernelWorkerClient', () => {
  it('gives up on a worker that never answers, past its deadline plus the grace period', async () => {
    const worker = fakeWorker(never)
    const client = createKernelWorkerClient({ remote: worker, graceMs: 20 })
    const started = performance.now()
    const err = await client.run(tiny, { timeoutMs: 30 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelTimeoutError)
    expect((err as Error).message).toMatch(/did not answer a matmul call within 50 ms/)
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    // The worker is told to drop the call too, in case it is merely slow.
    expect(worker.cancelled).toEqual([worker.calls[0]?.callId])
    expect(client.pending).toBe(0)
  })

  it('sends the deadline and a unique call id to the worker and returns its answer', async () => {
    const worker = fakeWorker(async () => Float32Array.of(7))
    const client = createKernelWorkerClient({ remote: worker })
    const c = await client.run(tiny, { timeoutMs: 1_000 })
    await client.run(tiny)
    expect(c).toBeInstanceOf(Float32Array)
    expect(worker.calls[0]?.timeoutMs).toBe(1_000)
    expect(worker.calls[1]?.timeoutMs).toBe(60_000)
    expect(worker.calls[0]?.callId).not.toBe(worker.calls[1]?.callId)
    expect(worker.cancelled).toEqual([])
  })

  it('an abort rejects at once and cancels the call in the worker', async () => {
    const worker = fakeWorker(never)
    const client = createKernelWorkerClient({ remote: worker })
    const controller = new AbortController()
    const run = client.run(tiny, { signal: controller.signal })
    controller.abort()
    await expect(run).rejects.toThrow(KernelAbortedError)
    expect(worker.cancelled).toEqual([worker.calls[0]?.callId])
    const timedOut = client.run(tiny, { signal: AbortSignal.timeout(5) })
    await expect(timedOut).rejects.toThrow(KernelTimeoutError)
  })

  it('timeoutMs Infinity gives up on nothing but the signal, and a worker error cancels nothing', async () => {
    const worker = fakeWorker(never)
    const client = createKernelWorkerClient({ remote: worker, graceMs: 0 })
    const controller = new AbortController()
    const run = client.run(tiny, { timeoutMs: Infinity, signal: controller.signal })
    run.catch(() => {})
    // A timer given Infinity (plus the grace period) fires after about 1 ms; 50 ms shows none.
    const early = await Promise.race([
      run.then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 50)),
    ])
    expect(early).toBe('pending')
    expect(worker.calls[0]?.timeoutMs).toBe(Infinity)
    controller.abort()
    await expect(run).rejects.toThrow(KernelAbortedError)

    const failing = fakeWorker(() => Promise.reject(new KernelShapeError('bad shape')))
    const other = createKernelWorkerClient({ remote: failing })
    await expect(other.run(tiny)).rejects.toThrow(KernelShapeError)
    expect(failing.cancelled).toEqual([])
    expect(other.pending).toBe(0)
  })

  it('an already-aborted signal sends nothing to the worker', async () => {
    const worker = fakeWorker(never)
    const client = createKernelWorkerClient({ remote: worker })
    await expect(client.run(tiny, { signal: AbortSignal.abort() })).rejects.toThrow(
      KernelAbortedError,
    )
    expect(worker.calls).toEqual([])
    expect(client.pending).toBe(0)
  })

  it('close() rejects pending and later calls, for a terminated worker', async () => {
    const client = createKernelWorkerClient({ remote: fakeWorker(never) })
    const run = client.run(tiny, { timeoutMs: Number.POSITIVE_INFINITY })
    expect(client.pending).toBe(1)
    client.close()
    await expect(run).rejects.toThrow(KernelAbortedError)
    await expect(client.run(tiny)).rejects.toThrow(/closed/)
  })

  it('passes worker errors through and rejects a bad timeoutMs before sending anything', async () => {
    const worker = fakeWorker(() => Promise.reject(new KernelShapeError('bad shape')))
    const client = createKernelWorkerClient({ remote: worker })
    await expect(client.run(tiny)).rejects.toThrow(KernelShapeError)
    await expect(client.run(tiny, { timeoutMs: 2 ** 31 })).rejects.toThrow(RangeError)
    expect(worker.calls).toHaveLength(1)
  })
})
