import { describe, expect, it } from 'vitest'
import { kernelRequestFor, outputBuffersOf } from './task-kernel-call.ts'
import { f32, matmulLease, wgslLease } from './testing/fake-work.ts'

const terms = { leaseId: 'lease-1', taskId: 'task-1', expiresInMs: 60_000 }

describe('kernelRequestFor', () => {
  it('views unaligned input bytes through an aligned copy', async () => {
    const { header, payload } = await matmulLease(terms)
    const shifted = new Uint8Array(5).fill(0)
    shifted.set(f32(2), 1)
    const request = kernelRequestFor(header, payload, [shifted.subarray(1), f32(3)])
    expect(request).toMatchObject({
      kernel: 'matmul',
      a: Float32Array.of(2),
      b: Float32Array.of(3),
    })
  })

  it('refuses a matmul lease without its input b', async () => {
    const { header, payload } = await matmulLease(terms)
    header.inputs[1]!.name = 'x'
    expect(() => kernelRequestFor(header, payload, [f32(2), f32(3)])).toThrow(
      'lease lease-1 (matmul): no input named b',
    )
  })

  it('refuses a wgsl lease without workgroups', async () => {
    const x = { name: 'x', dtype: 'float32' as const, shape: [1], bytes: f32(1) }
    const { header, payload } = await wgslLease(
      terms,
      [x],
      [{ name: 'y', dtype: 'float32', shape: [1] }],
    )
    delete header.workgroups
    expect(() => kernelRequestFor(header, payload, [x.bytes])).toThrow('needs workgroups')
  })
})

describe('outputBuffersOf', () => {
  it('names a built-in kernel’s one output as the lease declares it', async () => {
    const { header } = await matmulLease(terms)
    expect(outputBuffersOf(header, Float32Array.of(6))).toEqual([
      { name: 'c', dtype: 'float32', shape: [1, 1], bytes: f32(6) },
    ])
  })

  it('refuses a kernel that returned another number of outputs than declared', async () => {
    const { header } = await matmulLease(terms)
    expect(() => outputBuffersOf(header, [Float32Array.of(6), Float32Array.of(7)])).toThrow(
      'the kernel returned 2 outputs, the lease declares 1',
    )
  })
})
