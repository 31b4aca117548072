import { Tokenizer } from '@huggingface/tokenizers'
import { InvalidInputError } from '../client/client-errors.ts'

/**
 * A model's tokenizer as generation needs it: text to token ids and back. Built from the
 * model's `tokenizer.json` with `@huggingface/tokenizers` (pure JavaScript, so the same
 * code runs in Node and in the dashboard). Browser-safe.
 */
export interface TextTokenizer {
  /** Token ids of `text`, with the special tokens the tokenizer adds (Llama's BOS). */
  encode(text: string): number[]
  /** Text of `ids`, special tokens (EOS, BOS) left out; `''` for none. */
  decode(ids: readonly number[]): string
}

/** Largest `tokenizer.json` read (Llama 3's is about 9 MB). */
export const MAX_TOKENIZER_JSON_BYTES = 64 * 1024 * 1024

/**
 * A tokenizer from the text of a `tokenizer.json`. `source` names it in errors (a file
 * path, a blob hash).
 *
 * @throws {InvalidInputError} when the text is not JSON or not a tokenizer the library reads.
 * @example
 * const tokenizer = tokenizerFromJson(await readFile('gpt2/tokenizer.json', 'utf8'), 'gpt2/tokenizer.json')
 * tokenizer.decode(tokenizer.encode('Hello')) // 'Hello'
 */
export function tokenizerFromJson(text: string, source = 'tokenizer.json'): TextTokenizer {
  if (text.length > MAX_TOKENIZER_JSON_BYTES)
    throw new InvalidInputError(
      `${source} is over ${MAX_TOKENIZER_JSON_BYTES} bytes: is it a tokenizer.json?`,
    )
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new InvalidInputError(`${source} is not JSON (${(err as Error).message})`)
  }
  if (typeof json !== 'object' || json === null || !('model' in json))
    throw new InvalidInputError(
      `${source} is not a Hugging Face tokenizer.json (it has no "model"); use the tokenizer.json from the model's directory`,
    )
  let tokenizer: Tokenizer
  try {
    tokenizer = new Tokenizer(json, {})
  } catch (err) {
    throw new InvalidInputError(
      `${source} could not be read as a tokenizer (${(err as Error).message}); Tabswarm reads BPE tokenizer.json files such as GPT-2's and Llama's`,
    )
  }
  return {
    encode: (input) => [...tokenizer.encode(input).ids],
    // The library refuses to decode no tokens.
    decode: (ids) =>
      ids.length === 0 ? '' : tokenizer.decode([...ids], { skip_special_tokens: true }),
  }
}
