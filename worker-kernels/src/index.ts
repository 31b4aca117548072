/**
 * Browser-safe entry of `@tabswarm/worker-kernels`: WGSL kernels, the kernel host,
 * CPU references and verifiers. Nothing here touches the GPU on import.
 * Node (dawn) lives in `@tabswarm/worker-kernels/node`, the worker entry in `/worker`.
 */

export {
  type CompareMatmulOptions,
  compareMatmul,
  type MatmulComparison,
  type MatmulDtype,
} from './compare/matmul-tolerance.ts'
export { DEFAULT_KERNEL_TIMEOUT_MS, DEFAULT_POWER_PREFERENCE } from './constants.ts'
export {
  DeviceLostError,
  deserializeError,
  type ErrorDetailsOptions,
  GpuUnavailableError,
  isSerializedError,
  KernelAbortedError,
  KernelExecutionError,
  KernelLimitError,
  KernelShapeError,
  KernelTimeoutError,
  type SerializedError,
  TabswarmError,
  type TabswarmErrorOptions,
} from './errors.ts'
export {
  errorTransferHandler,
  registerErrorTransferHandler,
} from './host/error-transfer-handler.ts'
export { createKernelHost, type KernelHost, type KernelHostOptions } from './host/kernel-host.ts'
export type {
  DeviceLostDetails,
  HostInfo,
  HostLimits,
  KernelRunOptions,
  KernelWorkerApi,
  MatmulRequest,
} from './host/kernel-types.ts'
export {
  createKernelWorkerApi,
  exposeKernelWorker,
  type KernelWorkerApiOptions,
} from './host/kernel-worker-api.ts'
export {
  createTiledMatmulKernel,
  createTiledMatmulWgsl,
  DEFAULT_TILED_MATMUL_CONFIG,
  MATMUL_TILED_WGSL,
  matmulTiledKernel,
  type TiledMatmulConfig,
} from './kernels/matmul/matmul.wgsl.ts'
export { type MatmulDispatch, planMatmulDispatches } from './kernels/matmul/matmul-dispatch-plan.ts'
export {
  MATMUL_BINDINGS_WGSL,
  MATMUL_DIMS_BYTES,
  type MatmulKernel,
  type MatmulVariant,
  packMatmulDims,
} from './kernels/matmul/matmul-kernel.ts'
export { MATMUL_NAIVE_WGSL, matmulNaiveKernel } from './kernels/matmul/matmul-naive.wgsl.ts'
export { assertMatmulShape, type MatmulOperands } from './kernels/matmul/matmul-shape.ts'
export {
  type MatmulReferenceResult,
  matmulReference,
  matmulReferenceWithBound,
} from './reference/matmul-reference.ts'
export { seededRandomF32 } from './reference/seeded-random.ts'
