/**
 * A tiny byte-level BPE tokenizer, learned deterministically from a fixed corpus, written
 * as a Hugging Face `tokenizer.json` (GPT-2's layout: ByteLevel pre-tokenizer and decoder,
 * GPT-2's byte-to-unicode mapping, a BPE model with ranked merges). The test model ships
 * it so that tests exercise the same loading path a real model directory takes, without
 * downloading one. Every byte is in the vocabulary, so any text round-trips.
 */

/** GPT-2's pre-tokenizer split: contractions, letters, digits, other, whitespace. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu

/** The special token ending (and, for the test model, beginning) a sequence. */
export const TEST_TOKENIZER_EOS = '<|endoftext|>'

/** The text merges are learned from: fixed, so the vocabulary never changes between runs. */
export const TEST_TOKENIZER_CORPUS = [
  'The quick brown fox jumps over the lazy dog. The dog sleeps in the sun.',
  'A tab in the swarm runs a shard of the model, and the next tab runs the next shard.',
  'Tokens flow from the first layer to the last; the last layer predicts the next token.',
  'In the beginning there was the word, and the word was split into tokens.',
  'Hello, world! Hello again, world. 1234 5678 90.',
].join('\n')

/**
 * GPT-2's reversible map from bytes to printable characters: bytes that are printable
 * Latin-1 map to themselves, the rest to U+0100 onwards, so BPE never sees whitespace or
 * control characters. Index `b` holds byte `b`'s character; the order of `BYTE_ORDER`
 * (printable first) gives the first 256 token ids, as in GPT-2's vocabulary.
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table: string[] = new Array(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    const printable =
      (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++)
  }
  return table
})()

const BYTE_ORDER: readonly number[] = [
  ...Array.from({ length: 256 }, (_, b) => b).filter(
    (b) => BYTE_TO_UNICODE[b]?.codePointAt(0) === b,
  ),
  ...Array.from({ length: 256 }, (_, b) => b).filter(
    (b) => BYTE_TO_UNICODE[b]?.codePointAt(0) !== b,
  ),
]

/** A learned byte-level BPE: vocabulary (token → id) and merges, highest priority first. */
export type TestBpe = { vocab: Map<string, number>; merges: [string, string][]; eosId: number }

/**
 * Learn a byte-level BPE of `vocabSize` tokens (256 bytes, merges, then `<|endoftext|>`)
 * from `corpus`. Each round merges the most frequent adjacent pair, ties going to the
 * pair that sorts first, so the result depends on the corpus alone.
 *
 * @throws {RangeError} if `vocabSize` is under 257 or the corpus runs out of pairs first.
 */
export function learnTestBpe(vocabSize: number, corpus = TEST_TOKENIZER_CORPUS): TestBpe {
  if (vocabSize < 257)
    throw new RangeError(`vocabSize ${vocabSize} is under 257 (256 bytes and the end token).`)
  const vocab = new Map<string, number>(
    BYTE_ORDER.map((b, id) => [BYTE_TO_UNICODE[b] as string, id]),
  )
  const counts = new Map<string, number>()
  for (const word of corpus.match(GPT2_SPLIT) ?? []) {
    const symbols = bytesAsSymbols(word).join(' ')
    counts.set(symbols, (counts.get(symbols) ?? 0) + 1)
  }
  let words = [...counts].map(([symbols, count]) => ({ symbols: symbols.split(' '), count }))
  const merges: [string, string][] = []
  while (vocab.size < vocabSize - 1) {
    const pairs = new Map<string, number>()
    for (const { symbols, count } of words)
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = `${symbols[i]} ${symbols[i + 1]}`
        pairs.set(pair, (pairs.get(pair) ?? 0) + count)
      }
    let best: string | undefined
    let bestCount = 0
    for (const [pair, count] of pairs)
      if (count > bestCount || (count === bestCount && best !== undefined && pair < best)) {
        best = pair
        bestCount = count
      }
    if (best === undefined)
      throw new RangeError(`The corpus has too few pairs for ${vocabSize} tokens.`)
    const [left, right] = best.split(' ') as [string, string]
    merges.push([left, right])
    if (!vocab.has(left + right)) vocab.set(left + right, vocab.size)
    words = words.map(({ symbols, count }) => ({ symbols: mergePair(symbols, left, right), count }))
  }
  const eosId = vocab.size
  vocab.set(TEST_TOKENIZER_EOS, eosId)
  return { vocab, merges, eosId }
}

/**
 * The Hugging Face `tokenizer.json` of a learned BPE: GPT-2's configuration (ByteLevel
 * pre-tokenizer without a prefix space, ByteLevel decoder, `<|endoftext|>` special).
 */
export function testTokenizerJson(bpe: TestBpe): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: bpe.eosId,
        content: TEST_TOKENIZER_EOS,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: 'ByteLevel',
      add_prefix_space: true,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges,
    },
  }
}

function bytesAsSymbols(text: string): string[] {
  return Array.from(new TextEncoder().encode(text), (b) => BYTE_TO_UNICODE[b] as string)
}

function mergePair(symbols: string[], left: string, right: string): string[] {
  const out: string[] = []
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right)
      i++
    } else out.push(symbols[i] as string)
  }
  return out
}
