/**
 * Browser-safe entry of `@tabswarm/worker-kernels`: WGSL kernels, the kernel host,
 * CPU references and verifiers. Nothing here touches the GPU on import.
 * Node (dawn) lives in `@tabswarm/worker-kernels/node`, the worker entry in `/worker`.
 *
 * Every kernel runs through one path: `KernelRunner.run(request)` with a `KernelRequest`,
 * a union discriminated by `kernel`:
 * `matmul`, `activation`, `bias-add`, `residual-add`, `layer-norm`, `rms-norm`,
 * `softmax`, `reduce`, `attention`, `embedding`, `custom`. Each built-in kernel has a
 * CPU reference (`*Reference`) returning exact values and per-element tolerances for
 * `compareElementwise` (`matmulReferenceWithBound` + `compareMatmul` for matmul).
 * A whole decoder has a CPU reference too (`createDecoderReference`: `decoderEmbed`, `decoderRunLayers`
 * on a layer range with its `DecoderKvCache`, `decoderHead`; `DecoderSession`), with seeded
 * sampling and `generateReference`, for checking pipeline stages and generated tokens.
 * `KernelHost` (a device in this thread), `KernelWorkerClient` (a Web Worker, also the
 * respawning worker's `client`) and `createKernelHostProcess` (a Node child process) are
 * all `KernelRunner`s; the worker's comlink API, `KernelWorkerApi`, has `run` too.
 *
 * @example
 * const host = await createKernelHost({ gpu: navigator.gpu })
 * const request = { kernel: 'softmax', x, rows: 4, cols: 10 } as const
 * const y = await host.run(request, { timeoutMs: 10_000 })
 * compareElementwise(y, softmaxReference(request)).ok // true
 */

