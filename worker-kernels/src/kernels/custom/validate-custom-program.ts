import { isTensorDtype, TENSOR_DTYPES } from '@tabswarm/protocol'
import { MAX_CUSTOM_WGSL_BYTES } from '../../constants.ts'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import type { CustomKernelProgram } from './custom-kernel-types.ts'

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const MAX_BINDINGS = 64

/** Limits `validateCustomProgram` can check without a GPU. */
export type CustomProgramLimits = { maxStorageBuffersPerShaderStage?: number }

function assertBindings(kind: 'inputs' | 'outputs', value: unknown, seen: Set<string>): number {
  if (!Array.isArray(value)) throw new KernelShapeError(`program.${kind} must be an array.`)
  value.forEach((binding: unknown, i) => {
    const where = `program.${kind}[${i}]`
    if (typeof binding !== 'object' || binding === null) {
      throw new KernelShapeError(`${where} must be an object { name, dtype }.`)
    }
    const { name, dtype } = binding as Record<string, unknown>
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new KernelShapeError(
        `${where}.name must be an identifier of at most 64 characters, got ${JSON.stringify(name)}.`,
      )
    }
    if (seen.has(name)) throw new KernelShapeError(`${where}.name ${name} is declared twice.`)
    seen.add(name)
    if (!isTensorDtype(dtype)) {
      throw new KernelShapeError(
        `${where}.dtype must be one of ${TENSOR_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}.`,
      )
    }
  })
  return value.length
}

/**
 * Check the shape of a custom program without a GPU: WGSL is a non-empty string of at
 * most 64 KiB (UTF-8), the entry point an identifier, bindings named uniquely with
 * known dtypes, at least one output, and, when `limits` are given, no more storage
 * bindings than `maxStorageBuffersPerShaderStage`. Throws `KernelShapeError` (or
 * `KernelLimitError` for the binding count) naming the field. It does not compile the
 * WGSL: that needs a device (`run({ kernel: 'custom', ... })` reports
 * `KernelCompileError`).
 *
 * @example
 * validateCustomProgram(job.program, { maxStorageBuffersPerShaderStage: 8 })
 */
export function validateCustomProgram(
  program: CustomKernelProgram,
  limits: CustomProgramLimits = {},
): void {
  if (typeof program !== 'object' || program === null) {
    throw new KernelShapeError('program must be an object { wgsl, inputs, outputs }.')
  }
  const { wgsl, entryPoint } = program
  if (typeof wgsl !== 'string' || wgsl.trim() === '') {
    throw new KernelShapeError('program.wgsl must be a non-empty string.')
  }
  const bytes = new TextEncoder().encode(wgsl).byteLength
  if (bytes > MAX_CUSTOM_WGSL_BYTES) {
    throw new KernelLimitError(
      `program.wgsl is ${bytes} bytes, above the ${MAX_CUSTOM_WGSL_BYTES}-byte limit of custom kernels.`,
    )
  }
  if (entryPoint !== undefined && (typeof entryPoint !== 'string' || !NAME.test(entryPoint))) {
    throw new KernelShapeError(
      `program.entryPoint must be an identifier, got ${JSON.stringify(entryPoint)}.`,
    )
  }
  const seen = new Set<string>()
  const inputs = assertBindings('inputs', program.inputs, seen)
  const outputs = assertBindings('outputs', program.outputs, seen)
  if (outputs < 1) throw new KernelShapeError('program.outputs must declare at least one output.')
  const storage = inputs + outputs
  if (storage > MAX_BINDINGS) {
    throw new KernelLimitError(`program declares ${storage} buffers, above ${MAX_BINDINGS}.`)
  }
  const max = limits.maxStorageBuffersPerShaderStage
  if (max !== undefined && storage > max) {
    throw new KernelLimitError(
      `program declares ${storage} storage buffers (${inputs} inputs + ${outputs} outputs), above maxStorageBuffersPerShaderStage ${max}.`,
    )
  }
}
