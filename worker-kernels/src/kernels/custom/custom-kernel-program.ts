import { BYTES_PER_ELEMENT, typedArrayClassOf, viewAs } from '@tabswarm/protocol'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import type { KernelPlan } from '../common/kernel-plan.ts'
import type { CustomKernelRequest } from './custom-kernel-types.ts'
import { validateCustomProgram } from './validate-custom-program.ts'

/** Rough cost of one workgroup of unknown code, for splitting submissions: one per dispatch. */
const UNKNOWN_WORK = 1

/**
 * Check a custom kernel request against its program, the device limits and the job's
 * caps, all before anything is allocated, and plan it: inputs uploaded as given,
 * outputs zeroed (pooled buffers must not leak an earlier job's data), one dispatch of
 * exactly `workgroups`. Errors name the field or the limit: `KernelShapeError` for
 * malformed requests, `KernelLimitError` for sizes over a limit or cap.
 */
export function planCustomKernel(
  request: CustomKernelRequest,
  limits: HostLimits,
): KernelPlan<ArrayBufferView<ArrayBuffer>[]> {
  if (typeof request !== 'object' || request === null) {
    throw new KernelShapeError('A custom kernel request must be an object.')
  }
  const { program, caps = {} } = request
  validateCustomProgram(program, limits)
  for (const name of ['maxOutputBytes', 'maxWorkgroups'] as const) {
    const cap = caps[name]
    if (cap !== undefined && (typeof cap !== 'number' || !(cap >= 0))) {
      throw new KernelShapeError(`caps.${name} must be a number >= 0, got ${String(cap)}.`)
    }
  }
  const buffers: ProgramBuffer[] = []

  if (!Array.isArray(request.inputs) || request.inputs.length !== program.inputs.length) {
    throw new KernelShapeError(
      `inputs must hold ${program.inputs.length} arrays (one per program.inputs), got ${Array.isArray(request.inputs) ? request.inputs.length : typeof request.inputs}.`,
    )
  }
  program.inputs.forEach(({ name, dtype }, i) => {
    const data = request.inputs[i]
    const Type = typedArrayClassOf(dtype)
    if (!(data instanceof Type)) {
      throw new KernelShapeError(
        `inputs[${i}] (${name}) must be a ${Type.name} for dtype ${dtype}.`,
      )
    }
    if (data.length === 0) {
      // A storage binding cannot be empty; a padded one would misreport arrayLength().
      throw new KernelShapeError(
        `inputs[${i}] (${name}) is empty; bindings need at least one element.`,
      )
    }
    assertBufferFits(`input ${name}`, `${data.length} ${dtype}`, data.byteLength, limits)
    buffers.push({ kind: 'input', label: name, data })
  })

  if (!Array.isArray(request.outputs) || request.outputs.length !== program.outputs.length) {
    throw new KernelShapeError(
      `outputs must hold ${program.outputs.length} entries { length } (one per program.outputs).`,
    )
  }
  let outputBytes = 0
  const outputIndices = program.outputs.map(({ name, dtype }, i) => {
    const length = request.outputs[i]?.length
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1) {
      throw new KernelShapeError(
        `outputs[${i}].length (${name}) must be a positive integer, got ${String(length)}.`,
      )
    }
    const bytes = length * BYTES_PER_ELEMENT[dtype]
    assertBufferFits(`output ${name}`, `${length}*${BYTES_PER_ELEMENT[dtype]}`, bytes, limits)
    outputBytes += bytes
    return buffers.push({ kind: 'output', label: name, bytes }) - 1
  })
  if (caps.maxOutputBytes !== undefined && outputBytes > caps.maxOutputBytes) {
    throw new KernelLimitError(
      `outputs need ${outputBytes} bytes, above the job's cap maxOutputBytes ${caps.maxOutputBytes}.`,
    )
  }

  const { workgroups } = request
  if (!Array.isArray(workgroups) || workgroups.length !== 3) {
    throw new KernelShapeError('workgroups must be [x, y, z].')
  }
  workgroups.forEach((count, axis) => {
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
      throw new KernelShapeError(
        `workgroups[${axis}] must be a positive integer, got ${String(count)}.`,
      )
    }
    if (count > limits.maxComputeWorkgroupsPerDimension) {
      throw new KernelLimitError(
        `workgroups[${axis}] is ${count}, above maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}.`,
      )
    }
  })
  const total = workgroups[0] * workgroups[1] * workgroups[2]
  if (caps.maxWorkgroups !== undefined && total > caps.maxWorkgroups) {
    throw new KernelLimitError(
      `workgroups [${workgroups.join(', ')}] make ${total}, above the job's cap maxWorkgroups ${caps.maxWorkgroups}.`,
    )
  }

  const { params } = request
  if (params !== undefined) {
    if (!(params instanceof Uint8Array) || params.byteLength === 0) {
      throw new KernelShapeError('params must be a non-empty Uint8Array.')
    }
    if (params.byteLength > limits.maxUniformBufferBindingSize) {
      throw new KernelLimitError(
        `params is ${params.byteLength} bytes, above maxUniformBufferBindingSize ${limits.maxUniformBufferBindingSize}.`,
      )
    }
  }

  const entryPoint = program.entryPoint ?? 'main'
  const reads = program.inputs.map((_, i) => i)
  return {
    program: {
      label: 'custom',
      buffers,
      outputs: outputIndices,
      zeroOutputs: true,
      passes: [
        {
          // The layout is part of the key: the same WGSL with other bindings is another pipeline.
          key: `custom:${entryPoint}:${reads.length}:${outputIndices.length}:${params ? 1 : 0}:${program.wgsl}`,
          label: 'custom-kernel',
          code: program.wgsl,
          entryPoint,
          reads,
          writes: outputIndices,
          uniform: params ? 'raw' : 'none',
          ...(params ? { params } : {}),
          grid: [...workgroups],
          workPerWorkgroup: UNKNOWN_WORK,
        },
      ],
    },
    decode: (outputs) =>
      program.outputs.map(
        ({ dtype }, i) => viewAs(dtype, outputs[i] as ArrayBuffer) as ArrayBufferView<ArrayBuffer>,
      ),
  }
}
