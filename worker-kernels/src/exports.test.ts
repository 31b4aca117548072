import { describe, expect, it, vi } from 'vitest'

/**
 * The names each public entry point of `@tabswarm/worker-kernels` exports (its package.json `exports`).
 * A name added or removed is a change of the package's contract: update the snapshot on
 * purpose, and the packages that import it.
 */
describe('@tabswarm/worker-kernels entry points', () => {
  it('exports the same names from @tabswarm/worker-kernels', async () => {
    expect(Object.keys(await import('@tabswarm/worker-kernels')).sort()).toMatchInlineSnapshot(`
      [
        "ABSOLUTE_FLOOR",
        "DECODER_SAFETY_FACTOR",
        "DECODER_UNIT_ROUNDOFF",
        "DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS",
        "DEFAULT_KERNEL_TIMEOUT_MS",
        "DEFAULT_MAX_ABANDONED_WORKERS",
        "DEFAULT_MAX_WORK_PER_SUBMISSION",
        "DEFAULT_POWER_PREFERENCE",
        "DEFAULT_TILED_MATMUL_CONFIG",
        "DEFAULT_WORKER_GRACE_MS",
        "DecoderSession",
        "DeviceLostError",
        "F16_PRODUCT_ROUNDING",
        "F32_UNIT_ROUNDOFF",
        "GpuUnavailableError",
        "INITIAL_PACED_WORK",
        "KERNEL_NAMES",
        "KernelAbortedError",
        "KernelCompileError",
        "KernelExecutionError",
        "KernelLimitError",
        "KernelShapeError",
        "KernelTimeoutError",
        "KernelWorkersWedgedError",
        "MAX_ATTENTION_HEAD_DIM",
        "MAX_CALL_ID_LENGTH",
        "MAX_CUSTOM_WGSL_BYTES",
        "MAX_DECODER_TOLERANCE",
        "MAX_FREIVALDS_ROUNDS",
        "MAX_SPLIT_K",
        "MAX_TIMEOUT_MS",
        "MIN_DECODER_TOLERANCE",
        "MIN_GPU_SHARE",
        "OUTPUT_ROUNDING",
        "SHADER_F16_FEATURE",
        "SUBMISSION_TARGET_MS",
        "activationReference",
        "assertFloatData",
        "assertGpuShare",
        "assertMatmulShape",
        "attentionReference",
        "biasAddReference",
        "bufferSizeClass",
        "compareActivations",
        "compareElementwise",
        "compareMatmul",
        "compareTopLogits",
        "createDecoderKvCache",
        "createDecoderReference",
        "createGpuDecoderStage",
        "createGpuPacer",
        "createKernelHost",
        "createKernelWorkerApi",
        "createKernelWorkerClient",
        "createNaiveMatmulKernel",
        "createNaiveMatmulWgsl",
        "createReferenceDecoderStage",
        "createRespawningKernelWorker",
        "createSampler",
        "createTiledMatmulKernel",
        "createTiledMatmulWgsl",
        "createTopLogitsSampler",
        "decoderEmbed",
        "decoderHead",
        "decoderRunLayers",
        "decoderTolerance",
        "deserializeError",
        "embeddingReference",
        "errorTransferHandler",
        "exposeKernelWorker",
        "f16ProductGamma",
        "float16Bits",
        "float16Value",
        "freivaldsCheck",
        "fromFloat16",
        "gamma",
        "generateBatch",
        "generateReference",
        "greedyToken",
        "isSerializedError",
        "kvCacheLength",
        "layerNormReference",
        "matmulReference",
        "matmulReferenceWithBound",
        "planKernel",
        "promptSampling",
        "reduceReference",
        "registerErrorTransferHandler",
        "residualAddReference",
        "restAfterMs",
        "rmsNormReference",
        "ropeReference",
        "samplingCandidates",
        "seededRandom",
        "seededRandomF32",
        "selectDecoderCompute",
        "selectMatmulCompute",
        "softmaxReference",
        "swigluReference",
        "toFloat16",
        "topLogitsOf",
        "truncateKvCache",
        "validateCustomProgram",
      ]
    `)
  })
  it('exports the same names from @tabswarm/worker-kernels/node', async () => {
    expect(
      Object.keys(await import('@tabswarm/worker-kernels/node')).sort(),
    ).toMatchInlineSnapshot(`
      [
        "CHROMIUM_SWIFTSHADER_ICD",
        "DEFAULT_KERNEL_PROCESS_GRACE_MS",
        "DEFAULT_WGSL_CHECK_TIMEOUT_MS",
        "createKernelHostProcess",
        "createNodeGpu",
        "createNodeKernelHost",
        "createWgslChecker",
        "selectVulkanIcd",
      ]
    `)
  })
  it('exports the same names from @tabswarm/worker-kernels/testing', async () => {
    expect(
      Object.keys(await import('@tabswarm/worker-kernels/testing')).sort(),
    ).toMatchInlineSnapshot(`
      [
        "observedGpu",
      ]
    `)
  })
  it('exports the same names from @tabswarm/worker-kernels/test-model', async () => {
    expect(
      Object.keys(await import('@tabswarm/worker-kernels/test-model')).sort(),
    ).toMatchInlineSnapshot(`
      [
        "TEST_MODEL_FILES",
        "TEST_TOKENIZER_EOS",
        "createTestModel",
        "learnTestBpe",
        "testModelFiles",
        "testTokenizerJson",
      ]
    `)
  })
  it('exports the same names from @tabswarm/worker-kernels/test-model/node', async () => {
    expect(
      Object.keys(await import('@tabswarm/worker-kernels/test-model/node')).sort(),
    ).toMatchInlineSnapshot(`
      [
        "writeTestModel",
      ]
    `)
  })
  it('exports the same names from @tabswarm/worker-kernels/worker', async () => {
    // The worker entry exposes the kernel host over comlink as it loads: give it the
    // worker global's `addEventListener` it listens on.
    vi.stubGlobal('addEventListener', () => {})
    try {
      expect(
        Object.keys(await import('@tabswarm/worker-kernels/worker')).sort(),
      ).toMatchInlineSnapshot(`[]`)
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
