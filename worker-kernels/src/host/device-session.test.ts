import { describe, expect, it } from 'vitest'
import { DeviceLostError, GpuUnavailableError } from '../errors.ts'
import { createNodeGpu } from '../node/create-node-gpu.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { observedGpu } from '../testing/observed-gpu.ts'
import { createKernelHost } from './kernel-host.ts'

// Device acquisition and loss on dawn.node, with the GPU wrapped so a test can hang a
// request, hand out an already-lost device or lose a device mid-call. Any unhandled
// rejection fails the run, so a loss handler that throws shows up here.

type GpuControls = {
  gpu: GPU
  devices: GPUDevice[]
  /** While true, `requestAdapter` never answers. */
  hangAdapter: boolean
  /** While true, devices are handed out with their `lost` promise already settled. */
  lostOnArrival: boolean
  /** Milliseconds `requestDevice` waits before it answers. */
  deviceDelayMs: number
}

function controlledGpu(): GpuControls {
  const observed = observedGpu(createNodeGpu(), async (device) => {
    if (controls.deviceDelayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, controls.deviceDelayMs))
    }
    if (controls.lostOnArrival) {
      // What requestDevice returns when the GPU process died in between.
      Object.defineProperty(device, 'lost', {
        value: Promise.resolve({ reason: 'unknown', message: 'lost on arrival' }),
      })
    }
  })
  const controls: GpuControls = {
    devices: observed.devices,
    hangAdapter: false,
    lostOnArrival: false,
    deviceDelayMs: 0,
    gpu: {
      requestAdapter: (options?: GPURequestAdapterOptions) =>
        controls.hangAdapter ? new Promise<never>(() => {}) : observed.gpu.requestAdapter(options),
    } as unknown as GPU,
  }
  return controls
}

const a = seededRandomF32(512 * 512, 3)
/** About a second on SwiftShader: long enough to lose the device under it. */
const slowProduct = { kernel: 'matmul', a, b: a, m: 512, k: 512, n: 512, variant: 'naive' } as const
const quickProduct = {
  kernel: 'matmul' as const,
  a: a.subarray(0, 6),
  b: a.subarray(0, 6),
  m: 2,
  k: 3,
  n: 2,
}

describe('device acquisition', () => {
  it('rejects an already-lost device with GpuUnavailableError instead of crashing', async () => {
    const controls = controlledGpu()
    controls.lostOnArrival = true
    await expect(createKernelHost({ gpu: controls.gpu })).rejects.toThrow(
      /already lost \(unknown\)/,
    )
    await expect(createKernelHost({ gpu: controls.gpu })).rejects.toThrow(GpuUnavailableError)
  })

  it('gives up on a requestAdapter that never answers', async () => {
    const controls = controlledGpu()
    controls.hangAdapter = true
    const started = performance.now()
    const err = await createKernelHost({ gpu: controls.gpu, acquireTimeoutMs: 50 }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(GpuUnavailableError)
    expect((err as Error).message).toMatch(/requestAdapter\(\) did not answer within 50 ms/)
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('destroys a device that arrives after the acquisition deadline', async () => {
    const controls = controlledGpu()
    controls.deviceDelayMs = 300
    const err = await createKernelHost({ gpu: controls.gpu, acquireTimeoutMs: 100 }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(GpuUnavailableError)
    expect((err as Error).message).toMatch(/requestDevice\(\) did not answer within 100 ms/)
    await expect.poll(() => controls.devices.length, { timeout: 2_000 }).toBe(1)
    const lost = await controls.devices[0]?.lost
    expect(lost?.reason).toBe('destroyed')
  })

  it('takes acquireTimeoutMs Infinity (no deadline) and refuses one a timer cannot hold', async () => {
    const controls = controlledGpu()
    const host = await createKernelHost({ gpu: controls.gpu, acquireTimeoutMs: Infinity })
    host.destroy()
    await expect(
      createKernelHost({ gpu: controls.gpu, acquireTimeoutMs: 2 ** 31 }),
    ).rejects.toThrow(/acquireTimeoutMs must be a positive number of milliseconds up to 2147483647/)
  })

  it('a hung reacquisition after a loss fails one call, and the next call tries again', async () => {
    const controls = controlledGpu()
    let reportLoss: () => void = () => {}
    const lossReported = new Promise<void>((resolve) => {
      reportLoss = resolve
    })
    const host = await createKernelHost({
      gpu: controls.gpu,
      acquireTimeoutMs: 100,
      onDeviceLost: () => reportLoss(),
    })
    try {
      controls.hangAdapter = true
      controls.devices[0]?.destroy()
      await lossReported
      await expect(host.run(quickProduct, { timeoutMs: 10_000 })).rejects.toThrow(
        /requestAdapter\(\) did not answer within 100 ms/,
      )
      controls.hangAdapter = false
      const c = await host.run(quickProduct, { timeoutMs: 10_000 })
      expect(c).toHaveLength(4)
      expect(controls.devices).toHaveLength(2)
    } finally {
      host.destroy()
    }
  })
})

describe('device loss', () => {
  it('survives an onDeviceLost that throws: the call fails typed, the next one runs', async () => {
    const controls = controlledGpu()
    const seen: string[] = []
    const host = await createKernelHost({
      gpu: controls.gpu,
      onDeviceLost: (details) => {
        seen.push(details.reason)
        throw new Error('listener bug')
      },
    })
    try {
      const run = host.run(slowProduct)
      setTimeout(() => controls.devices[0]?.destroy(), 20)
      await expect(run).rejects.toThrow(DeviceLostError)
      expect(seen).toEqual(['destroyed'])
      const c = await host.run(quickProduct)
      expect(c).toHaveLength(4)
      expect(controls.devices).toHaveLength(2)
    } finally {
      host.destroy()
    }
  })
})
