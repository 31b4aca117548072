import { type Remote, wrap } from 'comlink'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareElementwise } from '../../compare/compare-elementwise.ts'
import { KernelCompileError, KernelLimitError, KernelShapeError } from '../../errors.ts'
import { createKernelHost, type KernelHost } from '../../host/kernel-host.ts'
import type { KernelWorkerApi } from '../../host/kernel-types.ts'
import { createKernelWorkerApi, exposeKernelWorker } from '../../host/kernel-worker-api.ts'
import { createNodeGpu } from '../../node/create-node-gpu.ts'
import { activationReference } from '../../reference/elementwise-reference.ts'
import { fromFloat16, toFloat16 } from '../../reference/float16.ts'
import { planCustomKernel } from './custom-kernel-program.ts'
import type { CustomKernelProgram, CustomKernelRequest } from './custom-kernel-types.ts'
import { validateCustomProgram } from './validate-custom-program.ts'

let host: KernelHost

beforeAll(async () => {
  host = await createKernelHost({ gpu: createNodeGpu() })
})

afterAll(() => host?.destroy())

/** y = x * scale + offset[i % 4] as f32, and the index as u32: two outputs, a uniform. */
const AXPY: CustomKernelProgram = {
  wgsl: /* wgsl */ `
struct Params { scale: f32, count: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> offset: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> index: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.count) { return; }
  y[i] = x[i] * params.scale + f32(offset[i % 4u]);
  index[i] = i * 3u;
}
`,
  inputs: [
    { name: 'x', dtype: 'float32' },
    { name: 'offset', dtype: 'int32' },
  ],
  outputs: [
    { name: 'y', dtype: 'float32' },
    { name: 'index', dtype: 'uint32' },
  ],
}

function axpyRequest(count: number): CustomKernelRequest {
  const params = new Uint8Array(8)
  new DataView(params.buffer).setFloat32(0, 2, true)
  new DataView(params.buffer).setUint32(4, count, true)
  return {
    program: AXPY,
    inputs: [Float32Array.from({ length: count }, (_, i) => i / 4), Int32Array.of(1, -2, 3, -4)],
    outputs: [{ length: count }, { length: count }],
    workgroups: [Math.ceil(count / 64), 1, 1],
    params,
  }
}

/** WGSL whose line 4 uses an undeclared identifier. */
const BROKEN: CustomKernelProgram = {
  wgsl: [
    '@group(0) @binding(0) var<storage, read_write> y: array<f32>;',
    '@compute @workgroup_size(1)',
    'fn main() {',
    '  y[0] = undeclared_value;',
    '}',
  ].join('\n'),
  inputs: [],
  outputs: [{ name: 'y', dtype: 'float32' }],
}

