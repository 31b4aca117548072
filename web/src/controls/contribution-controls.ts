import type { Capabilities } from '@tabswarm/protocol'
import { KernelLimitError, type KernelRunner } from '@tabswarm/worker-kernels'
import type { ContributorControls } from './controls.ts'

/** Bytes in a MiB. */
const MIB = 1024 ** 2

/**
 * What `contribute()` needs of the contributor's controls: read at each hello and kernel
 * call, so a change applies to the next task, and a gate awaited before each lease.
 */
export interface ContributionControls {
  /** The controls now. */
  current(): ContributorControls
  /** Resolves once the tab may take work; rejects when `signal` aborts. */
  whenOpen(signal: AbortSignal): Promise<void>
}

/**
 * The capabilities this tab announces under its controls: buffer limits no larger than
 * the memory cap (so the coordinator's capability match never leases a task that needs a
 * larger buffer), and `custom` left out of `kernels` for a contributor who opted out of
 * researchers' WGSL.
 */
export function controlledCapabilities(
  capabilities: Capabilities,
  controls: ContributorControls,
): Capabilities {
  const limits = { ...capabilities.limits }
  if (controls.memoryCapMiB != null) {
    const cap = controls.memoryCapMiB * MIB
    for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) {
      limits[name] = Math.min(limits[name] ?? cap, cap)
    }
  }
  const kernels = controls.customKernels
    ? [...capabilities.kernels]
    : capabilities.kernels.filter((kernel) => kernel !== 'custom')
  return { ...capabilities, limits, kernels }
}

/** The bytes of each typed array a kernel request carries (its inputs), at any depth. */
function largestInputBytes(value: unknown, depth = 0): number {
  if (ArrayBuffer.isView(value)) return value.byteLength
  if (value instanceof ArrayBuffer) return value.byteLength
  if (depth > 3 || typeof value !== 'object' || value === null) return 0
  let largest = 0
  for (const item of Object.values(value)) {
    largest = Math.max(largest, largestInputBytes(item, depth + 1))
  }
  return largest
}

/**
 * The kernel runner under the controls: each call runs at the chosen GPU share, and a
 * task with an input larger than the memory cap is refused here too (with a
 * `KernelLimitError`, reported to the relay as the task's error), whatever the relay
 * leased: the cap holds even against a coordinator that ignored it, or a cap lowered
 * after the last hello. A custom kernel after an opt-out is refused the same way.
 */
export function controlledRunner(
  runner: KernelRunner,
  current: () => ContributorControls,
): KernelRunner {
  return {
    run(request, options = {}) {
      const controls = current()
      if (!controls.customKernels && request.kernel === 'custom') {
        return Promise.reject(
          new KernelLimitError(
            "This tab opted out of researchers' custom kernels; the relay should not have leased one.",
          ),
        )
      }
      if (controls.memoryCapMiB != null) {
        const largest = largestInputBytes(request)
        if (largest > controls.memoryCapMiB * MIB) {
          return Promise.reject(
            new KernelLimitError(
              `An input of ${(largest / MIB).toFixed(1)} MiB is above this tab's memory cap of ${controls.memoryCapMiB} MiB.`,
              { details: 'Raise the memory cap in the controls to take tasks this large.' },
            ),
          )
        }
      }
      return runner.run(request, { ...options, gpuShare: controls.gpuShare })
    },
  }
}
