import type { Capabilities } from '@tabswarm/protocol'
import type { KernelRunner, KernelRunOptions } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import { controlledCapabilities, controlledRunner } from './contribution-controls.ts'
import { defaultControls } from './controls.ts'

const MIB = 1024 ** 2

const capabilities: Capabilities = {
  adapter: { vendor: 'test', architecture: '', device: '', description: 'fake' },
  features: [],
  limits: {
    maxBufferSize: 1024 * MIB,
    maxStorageBufferBindingSize: 512 * MIB,
    maxComputeWorkgroupsPerDimension: 65535,
  },
  kernels: ['matmul', 'custom'],
  agent: 'test',
}

describe('controlledCapabilities', () => {
  it('announces the GPU as it is without a cap or an opt-out', () => {
    expect(controlledCapabilities(capabilities, defaultControls())).toEqual(capabilities)
  })

  it('lowers both buffer limits to the memory cap, never raises them', () => {
    const capped = controlledCapabilities(capabilities, { ...defaultControls(), memoryCapMiB: 256 })
    expect(capped.limits).toEqual({
      ...capabilities.limits,
      maxBufferSize: 256 * MIB,
      maxStorageBufferBindingSize: 256 * MIB,
    })
    const high = controlledCapabilities(capabilities, { ...defaultControls(), memoryCapMiB: 768 })
    expect(high.limits.maxStorageBufferBindingSize).toBe(512 * MIB)
    expect(high.limits.maxBufferSize).toBe(768 * MIB)
  })

  it("leaves 'custom' out after an opt-out", () => {
    const out = controlledCapabilities(capabilities, { ...defaultControls(), customKernels: false })
    expect(out.kernels).toEqual(['matmul'])
    expect(capabilities.kernels).toEqual(['matmul', 'custom'])
  })
})

describe('controlledRunner', () => {
  function recordingRunner() {
    const calls: KernelRunOptions[] = []
    const runner = {
      run: async (_request: unknown, options: KernelRunOptions = {}) => {
        calls.push(options)
        return new Float32Array(1)
      },
    } as unknown as KernelRunner
    return { runner, calls }
  }
  const matmul = (edge: number) => ({
    kernel: 'matmul' as const,
    a: new Float32Array(edge * edge),
    b: new Float32Array(edge * edge),
    m: edge,
    k: edge,
    n: edge,
  })

  it('runs each call at the GPU share of the moment', async () => {
    const { runner, calls } = recordingRunner()
    let controls = { ...defaultControls(), gpuShare: 0.5 }
    const controlled = controlledRunner(runner, () => controls)
    await controlled.run(matmul(2), { timeoutMs: 10 })
    controls = { ...controls, gpuShare: 0.2 }
    await controlled.run(matmul(2))
    expect(calls).toEqual([{ timeoutMs: 10, gpuShare: 0.5 }, { gpuShare: 0.2 }])
  })

  it('refuses an input above the memory cap, naming the fix, and runs one within it', async () => {
    const { runner, calls } = recordingRunner()
    const controlled = controlledRunner(runner, () => ({ ...defaultControls(), memoryCapMiB: 16 }))
    // 2048² f32 = 16 MiB: at the cap.
    await controlled.run(matmul(2048))
    await expect(controlled.run(matmul(2049))).rejects.toMatchObject({
      code: 'KERNEL_LIMIT',
      message: expect.stringContaining('above this tab'),
    })
    expect(calls).toHaveLength(1)
  })

  it('refuses a custom kernel after an opt-out', async () => {
    const { runner, calls } = recordingRunner()
    const controlled = controlledRunner(runner, () => ({
      ...defaultControls(),
      customKernels: false,
    }))
    await expect(
      controlled.run({ kernel: 'custom' } as unknown as Parameters<KernelRunner['run']>[0]),
    ).rejects.toMatchObject({ code: 'KERNEL_LIMIT' })
    expect(calls).toHaveLength(0)
  })
})
