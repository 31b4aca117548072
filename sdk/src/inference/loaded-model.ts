import { type ModelRef, ModelRefSchema, sha256Hex } from '@tabswarm/protocol'
import { BlobIntegrityError, InvalidInputError } from '../client/client-errors.ts'
import type { Transport } from '../client/http-transport.ts'
import { BLOB_TRANSFER_TIMEOUT_MS } from '../constants.ts'
import {
  MAX_TOKENIZER_JSON_BYTES,
  type TextTokenizer,
  tokenizerFromJson,
} from './text-tokenizer.ts'

/** A model the relay holds (its `ModelRef`) and the tokenizer to talk to it with. */
export interface LoadedModel {
  ref: ModelRef
  tokenizer: TextTokenizer
}

/**
 * What `client.generate` takes as its model: one already loaded; a `ModelRef` whose
 * `tokenizer` blob is on the relay (as `uploadModelDirectory` makes it, and `tabswarm
 * generate --json` prints it); or, in Node, a model directory's path.
 */
export type ModelSource = LoadedModel | ModelRef | string

/** A `ModelRef` read from untrusted JSON (a pasted ref, a file), or `InvalidInputError` naming what is wrong. */
export function parseModelRef(value: unknown, source = 'the model ref'): ModelRef {
  const parsed = ModelRefSchema.safeParse(value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw new InvalidInputError(
    `${source} is not a model ref: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
  )
}

/**
 * The tokenizer a `ModelRef` names: its `tokenizer.json` blob, downloaded, size- and
 * hash-checked, and parsed.
 *
 * @throws {InvalidInputError} when the ref names no tokenizer.
 * @throws {BlobIntegrityError} when the blob is not the bytes it is named by.
 */
export async function tokenizerOfRef(
  transport: Transport,
  ref: ModelRef,
  signal: AbortSignal | undefined,
): Promise<TextTokenizer> {
  const blob = ref.tokenizer?.blob
  if (blob == null)
    throw new InvalidInputError(
      `the model ref${ref.name ? ` of ${ref.name}` : ''} names no tokenizer blob: pass { ref, tokenizer } with the model's tokenizer.json, or upload the model again with uploadModelDirectory (it uploads tokenizer.json too)`,
    )
  const response = await transport.request(`/blobs/${blob}`, {
    signal,
    timeoutMs: BLOB_TRANSFER_TIMEOUT_MS,
  })
  const length = Number(response.headers.get('content-length') ?? 0)
  if (length > MAX_TOKENIZER_JSON_BYTES) {
    await response.body?.cancel()
    throw new BlobIntegrityError(blob, `is ${length} bytes: too large for a tokenizer.json`)
  }
  const bytes = new Uint8Array(await response.arrayBuffer())
  if ((await sha256Hex(bytes)) !== blob)
    throw new BlobIntegrityError(blob, 'arrived with a different hash')
  return tokenizerFromJson(new TextDecoder().decode(bytes), `tokenizer blob ${blob.slice(0, 12)}`)
}
