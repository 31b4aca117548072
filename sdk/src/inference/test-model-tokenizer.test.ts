import { Tokenizer } from '@huggingface/tokenizers'
import { createTestModel, TEST_TOKENIZER_EOS } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'

/**
 * The test model's `tokenizer.json` loads in `@huggingface/tokenizers`, the library the
 * SDK reads real models' tokenizers with, and round-trips text. Here rather than beside
 * the generator because the SDK is the package that depends on the library.
 */
describe("the test model's tokenizer in @huggingface/tokenizers", () => {
  const model = createTestModel({ family: 'gpt2', layers: 1 })
  const json = JSON.parse(JSON.stringify(model.tokenizerJson))
  const tokenizer = new Tokenizer(json, {})
  const vocab = new Map(Object.entries(json.model.vocab as Record<string, number>))

  it.each([
    'The quick brown fox jumps over the lazy dog.',
    'the next token',
    'Unseen words: zebra, quartz, 42!',
    '  leading and trailing spaces \n\t new lines ',
    'Ünïcödé, 日本語, emoji 🦊 and a NUL \u0000 byte',
  ])('round-trips %j', (text) => {
    const { ids } = tokenizer.encode(text)
    expect(ids.every((id: number) => id >= 0 && id < model.config.vocabSize)).toBe(true)
    expect(tokenizer.decode(ids)).toBe(text)
  })

  it('encodes the empty text as no tokens (which the library refuses to decode: callers must not ask)', () => {
    expect(tokenizer.encode('').ids).toEqual([])
    expect(() => tokenizer.decode([])).toThrow(/non-empty/)
  })

  it('applies the learned merges: corpus words are single tokens, bytes stand in for the rest', () => {
    expect(tokenizer.encode(' the').ids).toEqual([vocab.get('Ġthe')])
    const unseen = tokenizer.encode('zq')
    expect(unseen.tokens).toEqual(['z', 'q'])
    expect(tokenizer.encode('The quick brown fox').ids.length).toBeLessThan(
      'The quick brown fox'.length,
    )
  })

  it('knows the end token as special, at the id config.json gives', () => {
    expect(tokenizer.token_to_id(TEST_TOKENIZER_EOS)).toBe(model.config.eosTokenId)
    const ids = tokenizer.encode(`hi${TEST_TOKENIZER_EOS}`).ids
    expect(ids.at(-1)).toBe(model.config.eosTokenId)
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('hi')
  })
})
