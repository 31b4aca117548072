import { describe, expect, it } from 'vitest'
import { KernelAbortedError, KernelTimeoutError, KernelWorkersWedgedError } from '../errors.ts'
import type { HostInfo } from './kernel-types.ts'
import type { KernelWorkerRemote } from './kernel-worker-client.ts'
import {
  createRespawningKernelWorker,
  DEFAULT_MAX_ABANDONED_WORKERS,
  type SpawnedWorker,
} from './respawning-kernel-worker.ts'

// The page's side against fake workers: the first one's device is wedged by an endless
// kernel (every call times out in the worker), the ones after it answer.

type Fake = SpawnedWorker & { index: number; terminated: boolean; inits: number }

function fakes(answer: (index: number) => Promise<unknown>) {
  const spawned: Fake[] = []
  const spawn = (): Fake => {
    const index = spawned.length
    const remote: KernelWorkerRemote = {
      init: async () => {
        fake.inits++
        return { vendor: `fake-${index}` } as HostInfo
      },
      run: () => answer(index),
      cancel: async () => true,
      setDeviceLostListener: async () => {},
    }
    const fake: Fake = {
      index,
      terminated: false,
      inits: 0,
      remote,
      terminate: () => {
        fake.terminated = true
      },
    }
    spawned.push(fake)
    return fake
  }
  return { spawned, spawn }
}

const wedgedFirst = (index: number) =>
  index === 0
    ? Promise.reject(new KernelTimeoutError('Kernel call exceeded its 30 ms deadline.'))
    : Promise.resolve(Float32Array.of(index))
const tiny = {
  kernel: 'matmul' as const,
  a: Float32Array.of(1),
  b: Float32Array.of(1),
  m: 1,
  k: 1,
  n: 1,
}
/** Every worker's device is wedged: each hostile task's call times out. */
const allWedged = () =>
  Promise.reject(new KernelTimeoutError('Kernel call exceeded its 30 ms deadline.'))

