import {
  alignedViewAs,
  type BufferTensor,
  elementCount,
  type InputRef,
  type Lease,
  readProgramSource,
  type TensorDtype,
  tensorByteLength,
} from '@tabswarm/protocol'
import type { KernelRequest, KernelResult } from '@tabswarm/worker-kernels'

/**
 * One lease, one kernel call: how a lease's program and its fetched inputs become the
 * `KernelRequest` every kernel runs through, and how the kernel's result becomes the named
 * output buffers of the one `result` message. Matmul is a built-in program over the same
 * buffers as any other (inputs `a`, `b`; output `c`); a `wgsl` program is custom.
 */

/** A malformed lease: its program, inputs and outputs do not fit together. */
function leaseError(lease: Lease, problem: string): Error {
  return new Error(`lease ${lease.leaseId} (${lease.program.kind}): ${problem}`)
}

/** The fetched bytes of the input bound as `name`, checked against its dtype and shape. */
function inputNamed(
  lease: Lease,
  buffers: readonly (Uint8Array | undefined)[],
  name: string,
  dtype: TensorDtype,
): { ref: InputRef; bytes: Uint8Array } {
  const index = lease.inputs.findIndex((ref) => ref.name === name)
  const ref = lease.inputs[index]
  const bytes = buffers[index]
  if (ref == null || bytes == null) throw leaseError(lease, `no input named ${name}`)
  if (ref.dtype !== dtype) {
    throw leaseError(lease, `input ${name} is ${ref.dtype}, the program binds ${dtype}`)
  }
  const expected = tensorByteLength(ref.shape, ref.dtype)
  if (bytes.byteLength !== expected) {
    throw leaseError(
      lease,
      `input ${name} is ${bytes.byteLength} bytes, ${ref.dtype}[${ref.shape.join(', ')}] needs ${expected}`,
    )
  }
  return { ref, bytes }
}

/**
 * The kernel request a lease runs: `matmul` over float32 views of inputs `a` and `b`, or
 * `custom` with the WGSL read from the lease's payload. `buffers` are the inputs' bytes in
 * `lease.inputs` order, already checked against their hashes. Throws on a lease whose
 * parts do not fit (a missing input, a dtype or size its program does not bind).
 *
 * @example
 * const request = kernelRequestFor(lease, payload, buffers)
 * const output = await executor.run(request, { signal, timeoutMs })
 */
export function kernelRequestFor(
  lease: Lease,
  payload: Uint8Array,
  buffers: readonly (Uint8Array | undefined)[],
): KernelRequest {
  const { program } = lease
  if (program.kind === 'matmul') {
    const { m, k, n } = program
    const a = inputNamed(lease, buffers, 'a', 'float32')
    const b = inputNamed(lease, buffers, 'b', 'float32')
    if (elementCount(a.ref.shape) !== m * k || elementCount(b.ref.shape) !== k * n) {
      throw leaseError(
        lease,
        `inputs a [${a.ref.shape.join(', ')}] and b [${b.ref.shape.join(', ')}] do not fit m=${m} k=${k} n=${n}`,
      )
    }
    return {
      kernel: 'matmul',
      a: alignedViewAs('float32', a.bytes) as Float32Array,
      b: alignedViewAs('float32', b.bytes) as Float32Array,
      m,
      k,
      n,
    }
  }
  if (program.kind !== 'wgsl')
    throw leaseError(
      lease,
      `a ${program.kind} program runs on the decoder executor, not as one kernel`,
    )
  if (lease.workgroups == null) throw leaseError(lease, 'a wgsl program needs workgroups')
  if (lease.outputs.length !== program.outputs.length) {
    throw leaseError(
      lease,
      `the program declares ${program.outputs.length} outputs, the lease ${lease.outputs.length}`,
    )
  }
  return {
    kernel: 'custom',
    program: {
      wgsl: readProgramSource(payload, program.source),
      inputs: program.inputs,
      outputs: program.outputs,
      ...(program.entryPoint != null ? { entryPoint: program.entryPoint } : {}),
    },
    inputs: program.inputs.map((binding) =>
      alignedViewAs(binding.dtype, inputNamed(lease, buffers, binding.name, binding.dtype).bytes),
    ),
    outputs: lease.outputs.map((o) => ({ length: elementCount(o.shape) })),
    workgroups: lease.workgroups,
    ...(lease.params != null
      ? { params: Uint8Array.from(atob(lease.params), (ch) => ch.charCodeAt(0)) }
      : {}),
  }
}

/**
 * The kernel's result as the lease's named outputs, in order, ready for `packBuffers`:
 * one array for a built-in kernel, one per declared output for a custom one. Throws when
 * the kernel returned another number of outputs than the lease declares.
 *
 * @example
 * const { slots, payload } = packBuffers(outputBuffersOf(lease, output))
 */
export function outputBuffersOf(lease: Lease, result: KernelResult): BufferTensor[] {
  const views: ArrayBufferView[] = Array.isArray(result) ? result : [result]
  if (views.length !== lease.outputs.length) {
    throw leaseError(
      lease,
      `the kernel returned ${views.length} outputs, the lease declares ${lease.outputs.length}`,
    )
  }
  return lease.outputs.map((out, i) => {
    const view = views[i]!
    return {
      name: out.name,
      dtype: out.dtype,
      shape: out.shape,
      bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
    }
  })
}
