import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../compare/matmul-tolerance.ts'
import {
  DeviceLostError,
  GpuUnavailableError,
  KernelAbortedError,
  KernelExecutionError,
  KernelLimitError,
  KernelShapeError,
  KernelTimeoutError,
} from '../errors.ts'
import { createNodeGpu } from '../node/create-node-gpu.ts'
import { matmulReferenceWithBound } from '../reference/matmul-reference.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { observedGpu } from '../testing/observed-gpu.ts'
import { createKernelHost, type KernelHost } from './kernel-host.ts'
import type { MatmulVariant } from './kernel-types.ts'

// Real GPU work on dawn.node (SwiftShader where there is no GPU). No skip when there is
// no adapter: createKernelHost rejects with GpuUnavailableError and the suite fails.
let host: KernelHost

beforeAll(async () => {
  host = await createKernelHost({ gpu: createNodeGpu() })
})

afterAll(() => host?.destroy())

/** Run one product on the host and check it against the f64 reference. */
async function expectProduct(
  target: KernelHost,
  [m, k, n]: readonly [number, number, number],
  variant: MatmulVariant,
  seed = m * 7919 + k * 31 + n,
): Promise<void> {
  const a = seededRandomF32(m * k, seed)
  const b = seededRandomF32(k * n, seed + 1)
  const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const actual = await target.run({ kernel: 'matmul', a, b, m, k, n, variant })
  expect(actual).toHaveLength(m * n)
  const result = compareMatmul(actual, c, { k, bound })
  expect(result, `${variant} ${m}×${k}×${n}`).toMatchObject({ ok: true, mismatches: 0 })
}

const shapes = [
  [1, 1, 1],
  [7, 13, 5],
  [31, 37, 41],
  [300, 200, 130],
  [64, 64, 64],
  [129, 257, 65],
  [1, 512, 300],
  [512, 512, 512],
  // n % 4 == 3 and 2 reach every branch of the tiled kernel's partial-row store.
  [3, 5, 7],
  [65, 33, 99],
  [33, 17, 34],
] as const

describe('KernelHost.run matmul on dawn', () => {
  it("requests the adapter's own limits, not WebGPU's defaults", async () => {
    const adapter = await createNodeGpu().requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) throw new Error('no adapter')
    for (const [name, value] of Object.entries(host.info.limits)) {
      expect(value, name).toBe(adapter.limits[name as keyof GPUSupportedLimits])
    }
    expect(Object.keys(host.info.limits)).toHaveLength(10)
  })

  it('compiles each pipeline once and reuses it across calls', async () => {
    let compiled = 0
    const { gpu } = observedGpu(createNodeGpu(), (device) => {
      const create = device.createComputePipelineAsync.bind(device)
      device.createComputePipelineAsync = (d: GPUComputePipelineDescriptor) => {
        compiled++
        return create(d)
      }
    })
    const counted = await createKernelHost({ gpu })
    try {
      await expectProduct(counted, [33, 17, 34], 'tiled')
      const first = compiled
      await expectProduct(counted, [33, 17, 34], 'tiled', 7)
      await expectProduct(counted, [65, 9, 70], 'tiled')
      expect(first).toBe(1)
      // Same kernel (n is not a multiple of 4 in either), so nothing new was compiled.
      expect(compiled).toBe(first)
    } finally {
      counted.destroy()
    }
  })

  it('reports a plain, serialisable description of its adapter', () => {
    expect(JSON.parse(JSON.stringify(host.info))).toEqual(host.info)
    expect(host.info.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(64)
    expect(host.info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0)
    expect(Array.isArray(host.info.features)).toBe(true)
  })

  for (const variant of ['tiled', 'naive'] as const) {
    // The naive kernel is the slow baseline: 512³ alone takes seconds on SwiftShader.
    const cases = variant === 'naive' ? shapes.filter(([m]) => m !== 512) : shapes
    it.each(cases)(`${variant} matches the reference at %i×%i×%i`, async (m, k, n) => {
      await expectProduct(host, [m, k, n], variant)
    })
  }

  it('detects a wrong kernel: a B with one changed element gives a failing comparison', async () => {
    const [m, k, n] = [33, 20, 35]
    const a = seededRandomF32(m * k, 5)
    const b = seededRandomF32(k * n, 6)
    const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
    const b2 = b.slice()
    b2[k * n - 1] = (b2[k * n - 1] as number) + 0.25
    const actual = await host.run({ kernel: 'matmul', a, b: b2, m, k, n })
    expect(compareMatmul(actual, c, { k, bound }).mismatches).toBe(m)
  })

  it('accepts Float32Array views with a byte offset', async () => {
    const backing = seededRandomF32(1 + 6 + 6, 9)
    const a = backing.subarray(1, 7)
    const b = backing.subarray(7, 13)
    const { c, bound } = matmulReferenceWithBound(a, b, 2, 3, 2)
    const actual = await host.run({ kernel: 'matmul', a, b, m: 2, k: 3, n: 2 })
    expect(compareMatmul(actual, c, { k: 3, bound }).ok).toBe(true)
  })

  it('splits the grid when it exceeds the per-dispatch workgroup cap', async () => {
    const capped = await createKernelHost({ gpu: createNodeGpu(), maxWorkgroupsPerDimension: 2 })
    try {
      await expectProduct(capped, [129, 257, 65], 'tiled')
      await expectProduct(capped, [70, 9, 100], 'naive')
    } finally {
      capped.destroy()
    }
  })
})