describe('createRespawningKernelWorker', () => {
  it('replaces a worker whose call timed out; the next call runs on the new one', async () => {
    const { spawned, spawn } = fakes(wedgedFirst)
    const reasons: string[] = []
    const kernels = createRespawningKernelWorker({ spawn, onRespawn: (r) => reasons.push(r) })
    await kernels.client.init()
    await expect(kernels.client.run(tiny, { timeoutMs: 30 })).rejects.toThrow(KernelTimeoutError)
    // Abandoned, not terminated: destroying its device would stall the GPU process.
    expect(spawned.map((w) => w.terminated)).toEqual([false, false])
    expect(reasons).toEqual([expect.stringMatching(/ran past its deadline/)])
    // The replacement acquired its device (and listener) without waiting for a call.
    expect(spawned[1]!.inits).toBe(1)
    expect(await kernels.client.run(tiny)).toEqual(Float32Array.of(1))
    expect(kernels.respawns).toBe(1)
  })

  it('replaces the worker when the page gives up on a call that never answers', async () => {
    const { spawned, spawn } = fakes((i) =>
      i === 0 ? new Promise(() => {}) : Promise.resolve(Float32Array.of(i)),
    )
    const kernels = createRespawningKernelWorker({ spawn, graceMs: 10, retire: 'terminate' })
    await expect(kernels.client.run(tiny, { timeoutMs: 20 })).rejects.toThrow(KernelTimeoutError)
    expect(spawned[0]!.terminated).toBe(true)
    expect(await kernels.client.run(tiny)).toEqual(Float32Array.of(1))
  })

  it('keeps the worker when the caller aborts, or on ordinary errors', async () => {
    const { spawned, spawn } = fakes((i) =>
      i === 0 ? new Promise(() => {}) : Promise.reject(new Error('bad shape')),
    )
    const failing = createRespawningKernelWorker({
      spawn: fakes(() => Promise.reject(new Error('bad shape'))).spawn,
    })
    await expect(failing.client.run(tiny)).rejects.toThrow('bad shape')
    expect(failing.respawns).toBe(0)
    const kernels = createRespawningKernelWorker({ spawn })
    const stop = new AbortController()
    const call = kernels.client.run(tiny, { signal: stop.signal })
    stop.abort()
    await expect(call).rejects.toThrow(KernelAbortedError)
    expect(spawned).toHaveLength(1)
  })

  it('terminate stops for good', async () => {
    const { spawned, spawn } = fakes(wedgedFirst)
    const kernels = createRespawningKernelWorker({ spawn })
    kernels.terminate()
    expect(spawned[0]!.terminated).toBe(true)
    await expect(kernels.client.run(tiny)).rejects.toThrow(KernelAbortedError)
    expect(spawned).toHaveLength(1)
  })

  it('leaves at most maxAbandoned workers running, then starts no more and says so once', async () => {
    const { spawned, spawn } = fakes(allWedged)
    const told: KernelWorkersWedgedError[] = []
    const reasons: string[] = []
    const kernels = createRespawningKernelWorker({
      spawn,
      onRespawn: (r) => reasons.push(r),
      onWedged: (err) => told.push(err),
    })
    await kernels.client.init()
    // The first hostile kernel: its worker is abandoned, a second one takes over.
    await expect(kernels.client.run(tiny)).rejects.toThrow(KernelTimeoutError)
    expect(spawned).toHaveLength(2)
    expect(told).toEqual([])
    // The second: its worker is abandoned too, and that is the cap; the call keeps its own error.
    await expect(kernels.client.run(tiny)).rejects.toThrow(KernelTimeoutError)
    expect(spawned).toHaveLength(2)
    expect(reasons).toHaveLength(1)
    expect(kernels.respawns).toBe(1)
    expect(told).toHaveLength(1)
    expect(told[0]).toBeInstanceOf(KernelWorkersWedgedError)
    expect(told[0]!.message).toMatch(/2 kernel workers were left running.*Reload the page/s)
    expect(kernels.wedged).toBe(told[0])
    // Every later call fails at once with that error, and nothing new is spawned for it.
    await expect(kernels.client.run(tiny)).rejects.toBe(told[0])
    await expect(kernels.client.init()).rejects.toBe(told[0])
    expect(kernels.client.pending).toBe(0)
    // Stopping leaves the wedged workers be: terminating one would stall the GPU process.
    kernels.terminate()
    expect(spawned.map((w) => w.terminated)).toEqual([false, false])
    expect(spawned).toHaveLength(2)
    expect(told).toHaveLength(1)
    expect(DEFAULT_MAX_ABANDONED_WORKERS).toBe(2)
  })

  it('holds the cap for the page across respawning workers that share one list', async () => {
    const { spawned, spawn } = fakes(allWedged)
    const abandoned: SpawnedWorker[] = []
    // A run that met one hostile kernel, then was stopped.
    const first = createRespawningKernelWorker({ spawn, abandoned })
    await expect(first.client.run(tiny)).rejects.toThrow(KernelTimeoutError)
    first.terminate()
    expect(abandoned).toEqual([spawned[0]])
    expect(spawned[1]!.terminated).toBe(true)
    // The next run may lose only one more worker.
    const told: KernelWorkersWedgedError[] = []
    const second = createRespawningKernelWorker({
      spawn,
      abandoned,
      onWedged: (err) => told.push(err),
    })
    await expect(second.client.run(tiny)).rejects.toThrow(KernelTimeoutError)
    expect(told).toHaveLength(1)
    expect(spawned).toHaveLength(3)
    expect(spawned[2]!.terminated).toBe(false)
    // A run after that starts no worker at all, and says why on its first call.
    const third = createRespawningKernelWorker({ spawn, abandoned })
    expect(spawned).toHaveLength(3)
    expect(third.wedged).toBeInstanceOf(KernelWorkersWedgedError)
    await expect(third.client.init()).rejects.toThrow(KernelWorkersWedgedError)
    third.terminate()
  })

  it('caps only abandoned workers, and refuses a cap that is not a count', async () => {
    const { spawned, spawn } = fakes(allWedged)
    const kernels = createRespawningKernelWorker({ spawn, retire: 'terminate', maxAbandoned: 1 })
    for (let i = 0; i < 3; i++) {
      await expect(kernels.client.run(tiny)).rejects.toThrow(KernelTimeoutError)
    }
    expect(spawned.map((w) => w.terminated)).toEqual([true, true, true, false])
    expect(kernels.wedged).toBeUndefined()
    expect(() => createRespawningKernelWorker({ spawn, maxAbandoned: 0 })).toThrow(/maxAbandoned/)
    expect(() => createRespawningKernelWorker({ spawn, maxAbandoned: 1.5 })).toThrow(RangeError)
  })
})
