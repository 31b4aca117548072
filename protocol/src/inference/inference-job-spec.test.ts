import { describe, expect, it } from 'vitest'
import { InferenceJobSpecSchema, JobSpecSchema } from '../job-spec.ts'
import { LeaseSchema, TaskResultSchema } from '../messages.ts'
import { parseHfConfig } from '../model/decoder-config.ts'
import { resultSigningBytes } from './result-signature.ts'

const config = parseHfConfig({
  model_type: 'llama',
  vocab_size: 300,
  hidden_size: 64,
  num_hidden_layers: 6,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  eos_token_id: 299,
})
const blob = 'ab'.repeat(32)
const spec = {
  kernel: 'inference',
  model: { name: 'test', config, files: [{ blob }] },
  mode: 'pipeline',
  prompts: [[1, 2, 3]],
  maxNewTokens: 8,
} as const

describe('InferenceJobSpecSchema', () => {
  it('accepts a pipeline spec through the job union', () => {
    expect(JobSpecSchema.parse(spec).kernel).toBe('inference')
  })

  it('names a prompt token outside the vocabulary', () => {
    const result = InferenceJobSpecSchema.safeParse({ ...spec, prompts: [[1, 300]] })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toMatch(
      /token 300 is outside the model's vocabulary of 300/,
    )
    expect(result.error?.issues[0]?.path).toEqual(['prompts', 0, 1])
  })

  it('refuses more stages than layers and mode-specific fields in the other mode', () => {
    expect(
      InferenceJobSpecSchema.safeParse({ ...spec, stages: 7 }).error?.issues[0]?.message,
    ).toMatch(/7 stages cannot split 6 layers/)
    expect(
      InferenceJobSpecSchema.safeParse({ ...spec, mode: 'batch', stages: 2 }).error?.issues[0]
        ?.message,
    ).toMatch(/stages is for mode 'pipeline'/)
    expect(
      InferenceJobSpecSchema.safeParse({ ...spec, batchSize: 4 }).error?.issues[0]?.message,
    ).toMatch(/batchSize is for mode 'batch'/)
  })

  it('refuses a sampling seed that is not a 32-bit integer and a topP of 0', () => {
    expect(
      InferenceJobSpecSchema.safeParse({ ...spec, sampling: { mode: 'sample', seed: 2 ** 40 } })
        .success,
    ).toBe(false)
    expect(
      InferenceJobSpecSchema.safeParse({ ...spec, sampling: { mode: 'sample', seed: 1, topP: 0 } })
        .success,
    ).toBe(false)
  })
})

describe('decoder leases and results', () => {
  it('parse a decoder-stage lease with a lazy prefix and many weight inputs', () => {
    const weights = Array.from({ length: 200 }, (_, i) => ({
      name: `w${i}`,
      dtype: 'float16' as const,
      shape: [64, 64],
      sha256: blob,
      byteLength: 8192,
      range: { blob, byteOffset: i * 8192 },
    }))
    const lease = LeaseSchema.parse({
      type: 'lease',
      leaseId: 'l1',
      jobId: 'j1',
      taskId: 't1',
      program: {
        kind: 'decoder-stage',
        config,
        fromLayer: 2,
        toLayer: 4,
        sequence: 's0',
        start: 3,
        rows: 1,
        topLogits: 64,
        tensors: weights.map((_, i) => `model.layers.${i}.x`),
      },
      inputs: [
        { name: 'x', dtype: 'float32', shape: [1, 64], sha256: blob, byteLength: 256 },
        {
          name: 'prefix',
          dtype: 'float32',
          shape: [3, 64],
          sha256: blob,
          byteLength: 768,
          lazy: true,
        },
        ...weights,
      ],
      outputs: [{ name: 'hidden', dtype: 'float32', shape: [1, 64] }],
      expiresInMs: 1000,
    })
    expect(lease.inputs[1]?.lazy).toBe(true)
  })

  it('carry a base64 signature on a result', () => {
    const result = {
      type: 'result',
      leaseId: 'l1',
      outputs: [{ name: 'hidden', dtype: 'float32', shape: [1], byteOffset: 0, byteLength: 4 }],
      sha256: blob,
      elapsedMs: 1,
    }
    expect(TaskResultSchema.safeParse({ ...result, signature: 'AAAA' }).success).toBe(true)
    expect(TaskResultSchema.safeParse({ ...result, signature: 'not base64!' }).success).toBe(false)
  })

  it('sign a domain-tagged task id and hash', () => {
    expect(new TextDecoder().decode(resultSigningBytes('t1', blob))).toBe(
      `tabswarm/result/v1\nt1\n${blob}`,
    )
  })
})