describe('KernelHost validation', () => {
  it('rejects mismatched lengths with KernelShapeError naming the operand', async () => {
    const a = new Float32Array(6)
    await expect(
      host.run({ kernel: 'matmul', a, b: new Float32Array(5), m: 2, k: 3, n: 2 }),
    ).rejects.toThrow(KernelShapeError)
    await expect(
      host.run({ kernel: 'matmul', a, b: new Float32Array(6), m: 3, k: 3, n: 2 }),
    ).rejects.toThrow(/a\.length \(6\) must equal m\*k/)
    await expect(host.run({ kernel: 'matmul', a, b: a, m: 2, k: 3, n: 0 })).rejects.toThrow(
      /n must be a positive/,
    )
  })

  it('rejects an unknown variant', async () => {
    const one = Float32Array.of(1)
    const request = {
      kernel: 'matmul' as const,
      a: one,
      b: one,
      m: 1,
      k: 1,
      n: 1,
      variant: 'fast' as MatmulVariant,
    }
    await expect(host.run(request)).rejects.toThrow(KernelShapeError)
  })

  it('fails with GpuUnavailableError when there is no adapter', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU
    await expect(createKernelHost({ gpu: noAdapter })).rejects.toThrow(GpuUnavailableError)
  })
})

describe('KernelHost cancellation', () => {
  const big = { m: 512, k: 512, n: 512, variant: 'naive' as const }
  const a = seededRandomF32(512 * 512, 1)
  const b = seededRandomF32(512 * 512, 2)

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(
      host.run({ kernel: 'matmul', ...big, a, b }, { signal: controller.signal }),
    ).rejects.toThrow(KernelAbortedError)
  })

  it('stops waiting when aborted mid-run, then keeps working', async () => {
    const controller = new AbortController()
    const started = performance.now()
    const run = host.run({ kernel: 'matmul', ...big, a, b }, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('user stop')), 20)
    const err = await run.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelAbortedError)
    expect((err as KernelAbortedError).cause).toMatchObject({ message: 'user stop' })
    // The naive 512³ run alone takes over a second on SwiftShader.
    expect(performance.now() - started).toBeLessThan(1000)
    await expectProduct(host, [31, 37, 41], 'tiled')
  })

  it('rejects with KernelTimeoutError past timeoutMs or an AbortSignal.timeout', async () => {
    await expect(host.run({ kernel: 'matmul', ...big, a, b }, { timeoutMs: 5 })).rejects.toThrow(
      KernelTimeoutError,
    )
    await expect(
      host.run({ kernel: 'matmul', ...big, a, b }, { signal: AbortSignal.timeout(5) }),
    ).rejects.toThrow(KernelTimeoutError)
  })

  it('rejects pending and later calls with KernelAbortedError once destroyed', async () => {
    const doomed = await createKernelHost({ gpu: createNodeGpu() })
    const run = doomed.run({ kernel: 'matmul', ...big, a, b })
    setTimeout(() => doomed.destroy(), 20)
    await expect(run).rejects.toThrow(KernelAbortedError)
    await expect(doomed.run({ kernel: 'matmul', ...big, a, b })).rejects.toThrow(/destroyed/)
  })
})

