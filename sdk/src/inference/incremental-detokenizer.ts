import type { TextTokenizer } from './text-tokenizer.ts'

/** One generated token and the text it adds. */
export interface GeneratedToken {
  id: number
  /**
   * The text this token completes: `''` while it holds only part of a character (a byte
   * of a multi-byte UTF-8 sequence), which then comes out whole with the token that ends it.
   */
  text: string
}

/** How many prompt tokens the first decode window keeps, so the first token's leading space survives. */
const PROMPT_CONTEXT_TOKENS = 5
/** The replacement character a decoder writes for bytes that do not (yet) form a character. */
const REPLACEMENT = '\uFFFD'

/**
 * Turns tokens into text as they arrive, so that characters come out whole and spacing is
 * right. Decoding each token alone is wrong twice over: a byte-level BPE token may hold one
 * byte of a multi-byte character (decoded alone it is U+FFFD), and SentencePiece decoders
 * drop the leading space of a sequence's first token. So a short window of tokens is
 * decoded, with and without the new ones, and the difference is the new text; while it
 * ends in U+FFFD the window grows until the character is complete (the method of
 * Hugging Face's text-generation-inference). Each call decodes a few tokens, not the whole
 * sequence.
 *
 * @example
 * const detok = createIncrementalDetokenizer(tokenizer, promptIds)
 * for (const id of ids) process.stdout.write(detok.push(id).text)
 * process.stdout.write(detok.flush())
 */
export function createIncrementalDetokenizer(
  tokenizer: Pick<TextTokenizer, 'decode'>,
  promptIds: readonly number[] = [],
) {
  const ids = promptIds.slice(-PROMPT_CONTEXT_TOKENS)
  // ids[prefix, read) is the text already given out; ids[read, …) is pending.
  let prefix = 0
  let read = ids.length
  return {
    /** Adds the next token; returns it with the text it completes. */
    push(id: number): GeneratedToken {
      ids.push(id)
      const before = tokenizer.decode(ids.slice(prefix, read))
      const after = tokenizer.decode(ids.slice(prefix))
      if (after.length > before.length && !after.endsWith(REPLACEMENT)) {
        prefix = read
        read = ids.length
        return { id, text: after.slice(before.length) }
      }
      return { id, text: '' }
    },
    /** Text still pending at the end (an incomplete character, as the decoder writes it). */
    flush(): string {
      if (read === ids.length) return ''
      const before = tokenizer.decode(ids.slice(prefix, read))
      const after = tokenizer.decode(ids.slice(prefix))
      prefix = read = ids.length
      return after.slice(before.length)
    },
  }
}

/** A detokenizer's interface. */
export type IncrementalDetokenizer = ReturnType<typeof createIncrementalDetokenizer>
