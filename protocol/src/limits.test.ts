import { describe, expect, it } from 'vitest'
import { encodedFrameLength } from './frame.ts'
import { MAX_PARAMS_BYTES, MAX_TASK_OUTPUT_BYTES, MAX_WGSL_CHARS } from './job-spec.ts'
import { MAX_HEADER_BYTES, MAX_MESSAGE_BYTES, MAX_TENSOR_DIM, MAX_TENSOR_RANK } from './limits.ts'
import { LeaseSchema, MAX_INPUT_PROVIDERS, TaskResultSchema } from './messages.ts'
import { MAX_WGSL_BYTES } from './program-source.ts'

const id = 'x'.repeat(64)
const name = (i: number) => `b${String(i).padStart(31, '0')}`
const shape = Array.from({ length: MAX_TENSOR_RANK }, () => MAX_TENSOR_DIM)
const slot = (i: number) => ({
  name: name(i),
  dtype: 'float16' as const,
  shape,
  byteOffset: MAX_MESSAGE_BYTES,
  byteLength: MAX_MESSAGE_BYTES,
})

/**
 * The limits agree with each other: every message a job within the job limits produces
 * can be encoded, whatever its fields hold, so no accepted job is left that nobody can
 * be sent (a 64 KiB WGSL in a JSON header once could not).
 */
describe('the wire limits', () => {
  it('fit the largest lease header, whatever its WGSL and providers, in MAX_HEADER_BYTES', () => {
    const hash = 'f'.repeat(64)
    const lease = LeaseSchema.parse({
      type: 'lease',
      leaseId: id,
      jobId: id,
      taskId: id,
      program: {
        kind: 'wgsl',
        entryPoint: 'e'.repeat(64),
        inputs: Array.from({ length: 8 }, (_, i) => ({ name: name(i), dtype: 'float16' })),
        outputs: Array.from({ length: 8 }, (_, i) => ({ name: name(i), dtype: 'float16' })),
        source: { byteOffset: MAX_MESSAGE_BYTES, byteLength: MAX_WGSL_BYTES },
      },
      inputs: Array.from({ length: 16 }, (_, i) => ({
        name: name(i),
        dtype: 'float16',
        shape,
        sha256: hash,
        byteLength: MAX_MESSAGE_BYTES,
        range: { blob: hash, byteOffset: MAX_MESSAGE_BYTES },
        // Ed25519 peer ids are 52 characters; the schema allows 128.
        providers: Array.from({ length: MAX_INPUT_PROVIDERS }, () => 'p'.repeat(128)),
      })),
      // Output specs hold at most MAX_TENSOR_ELEMENTS: as many digits as that allows.
      outputs: Array.from({ length: 8 }, (_, i) => ({
        name: name(i),
        shape: [MAX_TENSOR_DIM, 16, 1, 1, 1, 1, 1, 1],
        dtype: 'float16',
      })),
      workgroups: [MAX_TENSOR_DIM, MAX_TENSOR_DIM, MAX_TENSOR_DIM],
      params: 'A'.repeat(8192),
      expiresInMs: Number.MAX_SAFE_INTEGER,
    })
    expect(encodedFrameLength(lease, 0) - 4).toBeLessThan(MAX_HEADER_BYTES)
    // The source is not in the header at all: the longest program adds nothing to it.
    expect(JSON.stringify(lease)).not.toContain('"wgsl":')
    expect(MAX_WGSL_BYTES).toBe(3 * MAX_WGSL_CHARS)
    expect(MAX_PARAMS_BYTES).toBeLessThanOrEqual(8192)
  })

  it('let a result of MAX_TASK_OUTPUT_BYTES travel with the largest result header', () => {
    const result = TaskResultSchema.parse({
      type: 'result',
      leaseId: id,
      outputs: Array.from({ length: 8 }, (_, i) => slot(i)),
      sha256: 'f'.repeat(64),
      elapsedMs: 86_400_000,
    })
    expect(encodedFrameLength(result, MAX_TASK_OUTPUT_BYTES)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
  })
})
