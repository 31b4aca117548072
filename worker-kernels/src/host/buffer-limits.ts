import { KernelLimitError } from '../errors.ts'

/** The limits one storage buffer of a kernel must fit. */
export type BufferLimits = { maxStorageBufferBindingSize: number; maxBufferSize: number }

/**
 * Check, before anything is allocated, that a buffer of `bytes` fits one storage
 * binding on this device. Throws `KernelLimitError` naming the buffer, its size (with
 * `formula`, e.g. `m*k*4 = 3*5*4`) and the limit it exceeds.
 */
export function assertBufferFits(
  label: string,
  formula: string,
  bytes: number,
  limits: BufferLimits,
): void {
  // Each buffer is both one GPUBuffer and one storage binding, so both limits apply.
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
