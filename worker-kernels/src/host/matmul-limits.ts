import { KernelLimitError } from '../errors.ts'
import type { HostLimits } from './kernel-types.ts'

const F32_BYTES = 4

function assertFits(label: string, formula: string, bytes: number, limits: HostLimits): void {
  // Each operand is both one buffer and one storage binding, so both limits apply.
  if (bytes > limits.maxStorageBufferBindingSize) {
    throw new KernelLimitError(
      `${label} needs ${bytes} bytes (${formula}), above maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}.`,
    )
  }
  if (bytes > limits.maxBufferSize) {
    throw new KernelLimitError(
      `${label} needs ${bytes} bytes (${formula}), above maxBufferSize ${limits.maxBufferSize}.`,
    )
  }
}

/**
 * Check, before anything is allocated, that A, B and C each fit one storage binding on
 * this device. Throws `KernelLimitError` naming the operand, its size and the limit.
 * Shapes must already be valid (`assertMatmulShape`).
 */
export function assertMatmulFitsLimits(
  { m, k, n }: { m: number; k: number; n: number },
  limits: HostLimits,
): void {
  assertFits('A', `m*k*4 = ${m}*${k}*4`, m * k * F32_BYTES, limits)
  assertFits('B', `k*n*4 = ${k}*${n}*4`, k * n * F32_BYTES, limits)
  assertFits('C', `m*n*4 = ${m}*${n}*4`, m * n * F32_BYTES, limits)
}
