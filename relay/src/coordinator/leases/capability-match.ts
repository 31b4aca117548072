import type { Capabilities, CustomJobSpec } from '@tabswarm/protocol'
import { tensorByteLength } from '@tabswarm/protocol'

/**
 * What a device must offer to run a job's tasks: the kernel, the features, and room for
 * every buffer a task binds. Computed once per job; `mismatch` tells whether a
 * contributor's reported capabilities meet it.
 */
export interface TaskRequirement {
  /**
   * The entry of `Capabilities.kernels` the contributor must list: an inference job's
   * tasks need `decoder-stage` or `decoder-generate` (the contributor runs the decoder).
   */
  kernel: 'matmul' | 'custom' | 'decoder-stage' | 'decoder-generate'
  /** Bytes of the largest storage buffer one task binds (an input or an output). */
  largestBinding: number
  /** Storage buffers one task binds at once. */
  storageBindings: number
  /**
   * Bytes of all the buffers of the largest task (inputs and outputs together), checked
   * against a contributor's memory cap (`Capabilities.memoryCapBytes`).
   */
  taskBytes: number
  /** Bytes of the uniform block (custom `params`), 0 when none. */
  uniformBytes: number
  /** Largest workgroup count of a dispatch, in any dimension. */
  workgroupsPerDimension: number
  /** Device features the program needs, e.g. `shader-f16`. */
  features: string[]
}

/**
 * WebGPU's guaranteed minimums: a device that reports no value for a limit has at least
 * these (every adapter must), so a missing limit is read as its default, not as "unlimited".
 */
export const WEBGPU_DEFAULT_LIMITS = {
  maxStorageBufferBindingSize: 128 * 1024 ** 2,
  maxBufferSize: 256 * 1024 ** 2,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBufferBindingSize: 64 * 1024,
  maxComputeWorkgroupsPerDimension: 65_535,
} as const

/**
 * A matmul tile of at most `edge`×`edge` outputs over `k`: A's band, B's band and C's tile
 * are three storage buffers (float32).
 */
export function matmulRequirement(edge: number, m: number, k: number, n: number): TaskRequirement {
  const rows = Math.min(edge, m)
  const cols = Math.min(edge, n)
  // The tiled kernel dispatches one 16×16 workgroup per 16×16 block of C.
  const workgroups = Math.ceil(Math.max(rows, cols) / 16)
  return {
    kernel: 'matmul',
    largestBinding: 4 * Math.max(rows * k, k * cols, rows * cols),
    storageBindings: 3,
    taskBytes: 4 * (rows * k + k * cols + rows * cols),
    uniformBytes: 0,
    workgroupsPerDimension: workgroups,
    features: [],
  }
}

/** The most any one task of a custom job asks for. */
export function customRequirement(spec: CustomJobSpec): TaskRequirement {
  const { program } = spec
  let largestBinding = 0
  let taskBytes = 0
  let uniformBytes = 0
  let workgroupsPerDimension = 1
  for (const task of spec.tasks) {
    let total = 0
    for (const ref of [...task.inputs, ...task.outputs]) {
      const bytes = tensorByteLength(ref.shape, ref.dtype)
      largestBinding = Math.max(largestBinding, bytes)
      total += bytes
    }
    taskBytes = Math.max(taskBytes, total)
    if (task.params != null)
      uniformBytes = Math.max(uniformBytes, Math.floor((task.params.length * 3) / 4))
    workgroupsPerDimension = Math.max(workgroupsPerDimension, ...task.workgroups)
  }
  const usesF16 = [...program.inputs, ...program.outputs].some((b) => b.dtype === 'float16')
  return {
    kernel: 'custom',
    largestBinding,
    storageBindings: program.inputs.length + program.outputs.length,
    taskBytes,
    uniformBytes,
    workgroupsPerDimension,
    features: usesF16 ? ['shader-f16'] : [],
  }
}

/**
 * Why a device with these capabilities cannot run the tasks, or undefined when it can. The
 * reason names the kernel, feature, limit or memory cap, for logs and tests. A contributor
 * that opted out of researchers' custom kernels leaves `custom` out of its `kernels`, and
 * one with a memory cap lowers its limits or sends `memoryCapBytes`: both are honoured here.
 */
export function mismatch(
  capabilities: Capabilities | undefined,
  need: TaskRequirement,
): string | undefined {
  if (capabilities == null) return 'no capabilities reported'
  if (!capabilities.kernels.includes(need.kernel)) return `does not run ${need.kernel} kernels`
  for (const feature of need.features)
    if (!capabilities.features.includes(feature)) return `lacks the ${feature} feature`
  const limit = (name: keyof typeof WEBGPU_DEFAULT_LIMITS) => {
    const value = capabilities.limits[name]
    return typeof value === 'number' && Number.isFinite(value) ? value : WEBGPU_DEFAULT_LIMITS[name]
  }
  const checks: Array<[keyof typeof WEBGPU_DEFAULT_LIMITS, number]> = [
    ['maxStorageBufferBindingSize', need.largestBinding],
    ['maxBufferSize', need.largestBinding],
    ['maxStorageBuffersPerShaderStage', need.storageBindings],
    ['maxUniformBufferBindingSize', need.uniformBytes],
    ['maxComputeWorkgroupsPerDimension', need.workgroupsPerDimension],
  ]
  for (const [name, needed] of checks)
    if (needed > limit(name)) return `${name} ${limit(name)} < ${needed} needed`
  // The contributor's own cap on what one task may hold, below what its device could.
  const cap = capabilities.memoryCapBytes
  if (cap != null && need.taskBytes > cap)
    return `memory cap ${cap} bytes < ${need.taskBytes} bytes one task needs`
  return undefined
}