describe('custom kernels on dawn', () => {
  it('runs a researcher kernel with typed inputs, outputs and a uniform', async () => {
    const count = 1000
    const [y, index] = await host.run({ kernel: 'custom', ...axpyRequest(count) })
    expect(y).toBeInstanceOf(Float32Array)
    expect(index).toBeInstanceOf(Uint32Array)
    const offsets = [1, -2, 3, -4]
    for (let i = 0; i < count; i++) {
      // i/4·2 + small integer: exact in f32, so the check needs no tolerance.
      expect((y as Float32Array)[i]).toBe((i / 4) * 2 + (offsets[i % 4] as number))
      expect((index as Uint32Array)[i]).toBe(i * 3)
    }
  })

  it('zeroes outputs the kernel does not write, so no earlier job leaks through the pool', async () => {
    const program: CustomKernelProgram = {
      wgsl: `@group(0) @binding(0) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(1) fn main() { y[0] = 7u; }`,
      inputs: [],
      outputs: [{ name: 'y', dtype: 'uint32' }],
    }
    for (let round = 0; round < 2; round++) {
      const [y] = await host.run({
        kernel: 'custom',
        program,
        inputs: [],
        outputs: [{ length: 300 }],
        workgroups: [1, 1, 1],
      })
      expect(y).toEqual(Uint32Array.from({ length: 300 }, (_, i) => (i === 0 ? 7 : 0)))
    }
  })

  it('passes float16 data as Uint16Array bits both ways', async () => {
    // Doubles each half; two halves per u32 word, as a little-endian Uint16Array lays them out.
    const program: CustomKernelProgram = {
      wgsl: `@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&x)) { y[g.x] = pack2x16float(2.0 * unpack2x16float(x[g.x])); }
}`,
      inputs: [{ name: 'x', dtype: 'float16' }],
      outputs: [{ name: 'y', dtype: 'float16' }],
    }
    const x = toFloat16([0.5, -1.25, 3, 1000, 0.1, 7])
    const [y] = await host.run({
      kernel: 'custom',
      program,
      inputs: [x],
      outputs: [{ length: 6 }],
      workgroups: [1, 1, 1],
    })
    expect(y).toBeInstanceOf(Uint16Array)
    // Doubling a half is exact (the exponent moves by one), so the bits must match.
    expect([...fromFloat16(y as Uint16Array)]).toEqual([...fromFloat16(x)].map((v) => 2 * v))
  })

  it('returns compile errors as KernelCompileError with line and column', async () => {
    const err = await host
      .run({
        kernel: 'custom',
        program: BROKEN,
        inputs: [],
        outputs: [{ length: 1 }],
        workgroups: [1, 1, 1],
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelCompileError)
    const compile = err as KernelCompileError
    expect(compile.code).toBe('KERNEL_COMPILE')
    const first = compile.messages.find((m) => m.type === 'error')
    expect(first).toMatchObject({ line: 4, message: expect.stringMatching(/undeclared_value/) })
    expect(first?.column).toBeGreaterThan(0)
    expect(compile.message).toMatch(/4:\d+: error: .*undeclared_value/)
  })

  it('reports a binding the WGSL declares differently from the program as KernelCompileError', async () => {
    const program: CustomKernelProgram = {
      ...BROKEN,
      wgsl: `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { y[0] = 1.0; }`,
      entryPoint: 'start',
    }
    await expect(
      host.run({
        kernel: 'custom',
        program,
        inputs: [],
        outputs: [{ length: 1 }],
        workgroups: [1, 1, 1],
      }),
    ).rejects.toThrow(KernelCompileError)
  })

  it('checks workgroups, outputs and params against limits and caps before running', async () => {
    const { maxComputeWorkgroupsPerDimension: maxPerDim, maxUniformBufferBindingSize } =
      host.info.limits
    const request = axpyRequest(64)
    await expect(
      host.run({ kernel: 'custom', ...request, workgroups: [maxPerDim + 1, 1, 1] }),
    ).rejects.toThrow(
      new RegExp(`workgroups\\[0\\] is ${maxPerDim + 1}, above maxComputeWorkgroupsPerDimension`),
    )
    await expect(
      host.run({
        kernel: 'custom',
        ...request,
        workgroups: [4, 4, 1],
        caps: { maxWorkgroups: 15 },
      }),
    ).rejects.toThrow(/make 16, above the job's cap maxWorkgroups 15/)
    await expect(
      host.run({ kernel: 'custom', ...request, caps: { maxWorkgroups: Number.NaN } }),
    ).rejects.toThrow(/caps\.maxWorkgroups must be a number >= 0, got NaN/)
    await expect(
      host.run({ kernel: 'custom', ...request, caps: { maxOutputBytes: 511 } }),
    ).rejects.toThrow(/outputs need 512 bytes, above the job's cap maxOutputBytes 511/)
    await expect(
      host.run({
        kernel: 'custom',
        ...request,
        params: new Uint8Array(maxUniformBufferBindingSize + 16),
      }),
    ).rejects.toThrow(/above maxUniformBufferBindingSize/)
    await expect(
      host.run({
        kernel: 'custom',
        ...request,
        inputs: [new Float32Array(4), new Float32Array(4)],
      }),
    ).rejects.toThrow(/inputs\[1\] \(offset\) must be a Int32Array for dtype int32/)
    await expect(host.run({ kernel: 'custom', ...request, workgroups: [0, 1, 1] })).rejects.toThrow(
      KernelShapeError,
    )
  })

  it('refuses an input or output above the binding-size limit before allocating it', () => {
    // A device whose storage bindings hold 200 bytes: x (64 f32 = 256 bytes) cannot bind.
    const limits = { ...host.info.limits, maxStorageBufferBindingSize: 200 }
    expect(() => planCustomKernel(axpyRequest(64), limits)).toThrow(KernelLimitError)
    expect(() => planCustomKernel(axpyRequest(64), limits)).toThrow(
      /input x needs 256 bytes \(64 float32\), above maxStorageBufferBindingSize 200/,
    )
    // Inputs that fit, an output that does not (y: 50 f32 = 200 bytes fits; 51 does not).
    const request = axpyRequest(50)
    expect(() => planCustomKernel(request, limits)).not.toThrow()
    const longer = { ...request, outputs: [{ length: 51 }, { length: 50 }] }
    expect(() => planCustomKernel(longer, limits)).toThrow(/above maxStorageBufferBindingSize 200/)
  })
})

describe('validateCustomProgram (no GPU)', () => {
  it('accepts a well-formed program', () => {
    expect(() => validateCustomProgram(AXPY, { maxStorageBuffersPerShaderStage: 8 })).not.toThrow()
  })

  it('names what is wrong', () => {
    expect(() => validateCustomProgram({ ...AXPY, wgsl: '' })).toThrow(
      /program\.wgsl must be a non-empty/,
    )
    expect(() => validateCustomProgram({ ...AXPY, wgsl: 'x'.repeat(64 * 1024 + 1) })).toThrow(
      /65537 bytes, above the 65536-byte limit/,
    )
    expect(() =>
      validateCustomProgram({ ...AXPY, inputs: [{ name: 'y', dtype: 'float32' }] }),
    ).toThrow(/program\.outputs\[0\]\.name y is declared twice/)
    expect(() =>
      validateCustomProgram({ ...AXPY, inputs: [{ name: 'x', dtype: 'float64' as 'float32' }] }),
    ).toThrow(/program\.inputs\[0\]\.dtype must be one of float32, float16, int32, uint32/)
    expect(() => validateCustomProgram({ ...AXPY, outputs: [] })).toThrow(/at least one output/)
    expect(() => validateCustomProgram({ ...AXPY, entryPoint: 'main()' })).toThrow(/entryPoint/)
    expect(() => validateCustomProgram(AXPY, { maxStorageBuffersPerShaderStage: 3 })).toThrow(
      new KernelLimitError(
        'program declares 4 storage buffers (2 inputs + 2 outputs), above maxStorageBuffersPerShaderStage 3.',
      ),
    )
  })
})

describe('custom kernels through the worker API (comlink over a MessageChannel)', () => {
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

  it('run() returns every output, typed', async () => {
    const [y, index] = await api.run({ kernel: 'custom', ...axpyRequest(10) })
    expect(y).toBeInstanceOf(Float32Array)
    expect([...(index as Uint32Array)]).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27])
  })

  it('a compile error arrives as KernelCompileError with its messages and line numbers', async () => {
    const err = await api
      .run({
        kernel: 'custom',
        program: BROKEN,
        inputs: [],
        outputs: [{ length: 1 }],
        workgroups: [1, 1, 1],
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelCompileError)
    expect((err as KernelCompileError).messages[0]).toMatchObject({ type: 'error', line: 4 })
    expect((err as Error).message).toMatch(
      /^WGSL of custom-kernel failed to compile\.\n\nDetails: 4:/,
    )
  })

  it('run() serves built-in kernels too', async () => {
    const request = { kernel: 'activation', op: 'relu', x: Float32Array.of(-1, 2, -3) } as const
    const y = await api.run(request)
    expect(compareElementwise(y as Float32Array, activationReference(request))).toMatchObject({
      ok: true,
    })
  })
})
