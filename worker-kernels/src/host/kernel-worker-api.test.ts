import { proxy, type Remote, wrap } from 'comlink'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../compare/matmul-tolerance.ts'
import {
  DeviceLostError,
  GpuUnavailableError,
  KernelAbortedError,
  KernelShapeError,
} from '../errors.ts'
import { createNodeGpu } from '../node/create-node-gpu.ts'
import { matmulReferenceWithBound } from '../reference/matmul-reference.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { observedGpu } from '../testing/observed-gpu.ts'
import { errorTransferHandler } from './error-transfer-handler.ts'
import type { DeviceLostDetails, KernelWorkerApi } from './kernel-types.ts'
import { createKernelWorkerApi, exposeKernelWorker } from './kernel-worker-api.ts'

// The worker API over a real MessageChannel: what crosses is structured-cloned and
// transferred exactly as between a page and its worker. Both ends share this realm's
// comlink, so the page side uses the same (registered) error handler as the worker.
let channel: MessageChannel
let api: Remote<KernelWorkerApi>

beforeAll(() => {
  channel = new MessageChannel()
  exposeKernelWorker(createKernelWorkerApi({ gpu: createNodeGpu() }), channel.port1)
  api = wrap<KernelWorkerApi>(channel.port2)
})

afterAll(async () => {
  await api.dispose()
  channel.port1.close()
  channel.port2.close()
})

describe('kernel worker API over a MessageChannel', () => {
  it('init() returns the host description as plain data', async () => {
    const info = await api.init()
    expect(info.architecture).toBeTypeOf('string')
    expect(info.limits.maxBufferSize).toBeGreaterThan(0)
  })

  it('run() returns a matmul product', async () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i + 1)
    const b = Float32Array.from({ length: 12 }, (_, i) => i - 3)
    // comlink's Remote drops `run`'s generic, and with it the result's type.
    const c = (await api.run({ kernel: 'matmul', a, b, m: 2, k: 3, n: 4 })) as Float32Array
    expect(c).toBeInstanceOf(Float32Array)
    const { c: expected, bound } = matmulReferenceWithBound(a, b, 2, 3, 4)
    expect(compareMatmul(c, expected, { k: 3, bound })).toMatchObject({ ok: true })
  })

  it('errors arrive as their subclass with name and code', async () => {
    const err = await api
      .run({ kernel: 'matmul', a: new Float32Array(3), b: new Float32Array(3), m: 2, k: 2, n: 2 })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelShapeError)
    expect(err).toMatchObject({ name: 'KernelShapeError', code: 'KERNEL_SHAPE' })
  })

  it('init() reports a missing navigator.gpu as GpuUnavailableError', async () => {
    await expect(createKernelWorkerApi({ gpu: undefined }).init()).rejects.toThrow(
      GpuUnavailableError,
    )
  })
})

/** About a second of naive matmul on SwiftShader: long enough to cancel or lose. */
const slow = (() => {
  const a = seededRandomF32(512 * 512, 4)
  return { kernel: 'matmul' as const, a, b: a, m: 512, k: 512, n: 512, variant: 'naive' as const }
})()

describe('kernel worker API: cancellation and device loss', () => {
  it('cancel(callId) aborts that call in the worker; the next call runs', async () => {
    const started = performance.now()
    const run = api.run(slow, { callId: 'slow-1' })
    const failed = run.catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 30))
    expect(await api.cancel('slow-1')).toBe(true)
    expect(await failed).toBeInstanceOf(KernelAbortedError)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(await api.cancel('slow-1')).toBe(false)
    const one = Float32Array.of(2)
    const c = (await api.run(
      { kernel: 'matmul', a: one, b: one, m: 1, k: 1, n: 1 },
      { callId: 'slow-1' },
    )) as Float32Array
    expect(compareMatmul(c, [4], { k: 1 }).ok).toBe(true)
  })

  it('runs a call paced at its gpuShare, and refuses a share that is no number or out of range', async () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i + 1)
    const b = Float32Array.from({ length: 12 }, (_, i) => i - 3)
    const request = { kernel: 'matmul' as const, a, b, m: 2, k: 3, n: 4 }
    const c = (await api.run(request, { gpuShare: 0.5 })) as Float32Array
    const { c: expected, bound } = matmulReferenceWithBound(a, b, 2, 3, 4)
    expect(compareMatmul(c, expected, { k: 3, bound })).toMatchObject({ ok: true })
    await expect(
      api.run(request, { gpuShare: 'half' } as unknown as { gpuShare: number }),
    ).rejects.toThrow(KernelShapeError)
    await expect(api.run(request, { gpuShare: 2 })).rejects.toThrow(/between 0.1 and 1/)
  })

  it('rejects a malformed or duplicate callId with KernelShapeError', async () => {
    const one = Float32Array.of(1)
    const tiny = { kernel: 'matmul' as const, a: one, b: one, m: 1, k: 1, n: 1 }
    await expect(api.run(tiny, { callId: '' })).rejects.toThrow(KernelShapeError)
    await expect(api.run(tiny, { callId: 'x'.repeat(129) })).rejects.toThrow(/1 to 128/)
    const first = api.run(slow, { callId: 'twice' })
    await expect(api.run(tiny, { callId: 'twice' })).rejects.toThrow(/already in flight/)
    await api.cancel('twice')
    await expect(first).rejects.toThrow(KernelAbortedError)
  })

  it('reports device loss to a proxied listener; the call fails typed and the next one runs', async () => {
    const { gpu, devices } = observedGpu(createNodeGpu())
    const lossyChannel = new MessageChannel()
    exposeKernelWorker(createKernelWorkerApi({ gpu }), lossyChannel.port1)
    const lossy = wrap<KernelWorkerApi>(lossyChannel.port2)
    try {
      const reports: DeviceLostDetails[] = []
      await lossy.setDeviceLostListener(
        proxy((details: DeviceLostDetails) => reports.push(details)),
      )
      await lossy.init()
      const run = lossy.run(slow)
      setTimeout(() => devices[0]?.destroy(), 30)
      await expect(run).rejects.toThrow(DeviceLostError)
      await expect.poll(() => reports.map((r) => r.reason)).toEqual(['destroyed'])
      const one = Float32Array.of(3)
      const c = (await lossy.run({
        kernel: 'matmul',
        a: one,
        b: one,
        m: 1,
        k: 1,
        n: 1,
      })) as Float32Array
      expect(compareMatmul(c, [9], { k: 1 }).ok).toBe(true)
      expect(devices).toHaveLength(2)
    } finally {
      await lossy.dispose()
      lossyChannel.port1.close()
      lossyChannel.port2.close()
    }
  })
})

describe('errorTransferHandler', () => {
  it("sends comlink's built-in wire shape plus code, so an unregistered page still sees name and code", () => {
    const [wire] = errorTransferHandler.serialize({ value: new KernelShapeError('bad') })
    expect(wire).toEqual({
      isError: true,
      value: { name: 'KernelShapeError', code: 'KERNEL_SHAPE', message: 'bad' },
    })
    if (!wire.isError) throw new Error('expected an error on the wire')
    // What comlink's built-in deserializer does with it:
    const seen = Object.assign(new Error(wire.value.message), wire.value)
    expect(seen).toMatchObject({ name: 'KernelShapeError', code: 'KERNEL_SHAPE' })
  })

  it('passes thrown non-errors through unchanged', () => {
    expect(errorTransferHandler.serialize({ value: 42 })[0]).toEqual({ isError: false, value: 42 })
    expect(() => errorTransferHandler.deserialize({ isError: false, value: 42 })).toThrow()
  })
})
