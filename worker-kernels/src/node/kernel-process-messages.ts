import type { SerializedError } from '@tabswarm/protocol'
import type { KernelCompileMessage } from '../errors.ts'
import type { DeviceLostDetails, HostInfo } from '../host/kernel-types.ts'
import type { KernelRequest } from '../kernels/kernel-request.ts'
import type { NodeKernelHostOptions } from './create-node-kernel-host.ts'

/**
 * The host options that can cross to the kernel process: everything but callbacks
 * (`onDeviceLost` stays with the parent, which hears of a loss as a message).
 */
export type KernelProcessHostOptions = Omit<NodeKernelHostOptions, 'onDeviceLost'>

/** Parent to kernel process, over Node's IPC channel with `serialization: 'advanced'`. */
export type ToKernelProcess =
  | { type: 'init'; options: KernelProcessHostOptions }
  | { type: 'run'; id: number; request: KernelRequest; timeoutMs: number }
  | { type: 'cancel'; id: number }
  /** Compile WGSL only (nothing runs): for a relay that checks researchers' kernels at submit. */
  | { type: 'check'; id: number; wgsl: string; entryPoint: string }

/** Kernel process to parent. Typed arrays travel by structured clone. */
export type FromKernelProcess =
  | { type: 'ready'; info: HostInfo }
  | { type: 'init-failed'; error: SerializedError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'checked'; id: number; messages: KernelCompileMessage[] }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'device-lost'; details: DeviceLostDetails }
