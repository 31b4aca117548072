/** Node entry of `@tabswarm/worker-kernels`: the kernel host on dawn.node. */

export {
  createKernelHostProcess,
  DEFAULT_KERNEL_PROCESS_GRACE_MS,
  type KernelHostProcessOptions,
} from './create-kernel-host-process.ts'
export {
  CHROMIUM_SWIFTSHADER_ICD,
  createNodeGpu,
  type NodeGpuOptions,
  selectVulkanIcd,
} from './create-node-gpu.ts'
export { createNodeKernelHost, type NodeKernelHostOptions } from './create-node-kernel-host.ts'
export {
  createWgslChecker,
  DEFAULT_WGSL_CHECK_TIMEOUT_MS,
  type WgslChecker,
  type WgslCheckerOptions,
  type WgslCheckOptions,
} from './create-wgsl-checker.ts'
