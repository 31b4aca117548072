import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import { createIncrementalDetokenizer } from './incremental-detokenizer.ts'
import { tokenizerFromJson } from './text-tokenizer.ts'

const model = createTestModel({ family: 'gpt2', layers: 1 })
const tokenizer = tokenizerFromJson(JSON.stringify(model.tokenizerJson))

describe('incremental detokenization', () => {
  it('gives multi-byte characters out whole, once the token that ends them arrives', () => {
    const prompt = tokenizer.encode('Say:')
    const text = ' 日本語 and a fox 🦊!'
    const ids = tokenizer.encode(text)
    // The test tokenizer is byte-level: these characters span several tokens.
    expect(ids.length).toBeGreaterThan([...text].length - 4)
    const detok = createIncrementalDetokenizer(tokenizer, prompt)
    const pieces = ids.map((id) => detok.push(id))
    expect(pieces.map((p) => p.id)).toEqual(ids)
    expect(pieces.some((p) => p.text === '')).toBe(true)
    for (const { text: piece } of pieces) expect(piece).not.toContain('\uFFFD')
    expect(pieces.map((p) => p.text).join('') + detok.flush()).toBe(text)
    expect(pieces.map((p) => p.text)).toContain('🦊')
  })

  it('keeps the leading space of the first generated token', () => {
    const detok = createIncrementalDetokenizer(tokenizer, tokenizer.encode('the'))
    const [first] = tokenizer.encode(' the')
    expect(detok.push(first!).text).toBe(' the')
  })

  it('flushes an incomplete character at the end as the decoder writes it', () => {
    const bytes = tokenizer.encode('🦊')
    const detok = createIncrementalDetokenizer(tokenizer)
    expect(detok.push(bytes[0]!).text).toBe('')
    expect(detok.flush()).toBe('\uFFFD')
    expect(detok.flush()).toBe('')
  })

  it('starts without a prompt: the tokenizer answers no tokens with no text (the library throws)', () => {
    expect(tokenizer.decode([])).toBe('')
    const detok = createIncrementalDetokenizer(tokenizer)
    expect(
      tokenizer
        .encode('Hi there')
        .map((id) => detok.push(id).text)
        .join(''),
    ).toBe('Hi there')
  })
})
