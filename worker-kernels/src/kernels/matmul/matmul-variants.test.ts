import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../../compare/matmul-tolerance.ts'
import { KernelLimitError } from '../../errors.ts'
import { createKernelHost, type KernelHost } from '../../host/kernel-host.ts'
import { createNodeGpu } from '../../node/create-node-gpu.ts'
import { fromFloat16, toFloat16 } from '../../reference/float16.ts'
import { matmulReferenceWithBound } from '../../reference/matmul-reference.ts'
import { seededRandomF32 } from '../../reference/seeded-random.ts'
import { planKernel } from '../plan-kernel.ts'
import type { MatmulVariant } from './matmul-kernel.ts'

// Real GPU work on dawn.node (SwiftShader where there is no GPU).
let host: KernelHost

beforeAll(async () => {
  host = await createKernelHost({ gpu: createNodeGpu() })
})

afterAll(() => host?.destroy())

type Shape = readonly [number, number, number]

/** Expected product of each batch entry, stacked, with the bound compareMatmul needs. */
function batchedReference(
  a: Float32Array,
  b: Float32Array,
  [m, k, n]: Shape,
  batch: number,
  broadcastB: boolean,
) {
  const c = new Float32Array(batch * m * n)
  const bound = new Float64Array(batch * m * n)
  for (let i = 0; i < batch; i++) {
    const bi = broadcastB ? b : b.subarray(i * k * n, (i + 1) * k * n)
    const one = matmulReferenceWithBound(a.subarray(i * m * k, (i + 1) * m * k), bi, m, k, n)
    c.set(one.c, i * m * n)
    bound.set(one.bound, i * m * n)
  }
  return { c, bound }
}

async function expectF32(shape: Shape, variant: MatmulVariant, batch = 1, broadcastB = false) {
  const [m, k, n] = shape
  const seed = m * 7919 + k * 31 + n + batch
  const a = seededRandomF32(batch * m * k, seed)
  const b = seededRandomF32((broadcastB ? 1 : batch) * k * n, seed + 1)
  const { c, bound } = batchedReference(a, b, shape, batch, broadcastB)
  const actual = await host.run({ kernel: 'matmul', a, b, m, k, n, batch, variant })
  expect(actual).toBeInstanceOf(Float32Array)
  const result = compareMatmul(actual, c, { k, bound })
  expect(result, `${variant} ${batch}×${m}×${k}×${n}`).toMatchObject({ ok: true, mismatches: 0 })
}

describe('matmul kernels on any shape', () => {
  // 1, primes, non-multiples of the 32×32 tile and of 4 (vector loads), and n % 4 == 0.
  const shapes: Shape[] = [
    [1, 1, 1],
    [2, 3, 5],
    [17, 19, 23],
    [33, 65, 31],
    [97, 101, 103],
    [40, 36, 44],
    [64, 128, 96],
    [127, 1, 129],
  ]
  for (const variant of ['auto', 'tiled', 'naive'] as const) {
    it.each(shapes)(`${variant} f32 %i×%i×%i`, async (m, k, n) => {
      await expectF32([m, k, n], variant)
    })
  }

  it('tiled f32 1024×1024×1024', async () => {
    await expectF32([1024, 1024, 1024], 'tiled')
  })

  it.each([
    [1, 257, 300],
    [1, 1000, 4],
    [1, 3, 1],
    [300, 257, 1],
    [5, 4099, 1],
  ] as const)('gemv f32 %i×%i×%i', async (m, k, n) => {
    await expectF32([m, k, n], 'gemv')
  })

  it('gemv is refused where neither m nor n is 1', async () => {
    const a = new Float32Array(4)
    await expect(
      host.run({ kernel: 'matmul', a, b: a, m: 2, k: 2, n: 2, variant: 'gemv' }),
    ).rejects.toThrow(/gemv needs m = 1 or n = 1/)
  })
})