describe('KernelHost device loss', () => {
  it('rejects pending work with DeviceLostError, tells the caller, and reacquires lazily', async () => {
    // A real GPU whose devices the test can reach, to lose them on purpose.
    const { gpu, devices } = observedGpu(createNodeGpu())
    const lost: string[] = []
    const lossy = await createKernelHost({ gpu, onDeviceLost: (d) => lost.push(d.reason) })
    try {
      const a = seededRandomF32(512 * 512, 3)
      const run = lossy.run({ kernel: 'matmul', a, b: a, m: 512, k: 512, n: 512, variant: 'naive' })
      setTimeout(() => devices[0]?.destroy(), 20)
      await expect(run).rejects.toThrow(DeviceLostError)
      expect(lost).toEqual(['destroyed'])
      await expectProduct(lossy, [7, 13, 5], 'tiled')
      expect(devices).toHaveLength(2)
    } finally {
      lossy.destroy()
    }
  })
})

describe('KernelHost GPU errors', () => {
  it('reports a validation error on a healthy device at once, not after the loss wait', async () => {
    let sabotage = false
    const { gpu } = observedGpu(createNodeGpu(), (device) => {
      // A bind group missing its last entry is a real validation error in the call's scope.
      const createBindGroup = device.createBindGroup.bind(device)
      device.createBindGroup = (descriptor: GPUBindGroupDescriptor) =>
        createBindGroup(
          sabotage ? { ...descriptor, entries: [...descriptor.entries].slice(0, -1) } : descriptor,
        )
    })
    const faulty = await createKernelHost({ gpu })
    try {
      // Compiled and pooled first, so the timed call is a few milliseconds of GPU work.
      await expectProduct(faulty, [7, 13, 5], 'tiled')
      sabotage = true
      const started = performance.now()
      const err = await faulty
        .run({
          kernel: 'matmul',
          a: new Float32Array(7 * 13),
          b: new Float32Array(13 * 5),
          m: 7,
          k: 13,
          n: 5,
        })
        .catch((e: unknown) => e)
      const waited = performance.now() - started
      expect(err).toBeInstanceOf(KernelExecutionError)
      expect((err as KernelExecutionError).details).toMatch(/Validation/)
      // A wait for device.lost would add its 500 ms here.
      expect(waited).toBeLessThan(400)
      sabotage = false
      await expectProduct(faulty, [7, 13, 5], 'tiled')
    } finally {
      faulty.destroy()
    }
  })
})

