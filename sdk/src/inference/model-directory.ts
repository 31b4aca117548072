/**
 * A Hugging Face model directory on disk, read and checked the way the relay and the tabs
 * will read it, then uploaded: `config.json`, the weights (`model.safetensors`, or a
 * sharded `model.safetensors.index.json` and its files) and `tokenizer.json`. Every problem
 * is found before the first byte is uploaded, and named with its file, its tensor and the
 * fix. Each weights file becomes one blob, streamed from disk (hashed in one pass, sent in
 * a second, never held whole), and skipped when the relay already holds it. Node only.
 */
import { createHash } from 'node:crypto'
import { createReadStream, openAsBlob } from 'node:fs'
import { type FileHandle, open, readFile, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import {
  checkDecoderTensors,
  type DecoderConfig,
  locateSafetensors,
  MAX_BLOB_BYTES,
  MAX_MODEL_FILES,
  ModelFormatError,
  type ModelRef,
  parseHfConfig,
  parseSafetensorsHeader,
  parseSafetensorsIndex,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_LIMITS,
  SAFETENSORS_PREFIX_BYTES,
  type SafetensorsHeader,
  safetensorsHeaderLength,
} from '@tabswarm/protocol'
import type { CallOptions, TabswarmClient } from '../client/client.ts'
import { MODEL_UPLOAD_TIMEOUT_MS } from '../constants.ts'
import type { LoadedModel } from './loaded-model.ts'
import { ModelDirectoryError } from './model-directory-error.ts'
import {
  MAX_TOKENIZER_JSON_BYTES,
  type TextTokenizer,
  tokenizerFromJson,
} from './text-tokenizer.ts'

/** A single-file checkpoint's name. */
const SINGLE_FILE = 'model.safetensors'
/** Largest `config.json` read. */
const MAX_CONFIG_BYTES = 1024 * 1024

/** What the command to convert a checkpoint looks like, for the errors that need one. */
const CONVERT_HINT =
  "python -c \"from transformers import AutoModelForCausalLM as M; M.from_pretrained('DIR', torch_dtype='float16').save_pretrained('DIR-f16', max_shard_size='200MB')\" && cp DIR/tokenizer.json DIR-f16/"

/** One safetensors file of a model directory, checked and hashed. */
export interface ModelWeightsFile {
  /** Its name in the directory. */
  name: string
  path: string
  bytes: number
  /** Hex sha-256 of the whole file: its blob hash. */
  sha256: string
  header: SafetensorsHeader
}

/** A model directory read and checked, not uploaded yet. */
export interface ModelDirectory {
  dir: string
  /** The directory's name, for listings. */
  name: string
  config: DecoderConfig
  /** The weights files, in the index's order (or the one file). */
  files: ModelWeightsFile[]
  tokenizer: TextTokenizer
  /** `tokenizer.json`'s bytes (small), uploaded beside the weights. */
  tokenizerJson: Uint8Array
}

export interface ReadModelDirectoryOptions extends CallOptions {
  /**
   * Largest file the relay stores (`PUT /v1/blobs`): a weights file over it is refused here,
   * before anything is uploaded. @default MAX_BLOB_BYTES (256 MiB; a relay's
   * `TABSWARM_MAX_BLOB_BYTES` may be lower, never higher)
   */
  maxFileBytes?: number | undefined
}

export interface UploadModelDirectoryOptions extends ReadModelDirectoryOptions {
  /** Whole upload's timeout. @default MODEL_UPLOAD_TIMEOUT_MS (1 hour) */
  timeoutMs?: number | undefined
  /** A label for the ref. @default the directory's name */
  name?: string | undefined
  /** Told as each file is uploaded, or found already on the relay and skipped. */
  onFile?:
    | ((file: {
        name: string
        bytes: number
        index: number
        count: number
        skipped: boolean
      }) => void)
    | undefined
}

/**
 * Reads and checks a model directory: the config is a supported architecture, the
 * checkpoint holds exactly its tensors in f16 or f32, each file fits in one blob, and the
 * tokenizer loads. Hashes every weights file (read once, streamed).
 *
 * @throws {ModelDirectoryError} naming the file (and the tensor) and the fix.
 * @example
 * const model = await readModelDirectory('./gpt2-f16')
 * model.config.layers // 12
 */
export async function readModelDirectory(
  dir: string,
  options: ReadModelDirectoryOptions = {},
): Promise<ModelDirectory> {
  const { signal } = options
  const maxFileBytes = options.maxFileBytes ?? MAX_BLOB_BYTES
  signal?.throwIfAborted()
  const root = resolve(dir)
  const info = await stat(root).catch(() => undefined)
  if (info == null || !info.isDirectory())
    throw new ModelDirectoryError(
      `${dir} is not a directory: give the model's directory (config.json, model.safetensors, tokenizer.json), e.g. from 'huggingface-cli download openai-community/gpt2 --local-dir gpt2'`,
    )

  const configText = await readSmallFile(root, 'config.json', MAX_CONFIG_BYTES, signal)
  let config: DecoderConfig
  try {
    config = parseHfConfig(JSON.parse(configText))
  } catch (err) {
    throw fromFormatError('config.json', err)
  }

  const tokenizerText = await readSmallFile(
    root,
    'tokenizer.json',
    MAX_TOKENIZER_JSON_BYTES,
    signal,
  )
  let tokenizer: TextTokenizer
  try {
    tokenizer = tokenizerFromJson(tokenizerText, 'tokenizer.json')
  } catch (err) {
    throw new ModelDirectoryError((err as Error).message, { cause: err })
  }

  // The weights: an index and its files, or one file.
  const indexText = await readSmallFile(
    root,
    SAFETENSORS_INDEX_FILE,
    SAFETENSORS_LIMITS.maxHeaderBytes,
    signal,
    { optional: true },
  )
  let names: string[]
  let index: ReturnType<typeof parseSafetensorsIndex> | undefined
  if (indexText != null) {
    try {
      index = parseSafetensorsIndex(JSON.parse(indexText))
    } catch (err) {
      throw fromFormatError(SAFETENSORS_INDEX_FILE, err)
    }
    names = index.files
  } else {
    names = [SINGLE_FILE]
  }
  if (names.length > MAX_MODEL_FILES)
    throw new ModelDirectoryError(
      `${SAFETENSORS_INDEX_FILE} names ${names.length} files; a model is at most ${MAX_MODEL_FILES}: re-save it in fewer, larger shards (each at most the relay's blob limit, 256 MiB)`,
    )

  const headers = new Map<string, SafetensorsHeader>()
  const sizes = new Map<string, number>()
  for (const name of names) {
    signal?.throwIfAborted()
    const { header, bytes } = await readHeader(root, name, indexText != null)
    if (bytes > maxFileBytes)
      throw new ModelDirectoryError(
        `${name} is ${mib(bytes)}, over the ${mib(maxFileBytes)} a relay stores as one blob: re-save the model in smaller shards, e.g. ${CONVERT_HINT.replace('200MB', `${Math.floor((maxFileBytes * 0.9) / 1e6)}MB`)}`,
      )
    for (const tensor of header.tensors.values())
      if (tensor.dtype === 'BF16')
        throw new ModelDirectoryError(
          `${name}: tensor ${tensor.name} is BF16; contributors fetch weights as raw f16 or f32 byte ranges, so convert the checkpoint to float16 (or float32) first: ${CONVERT_HINT}`,
          { reason: 'UNSUPPORTED_DTYPE' },
        )
    headers.set(name, header)
    sizes.set(name, bytes)
  }

  // Every tensor the config implies, in exactly one file, with its shape.
  const fileOf = new Map<string, string>()
  try {
    if (index != null)
      for (const [tensor, located] of locateSafetensors(index, headers))
        fileOf.set(tensor, located.file)
    else
      for (const tensor of headers.get(SINGLE_FILE)!.tensors.keys()) fileOf.set(tensor, SINGLE_FILE)
  } catch (err) {
    throw fromFormatError(SAFETENSORS_INDEX_FILE, err)
  }
  const shapes = new Map<string, readonly number[]>()
  for (const header of headers.values())
    for (const tensor of header.tensors.values()) shapes.set(tensor.name, tensor.shape)
  try {
    checkDecoderTensors(config, shapes)
  } catch (err) {
    // Name the file the tensor lies in: the longest tensor name the message mentions.
    const message = err instanceof Error ? err.message : ''
    const tensor = [...fileOf.keys()]
      .filter((t) => message.includes(t))
      .sort((a, b) => b.length - a.length)[0]
    throw fromFormatError(
      tensor != null ? fileOf.get(tensor)! : names.length === 1 ? names[0]! : 'the checkpoint',
      err,
      'config.json',
    )
  }

  const files: ModelWeightsFile[] = []
  for (const name of names) {
    const path = join(root, name)
    files.push({
      name,
      path,
      bytes: sizes.get(name)!,
      sha256: await hashFile(path, signal),
      header: headers.get(name)!,
    })
  }
  return {
    dir: root,
    name: basename(root).slice(0, 128),
    config,
    files,
    tokenizer,
    tokenizerJson: new TextEncoder().encode(tokenizerText),
  }
}

/**
 * Reads, checks and uploads a model directory: each weights file as one blob (streamed
 * from disk; skipped when the relay already holds it), `tokenizer.json` as another.
 * Returns the `ModelRef` an inference job names and the tokenizer, ready for
 * `client.generate`.
 *
 * @throws {ModelDirectoryError} for a directory Tabswarm cannot run (before any upload).
 * @example
 * const model = await uploadModelDirectory(client, './gpt2-f16')
 * for await (const { text } of client.generate(model, 'Hello')) process.stdout.write(text)
 */
export async function uploadModelDirectory(
  client: TabswarmClient,
  dir: string,
  options: UploadModelDirectoryOptions = {},
): Promise<LoadedModel & { directory: ModelDirectory }> {
  const deadline = AbortSignal.timeout(options.timeoutMs ?? MODEL_UPLOAD_TIMEOUT_MS)
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  const model = await readModelDirectory(dir, { ...options, signal })
  const blobs: Array<{ blob: string }> = []
  for (const [index, file] of model.files.entries()) {
    const skipped = await client.hasBlob(file.sha256, { signal })
    if (!skipped) {
      const blob = await client.uploadBlob(await openAsBlob(file.path), {
        sha256: file.sha256,
        signal,
      })
      if (blob !== file.sha256)
        throw new ModelDirectoryError(`${file.name} changed while it was uploaded: upload again`)
    }
    options.onFile?.({
      name: file.name,
      bytes: file.bytes,
      index,
      count: model.files.length,
      skipped,
    })
    blobs.push({ blob: file.sha256 })
  }
  const tokenizer = await client.uploadBlob(model.tokenizerJson, { signal })
  const ref: ModelRef = {
    name: options.name ?? model.name,
    config: model.config,
    files: blobs,
    tokenizer: { blob: tokenizer },
  }
  return { ref, tokenizer: model.tokenizer, directory: model }
}

/** A small file of the directory as text, or `undefined` when `optional` and absent. */
async function readSmallFile(
  root: string,
  name: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
  options: { optional: true },
): Promise<string | undefined>
async function readSmallFile(
  root: string,
  name: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<string>
async function readSmallFile(
  root: string,
  name: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
  options: { optional?: boolean } = {},
): Promise<string | undefined> {
  const path = join(root, name)
  const info = await stat(path).catch(() => undefined)
  if (info == null) {
    if (options.optional) return undefined
    throw new ModelDirectoryError(
      `${root} has no ${name}: a model directory holds config.json, model.safetensors (or ${SAFETENSORS_INDEX_FILE} and its files) and tokenizer.json, as 'huggingface-cli download <model> --local-dir <dir>' lays it out`,
    )
  }
  if (info.size > maxBytes)
    throw new ModelDirectoryError(
      `${name} is ${mib(info.size)}, more than a ${name} should be: is it the right file?`,
    )
  try {
    return await readFile(path, { encoding: 'utf8', signal })
  } catch (err) {
    // Node's AbortError says only "aborted": the caller's reason says why.
    if (signal?.aborted) throw signal.reason
    throw err
  }
}

/** A safetensors file's header and length, read without its data. */
async function readHeader(
  root: string,
  name: string,
  indexed: boolean,
): Promise<{ header: SafetensorsHeader; bytes: number }> {
  let handle: FileHandle
  try {
    handle = await open(join(root, name), 'r')
  } catch {
    throw new ModelDirectoryError(
      indexed
        ? `${SAFETENSORS_INDEX_FILE} names ${name}, which is not in ${root}: download every shard of the model`
        : `${root} has no ${SINGLE_FILE} (nor ${SAFETENSORS_INDEX_FILE}): Tabswarm reads safetensors weights; convert a pytorch_model.bin with ${CONVERT_HINT.replace("torch_dtype='float16'", "torch_dtype='float16', use_safetensors=False")}`,
    )
  }
  try {
    const { size } = await handle.stat()
    const prefix = new Uint8Array(SAFETENSORS_PREFIX_BYTES)
    await handle.read(prefix, 0, prefix.length, 0)
    const length = safetensorsHeaderLength(prefix)
    const bytes = new Uint8Array(SAFETENSORS_PREFIX_BYTES + Math.min(length, size))
    await handle.read(bytes, 0, bytes.length, 0)
    return { header: parseSafetensorsHeader(bytes, size), bytes: size }
  } catch (err) {
    throw fromFormatError(name, err)
  } finally {
    await handle.close()
  }
}

/** Hex sha-256 of a file, read as a stream. */
async function hashFile(path: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash('sha256')
  try {
    await pipeline(createReadStream(path), hash, { ...(signal ? { signal } : {}) })
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    throw err
  }
  return hash.digest('hex')
}

/** A `ModelFormatError` (or a JSON syntax error) as one line naming `file`. */
function fromFormatError(file: string, err: unknown, other?: string): ModelDirectoryError {
  if (err instanceof ModelDirectoryError) return err
  if (err instanceof ModelFormatError) {
    const fix = err.details ? ` ${err.details}` : ''
    const where =
      other != null && !err.shortMessage.includes(file) ? `${file} (against ${other})` : file
    return new ModelDirectoryError(`${where}: ${err.shortMessage}${fix}`, {
      reason: err.code,
      cause: err,
    })
  }
  if (err instanceof SyntaxError)
    return new ModelDirectoryError(
      `${file} is not valid JSON (${err.message}): download it again`,
      {
        cause: err,
      },
    )
  return new ModelDirectoryError(`${file}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  })
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