export {
  type CompareOptions,
  type Comparison,
  compareElementwise,
  type ReferenceResult,
} from './compare/compare-elementwise.ts'
export {
  type ActivationComparison,
  compareActivations,
  compareTopLogits,
  DECODER_SAFETY_FACTOR,
  DECODER_UNIT_ROUNDOFF,
  decoderTolerance,
  MAX_DECODER_TOLERANCE,
  MIN_DECODER_TOLERANCE,
  type TopLogits,
  type TopLogitsComparison,
} from './compare/decoder-tolerance.ts'
export {
  type CompareMatmulOptions,
  compareMatmul,
  type MatmulComparison,
  type MatmulDtype,
} from './compare/matmul-tolerance.ts'
export {
  ABSOLUTE_FLOOR,
  F16_PRODUCT_ROUNDING,
  F32_UNIT_ROUNDOFF,
  f16ProductGamma,
  gamma,
  OUTPUT_ROUNDING,
} from './compare/tolerance-model.ts'
export {
  DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS,
  DEFAULT_KERNEL_TIMEOUT_MS,
  DEFAULT_MAX_WORK_PER_SUBMISSION,
  DEFAULT_POWER_PREFERENCE,
  MAX_CUSTOM_WGSL_BYTES,
} from './constants.ts'
export {
  DeviceLostError,
  deserializeError,
  GpuUnavailableError,
  isSerializedError,
  KernelAbortedError,
  KernelCompileError,
  type KernelCompileMessage,
  KernelExecutionError,
  KernelLimitError,
  KernelShapeError,
  KernelTimeoutError,
  KernelWorkersWedgedError,
} from './errors.ts'
export { type BufferPool, type BufferPoolOptions, bufferSizeClass } from './host/buffer-pool.ts'
export { MAX_TIMEOUT_MS } from './host/call-deadline.ts'
export {
  errorTransferHandler,
  registerErrorTransferHandler,
} from './host/error-transfer-handler.ts'
export {
  assertGpuShare,
  createGpuPacer,
  type GpuPacer,
  INITIAL_PACED_WORK,
  MIN_GPU_SHARE,
  restAfterMs,
  SUBMISSION_TARGET_MS,
} from './host/gpu-pacer.ts'
export { createKernelHost, type KernelHost, type KernelHostOptions } from './host/kernel-host.ts'
export type { KernelRunner } from './host/kernel-runner.ts'
export type {
  DeviceLostDetails,
  HostInfo,
  HostLimits,
  KernelRunOptions,
  KernelWorkerApi,
  KernelWorkerCallOptions,
  MatmulRequest,
} from './host/kernel-types.ts'
export {
  createKernelWorkerApi,
  exposeKernelWorker,
  type KernelWorkerApiOptions,
  MAX_CALL_ID_LENGTH,
} from './host/kernel-worker-api.ts'
export {
  createKernelWorkerClient,
  DEFAULT_WORKER_GRACE_MS,
  type KernelWorkerClient,
  type KernelWorkerClientOptions,
  type KernelWorkerRemote,
} from './host/kernel-worker-client.ts'
export {
  createRespawningKernelWorker,
  DEFAULT_MAX_ABANDONED_WORKERS,
  type RespawningKernelWorker,
  type RespawningKernelWorkerOptions,
  type SpawnedWorker,
} from './host/respawning-kernel-worker.ts'
export type {
  DecoderStage,
  DecoderStageOptions,
  StageInput,
  StageKvCache,
  StageWeight,
  StageWeights,
  TopLogitsResult,
} from './inference/decoder-stage.ts'
export {
  type GenerateBatchOptions,
  type GenerateBatchResult,
  generateBatch,
} from './inference/generate-batch.ts'
export {
  createGpuDecoderStage,
  type GpuDecoderStageOptions,
} from './inference/gpu-decoder-stage.ts'
export { createReferenceDecoderStage } from './inference/reference-decoder-stage.ts'
export { createTopLogitsSampler, promptSampling } from './inference/sample-top-logits.ts'
export { topLogitsOf } from './inference/top-logits.ts'
export {
  assertFloatData,
  type FloatData,
  type FloatDtype,
} from './kernels/common/float-dtype.ts'
export type { PlanContext } from './kernels/common/plan-context.ts'
export type {
  CustomKernelBinding,
  CustomKernelProgram,
  CustomKernelRequest,
} from './kernels/custom/custom-kernel-types.ts'
export {
  type CustomProgramLimits,
  validateCustomProgram,
} from './kernels/custom/validate-custom-program.ts'
export type {
  ActivationOp,
  ActivationRequest,
  BiasAddRequest,
  ResidualAddRequest,
} from './kernels/elementwise/elementwise-request.ts'
export type {
  CustomRunRequest,
  KernelName,
  KernelRequest,
  KernelResult,
  KernelResultOf,
  MatmulRunRequest,
} from './kernels/kernel-request.ts'
export {
  createTiledMatmulKernel,
  createTiledMatmulWgsl,
  DEFAULT_TILED_MATMUL_CONFIG,
  type TiledMatmulConfig,
  type TiledMatmulFormat,
} from './kernels/matmul/matmul.wgsl.ts'
export {
  type MatmulCompute,
  type MatmulComputeOption,
  SHADER_F16_FEATURE,
  selectMatmulCompute,
} from './kernels/matmul/matmul-compute.ts'
export type { MatmulKernel, MatmulVariant } from './kernels/matmul/matmul-kernel.ts'
export {
  createNaiveMatmulKernel,
  createNaiveMatmulWgsl,
} from './kernels/matmul/matmul-naive.wgsl.ts'
export { assertMatmulShape, type MatmulOperands } from './kernels/matmul/matmul-shape.ts'
export { MAX_SPLIT_K } from './kernels/matmul/matmul-split-k.ts'
export { KERNEL_NAMES, planKernel } from './kernels/plan-kernel.ts'
export { MAX_ATTENTION_HEAD_DIM } from './kernels/transformer/attention-program.ts'
export {
  type DecoderCompute,
  type DecoderComputeOption,
  selectDecoderCompute,
} from './kernels/transformer/decoder-compute.ts'
export type {
  AttentionRequest,
  DecoderLayersRequest,
  DecoderLayerTensors,
  EmbeddingRequest,
  LayerNormRequest,
  ReduceRequest,
  RmsNormRequest,
  RopeRequest,
  SoftmaxRequest,
  SwigluRequest,
} from './kernels/transformer/transformer-requests.ts'
export { attentionReference } from './reference/attention-reference.ts'
export {
  createDecoderKvCache,
  type DecoderKvCache,
  type KvCacheShape,
  kvCacheLength,
  truncateKvCache,
} from './reference/decoder-kv-cache.ts'
export {
  createDecoderReference,
  type DecoderReference,
  DecoderSession,
  type DecoderWeightArray,
  type DecoderWeightLookup,
  decoderEmbed,
  decoderHead,
  decoderRunLayers,
} from './reference/decoder-reference.ts'
export {
  activationReference,
  biasAddReference,
  residualAddReference,
  swigluReference,
} from './reference/elementwise-reference.ts'
export { embeddingReference } from './reference/embedding-reference.ts'
export { float16Bits, float16Value, fromFloat16, toFloat16 } from './reference/float16.ts'
export {
  type MatmulReferenceResult,
  matmulReference,
  matmulReferenceWithBound,
} from './reference/matmul-reference.ts'
export { layerNormReference, rmsNormReference } from './reference/norm-reference.ts'
export { ropeReference } from './reference/rope-reference.ts'
export {
  createSampler,
  type GenerateOptions,
  generateReference,
  greedyToken,
  type SamplingOptions,
  samplingCandidates,
} from './reference/sampling.ts'
export { seededRandom, seededRandomF32 } from './reference/seeded-random.ts'
export { reduceReference, softmaxReference } from './reference/softmax-reference.ts'
export {
  type FreivaldsOptions,
  type FreivaldsResult,
  type FreivaldsTarget,
  freivaldsCheck,
  MAX_FREIVALDS_ROUNDS,
} from './verify/freivalds.ts'
