import { describe, expect, it } from 'vitest'
import { type PromptForm, promptRequest } from './prompt-form.ts'

const config = {
  family: 'gpt2',
  vocabSize: 300,
  hiddenSize: 64,
  layers: 2,
  heads: 4,
  kvHeads: 4,
  headDim: 16,
  intermediateSize: 256,
  maxPositions: 128,
  norm: 'layernorm',
  normEpsilon: 1e-5,
  positions: 'learned',
  ropeTheta: null,
  mlp: 'gelu',
  tiedEmbeddings: true,
  bosTokenId: 299,
  eosTokenId: 299,
}
const ref = {
  name: 'gpt2-f16',
  config,
  files: [{ blob: 'a'.repeat(64) }],
  tokenizer: { blob: 'b'.repeat(64) },
}
const form: PromptForm = {
  modelRef: JSON.stringify(ref),
  prompt: 'Once upon a time',
  maxTokens: '32',
  temperature: '',
  seed: '',
}

describe("the prompt box's request", () => {
  it('decodes greedily with an empty temperature, and samples from a seed with one', () => {
    expect(promptRequest(form)).toEqual({
      ref,
      prompt: 'Once upon a time',
      options: { maxNewTokens: 32, sampling: { mode: 'greedy' } },
    })
    expect(promptRequest({ ...form, temperature: '0.8' }, () => 7).options.sampling).toEqual({
      mode: 'sample',
      seed: 7,
      temperature: 0.8,
    })
    expect(promptRequest({ ...form, temperature: '1', seed: '-3' }).options.sampling).toMatchObject(
      { seed: -3 },
    )
  })

  it.each([
    [{ modelRef: ' ' }, /paste a model reference: .*--save-ref/],
    [{ modelRef: '{' }, /not JSON/],
    [
      { modelRef: JSON.stringify({ ...ref, files: [] }) },
      /the model reference is not a model ref: files/,
    ],
    [{ modelRef: JSON.stringify({ ...ref, tokenizer: undefined }) }, /names no tokenizer/],
    [{ prompt: '  ' }, /type a prompt/],
    [{ maxTokens: '0' }, /most tokens must be a whole number from 1 to 1024/],
    [{ maxTokens: '2000' }, /from 1 to 1024/],
    [{ temperature: '-1' }, /temperature must be a number above 0/],
    [{ temperature: '1', seed: '1.5' }, /seed must be a whole number/],
  ])('refuses %j, naming the field', (change, message) => {
    expect(() => promptRequest({ ...form, ...change })).toThrow(message)
  })
})
