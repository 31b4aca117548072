import {
  appendProgramSource,
  type InputRef,
  type Lease,
  sha256Hex,
  type TensorDtype,
} from '@tabswarm/protocol'
import type { KernelRequest } from '@tabswarm/worker-kernels'
import type { KernelExecutor } from '../contributor-loop.ts'
import type { FetchedInput, InputFetchOptions, InputSource } from '../input-source.ts'

/**
 * Fakes for driving the contributor loop without a relay or a GPU: leases over named
 * byte buffers, an input source serving them from memory, and executors. Test-only.
 */

/** A named input: its binding name, dtype, shape and bytes. */
export interface FakeInput {
  name: string
  dtype: TensorDtype
  shape: number[]
  bytes: Uint8Array
}

/** The 1×1×1 matmul the fake relay leases: a = [2], b = [3]. */
export const matmulOperands: FakeInput[] = [
  { name: 'a', dtype: 'float32', shape: [1, 1], bytes: f32(2) },
  { name: 'b', dtype: 'float32', shape: [1, 1], bytes: f32(3) },
]

/** Float32 bytes of `values`. */
export function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer)
}

/** The input refs naming `inputs` by content, with optional providers. */
export async function refsOf(
  inputs: readonly FakeInput[],
  providers?: string[],
): Promise<InputRef[]> {
  return Promise.all(
    inputs.map(async (input) => ({
      name: input.name,
      dtype: input.dtype,
      shape: input.shape,
      sha256: await sha256Hex(input.bytes),
      byteLength: input.bytes.byteLength,
      ...(providers ? { providers } : {}),
    })),
  )
}

/** A matmul lease over `matmulOperands` (or `inputs`), without payload. */
export async function matmulLease(
  terms: { leaseId: string; taskId: string; expiresInMs: number },
  inputs: readonly FakeInput[] = matmulOperands,
): Promise<{ header: Lease; payload: Uint8Array }> {
  const a = inputs.find((i) => i.name === 'a')!
  const b = inputs.find((i) => i.name === 'b')!
  const [m, k] = a.shape as [number, number]
  const n = b.shape[1]!
  return {
    header: {
      type: 'lease',
      jobId: 'job-1',
      ...terms,
      program: { kind: 'matmul', m, k, n },
      inputs: await refsOf(inputs),
      outputs: [{ name: 'c', dtype: 'float32', shape: [m, n] }],
    },
    payload: new Uint8Array(),
  }
}

/** A wgsl lease: its source in the payload, inputs by content, one output per `outputs`. */
export async function wgslLease(
  terms: { leaseId: string; taskId: string; expiresInMs: number },
  inputs: readonly FakeInput[],
  outputs: Array<{ name: string; dtype: TensorDtype; shape: number[] }>,
  wgsl = '@compute @workgroup_size(1) fn main() {}',
): Promise<{ header: Lease; payload: Uint8Array }> {
  const { payload, source } = appendProgramSource(new Uint8Array(), wgsl)
  return {
    header: {
      type: 'lease',
      jobId: 'job-1',
      ...terms,
      program: {
        kind: 'wgsl',
        source,
        entryPoint: 'main',
        inputs: inputs.map(({ name, dtype }) => ({ name, dtype })),
        outputs: outputs.map(({ name, dtype }) => ({ name, dtype })),
      },
      inputs: await refsOf(inputs),
      outputs,
      workgroups: [1, 1, 1],
    },
    payload,
  }
}

/**
 * An input source serving `inputs` from memory by sha-256, recording each fetch; `held`
 * is what it announces. `from` is the origin it claims.
 */
export function fakeInputs(
  inputs: readonly FakeInput[],
  options: { held?: string[]; from?: FetchedInput['from'] } = {},
) {
  const fetches: Array<{ ref: InputRef; options: InputFetchOptions }> = []
  const byHash = new Map<string, Uint8Array>()
  const ready = Promise.all(
    inputs.map(async (input) => byHash.set(await sha256Hex(input.bytes), input.bytes)),
  )
  const source: InputSource = {
    async fetch(ref, fetchOptions) {
      fetches.push({ ref, options: fetchOptions })
      await ready
      const bytes = byHash.get(ref.sha256)
      if (bytes == null) throw new Error(`not held: ${ref.sha256}`)
      return { bytes, from: options.from ?? 'relay' }
    },
    // With `held` a source that serves peers (a tab), without it one that serves none.
    ...(options.held != null ? { held: () => options.held! } : {}),
  }
  return { source, fetches }
}

/**
 * An executor that runs matmul with `matmul` and refuses every other kernel, recording
 * each request.
 */
export function matmulRunner(
  matmul: (
    request: Extract<KernelRequest, { kernel: 'matmul' }>,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ) => Promise<Float32Array>,
): KernelExecutor & { requests: KernelRequest[] } {
  const requests: KernelRequest[] = []
  return {
    requests,
    async run(request, options = {}) {
      requests.push(request)
      if (request.kernel !== 'matmul') throw new Error(`only matmul here, not ${request.kernel}`)
      return (await matmul(request, options)) as never
    },
  }
}
