import { KernelShapeError } from '../../errors.ts'

/**
 * Check that a count (dimension, batch, rows) is a positive safe integer that fits a
 * u32 uniform. Throws `KernelShapeError` naming it.
 */
export function assertDimension(name: string, value: unknown): asserts value is number {
  // Dimensions become u32 uniforms and buffer sizes: fractions, zeros and NaN would
  // either fail deep inside WebGPU or silently truncate.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value >= 2 ** 32) {
    throw new KernelShapeError(`${name} must be a positive integer, got ${String(value)}.`)
  }
}