describe('batched matmul', () => {
  it.each([
    ['tiled', [7, 13, 37], 3],
    ['naive', [5, 9, 6], 4],
    ['gemv', [1, 33, 70], 5],
    ['gemv', [19, 31, 1], 2],
  ] as const)('%s: batch of %j × %i', async (variant, shape, batch) => {
    await expectF32(shape, variant, batch)
  })

  it('broadcasts one B over the batch', async () => {
    await expectF32([9, 20, 33], 'tiled', 3, true)
  })

  it('splits a batch larger than the per-dispatch cap without losing entries', async () => {
    const capped = await createKernelHost({ gpu: createNodeGpu(), maxWorkgroupsPerDimension: 2 })
    try {
      const [m, k, n, batch] = [40, 8, 70, 5]
      const a = seededRandomF32(batch * m * k, 1)
      const b = seededRandomF32(batch * k * n, 2)
      const { c, bound } = batchedReference(a, b, [m, k, n], batch, false)
      const actual = await capped.run({ kernel: 'matmul', a, b, m, k, n, batch })
      expect(compareMatmul(actual, c, { k, bound }).ok).toBe(true)
    } finally {
      capped.destroy()
    }
  })

  it('names the operand when b fits neither k*n nor batch*k*n', async () => {
    const request = {
      kernel: 'matmul' as const,
      a: new Float32Array(2 * 6),
      b: new Float32Array(7),
      m: 2,
      k: 3,
      n: 2,
      batch: 2,
    }
    await expect(host.run(request)).rejects.toThrow(
      /b\.length \(7\) must equal k\*n \(3\*2 = 6\) or batch\*k\*n \(12\)/,
    )
  })
})

describe('float16 matmul (f16 storage, f32 accumulation)', () => {
  it.each([
    ['tiled', [33, 47, 29], 1],
    ['naive', [17, 5, 9], 2],
    ['gemv', [1, 129, 67], 1],
    ['gemv', [31, 64, 1], 1],
    ['auto', [64, 64, 64], 2],
  ] as const)('%s %j × %i', async (variant, [m, k, n], batch) => {
    const a16 = toFloat16(seededRandomF32(batch * m * k, 3))
    const b16 = toFloat16(seededRandomF32(batch * k * n, 4))
    // The reference multiplies exactly the f16 values the kernel reads.
    const { c, bound } = batchedReference(
      fromFloat16(a16),
      fromFloat16(b16),
      [m, k, n],
      batch,
      false,
    )
    const actual = await host.run({
      kernel: 'matmul',
      a: a16,
      b: b16,
      m,
      k,
      n,
      batch,
      variant,
      dtype: 'float16',
      // This block tests the f32-arithmetic path, which every adapter runs; the f16 one
      // (chosen by default on shader-f16 adapters) is in matmul-f16.test.ts.
      compute: 'float32',
    })
    expect(actual).toBeInstanceOf(Uint16Array)
    expect(actual).toHaveLength(batch * m * n)
    const result = compareMatmul(fromFloat16(actual), c, { k, bound, dtype: 'f16' })
    expect(result, `${variant}`).toMatchObject({ ok: true })
  })

  it('rejects float32 data declared as float16', async () => {
    const a = new Float32Array(4)
    await expect(
      host.run({ kernel: 'matmul', a, b: a, m: 2, k: 2, n: 2, dtype: 'float16' }),
    ).rejects.toThrow(/a must be a Uint16Array of float16 bits/)
  })
})

describe('matmul limits', () => {
  it('refuses operands past the device limits before running, naming operand and limit', () => {
    // planKernel is what the host runs before touching the GPU; small limits stand in
    // for a small adapter.
    const limits = { ...host.info.limits, maxStorageBufferBindingSize: 1024 }
    const a = new Float32Array(300)
    expect(() =>
      planKernel({ kernel: 'matmul', a, b: new Float32Array(300), m: 1, k: 300, n: 1 }, limits),
    ).toThrow(/^A needs 1200 bytes \(m\*k\*4 = 1\*300\*4\), above maxStorageBufferBindingSize 1024/)
    const a16 = new Uint16Array(2 * 300)
    expect(() =>
      planKernel(
        {
          kernel: 'matmul',
          a: a16,
          b: new Uint16Array(300),
          m: 1,
          k: 300,
          n: 1,
          batch: 2,
          dtype: 'float16',
        },
        limits,
      ),
    ).toThrow(KernelLimitError)
  })
})