describe('KernelHost submissions and buffers', () => {
  /** A real GPU whose queue submissions the test counts. */
  function countingGpu(): { gpu: GPU; submits: number[]; created: number[] } {
    const submits: number[] = []
    const created: number[] = []
    const { gpu } = observedGpu(createNodeGpu(), (device) => {
      const submit = device.queue.submit.bind(device.queue)
      device.queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
        submits.push([...buffers].length)
        submit(buffers)
      }
      const createBuffer = device.createBuffer.bind(device)
      device.createBuffer = (descriptor: GPUBufferDescriptor) => {
        created.push(descriptor.size)
        return createBuffer(descriptor)
      }
    })
    return { gpu, submits, created }
  }

  it('splits a large product into bounded submissions, and reuses pooled buffers', async () => {
    const { gpu, submits, created } = countingGpu()
    // A 32×32 tile of k = 200 is 2·32·32·200 ≈ 4·10⁵ units: a budget of 10⁶ fits 2 tiles.
    const split = await createKernelHost({ gpu, maxWorkPerSubmission: 1e6 })
    try {
      await expectProduct(split, [129, 200, 130], 'tiled')
      // 5×5 tiles, 2 per submission: 13 submissions, the last one also reading back.
      expect(submits.length).toBeGreaterThanOrEqual(13)

      await expectProduct(split, [64, 64, 64], 'tiled', 1)
      const allocated = created.length
      await expectProduct(split, [64, 64, 64], 'tiled', 1)
      // a, b, c, uniforms and read-back all came from the pool the second time.
      expect(created).toHaveLength(allocated)
    } finally {
      split.destroy()
    }
  })

  it('an abort stops the submissions still to be queued', async () => {
    const { gpu, submits } = countingGpu()
    // Naive 512³: 1024 workgroups of 2·16·16·512 units; 16 per submission makes 64.
    const host16 = await createKernelHost({ gpu, maxWorkPerSubmission: 16 * 2 * 16 * 16 * 512 })
    try {
      const a = seededRandomF32(512 * 512, 8)
      const controller = new AbortController()
      const run = host16.run(
        { kernel: 'matmul', a, b: a, m: 512, k: 512, n: 512, variant: 'naive' },
        { signal: controller.signal },
      )
      setTimeout(() => controller.abort(), 30)
      await expect(run).rejects.toThrow(KernelAbortedError)
      await new Promise((resolve) => setTimeout(resolve, 200))
      // Submitted all at once, the 64 would all run; in flight two at a time, few do.
      expect(submits.length).toBeLessThan(32)
      await expectProduct(host16, [31, 37, 41], 'tiled')
    } finally {
      host16.destroy()
    }
  })

  it('splits a matmul along k where one workgroup would exceed the budget, and refuses what cannot split', async () => {
    // One 32×32 tile at k = 64 is 2·32·32·64 = 131072 units: refused before split-K,
    // now two passes of k = 48 and 16 and a sum of the partial products.
    const tight = await createKernelHost({ gpu: createNodeGpu(), maxWorkPerSubmission: 100_000 })
    try {
      await expectProduct(tight, [64, 64, 64], 'tiled')
      await expectProduct(tight, [7, 13, 5], 'tiled')
      // An activation workgroup (256 invocations × 32 units) cannot be split further.
      const tiny = await createKernelHost({ gpu: createNodeGpu(), maxWorkPerSubmission: 4096 })
      try {
        const err = await tiny
          .run({ kernel: 'activation', op: 'gelu', x: new Float32Array(300) })
          .catch((e: unknown) => e)
        expect(err).toBeInstanceOf(KernelLimitError)
        expect((err as Error).message).toMatch(/costs 8192 work units, above the 4096/)
      } finally {
        tiny.destroy()
      }
    } finally {
      tight.destroy()
    }
  })
})

describe('KernelHost deadlines', () => {
  it('runs with timeoutMs Infinity (no timer) and refuses delays a timer cannot hold', async () => {
    const a = seededRandomF32(6, 4)
    const c = await host.run(
      { kernel: 'matmul', a, b: a, m: 2, k: 3, n: 2 },
      { timeoutMs: Infinity },
    )
    expect(c).toHaveLength(4)
    await expect(
      host.run({ kernel: 'matmul', a, b: a, m: 2, k: 3, n: 2 }, { timeoutMs: 2 ** 31 }),
    ).rejects.toThrow(RangeError)
    await expect(createKernelHost({ gpu: createNodeGpu(), timeoutMs: 2 ** 40 })).rejects.toThrow(
      /up to 2147483647/,
    )
  })
})
