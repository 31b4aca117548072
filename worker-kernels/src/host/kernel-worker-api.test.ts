import { type Remote, wrap } from 'comlink'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GpuUnavailableError, KernelShapeError } from '../errors.ts'
import { createNodeGpu } from '../node/create-node-gpu.ts'
import { matmulReference } from '../reference/matmul-reference.ts'
import { errorTransferHandler } from './error-transfer-handler.ts'
import type { KernelWorkerApi } from './kernel-types.ts'
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

  it('matmul() returns the product', async () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i + 1)
    const b = Float32Array.from({ length: 12 }, (_, i) => i - 3)
    const c = await api.matmul({ a, b, m: 2, k: 3, n: 4 })
    expect(c).toBeInstanceOf(Float32Array)
    expect([...c]).toEqual([...matmulReference(a, b, 2, 3, 4)])
  })

  it('errors arrive as their subclass with name and code', async () => {
    const err = await api
      .matmul({ a: new Float32Array(3), b: new Float32Array(3), m: 2, k: 2, n: 2 })
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
