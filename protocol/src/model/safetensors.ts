/**
 * The safetensors format, read side: an 8-byte little-endian header length, a JSON header
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { key: string } }`),
 * then the tensors' bytes. The header is untrusted and this is the only place it is
 * believed: it may claim offsets past the end, overlapping or gapped ranges, sizes that
 * disagree with the shape, or a gigabyte of JSON. Everything is checked here, so that a
 * shard's weights can afterwards be fetched and hashed as plain byte ranges.
 *
 * Dtypes: `F32` and `F16` are read as they are (f16 as its 16-bit patterns, Tabswarm's
 * `float16`). `BF16` is accepted and *converted* to f32 on read (exact: a bf16 is the
 * top half of an f32), since many Llama checkpoints ship in bf16 and no kernel reads it;
 * its byte range is that of the bf16 data, so a loader that caches raw ranges converts
 * after fetching. Any other dtype is refused with `UNSUPPORTED_DTYPE`.
 */
import type { TensorDtype } from '../dtypes.ts'
import { elementCount } from '../dtypes.ts'
import { ModelFormatError } from './model-format-error.ts'

/** Caps on a safetensors header, an untrusted input. */
export const SAFETENSORS_LIMITS = {
  /** The header's JSON (the reference implementation caps it at 100 MB too). */
  maxHeaderBytes: 100 * 1024 * 1024,
  /** Tensors in one file. */
  maxTensors: 65_536,
  /** Dimensions of one tensor. */
  maxRank: 8,
  /** Keys and bytes of `__metadata__` values, summed. */
  maxMetadataBytes: 1024 * 1024,
} as const

/** Bytes before the header's JSON: its little-endian u64 length. */
export const SAFETENSORS_PREFIX_BYTES = 8

/** The safetensors dtypes Tabswarm reads. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16'

const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 }

/** The dtype each safetensors dtype is read as (`BF16` is widened to f32). */
export const SAFETENSORS_READ_DTYPE: Readonly<Record<SafetensorsDtype, TensorDtype>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'float32',
}

/** One tensor of a safetensors file: where its bytes lie and how to read them. */
export type SafetensorsTensor = {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  /** Byte range in the whole file (header included), half-open: `[start, end)`. */
  start: number
  end: number
}

/** A checked safetensors header. */
export type SafetensorsHeader = {
  /** Bytes of the header's JSON. */
  headerBytes: number
  /** File offset where tensor data begins: `8 + headerBytes`. */
  dataStart: number
  /** The whole file's length, which the tensors exactly fill. */
  fileBytes: number
  /** The tensors, in file order. */
  tensors: Map<string, SafetensorsTensor>
  /** `__metadata__`, string to string (e.g. `{ format: 'pt' }`); empty if absent. */
  metadata: Record<string, string>
}

/**
 * The header length a file's first 8 bytes announce, checked against the cap: how many
 * more bytes to read before calling `parseSafetensorsHeader` on a file read in parts.
 *
 * @throws {ModelFormatError} `MALFORMED_HEADER` if fewer than 8 bytes are given,
 *   `LIMIT_EXCEEDED` past `SAFETENSORS_LIMITS.maxHeaderBytes`.
 */
export function safetensorsHeaderLength(prefix: Uint8Array): number {
  if (prefix.length < SAFETENSORS_PREFIX_BYTES)
    throw new ModelFormatError(
      `A safetensors file starts with 8 length bytes; got ${prefix.length} bytes.`,
      {
        code: 'MALFORMED_HEADER',
        details: 'The file is truncated or not safetensors.',
      },
    )
  const view = new DataView(prefix.buffer, prefix.byteOffset, SAFETENSORS_PREFIX_BYTES)
  const length = view.getBigUint64(0, true)
  if (length > BigInt(SAFETENSORS_LIMITS.maxHeaderBytes))
    throw new ModelFormatError(
      `The safetensors header claims ${length} bytes, over the cap of ${SAFETENSORS_LIMITS.maxHeaderBytes}.`,
      { code: 'LIMIT_EXCEEDED', details: 'The file is corrupt or not safetensors.' },
    )
  return Number(length)
}

/**
 * Parse and check a safetensors header.
 *
 * @param bytes The file's first bytes: at least `8 + headerLength` (the whole file will do).
 * @param fileBytes The whole file's length, when `bytes` is only its start; every tensor
 *   must lie within it and together they must fill it, without gaps or overlaps.
 * @throws {ModelFormatError} `MALFORMED_HEADER`, `LIMIT_EXCEEDED`, `UNSUPPORTED_DTYPE`,
 *   `SIZE_MISMATCH`, `BAD_TENSOR_RANGE` or `DUPLICATE_TENSOR`, naming the tensor.
 * @example
 * const header = parseSafetensorsHeader(new Uint8Array(await readFile('model.safetensors')))
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  fileBytes = bytes.length,
): SafetensorsHeader {
  const headerBytes = safetensorsHeaderLength(bytes)
  const dataStart = SAFETENSORS_PREFIX_BYTES + headerBytes
  if (bytes.length < dataStart || fileBytes < dataStart)
    throw malformed(
      `The header claims ${headerBytes} bytes but the file holds only ${Math.min(bytes.length, fileBytes) - 8} after the length.`,
    )
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(SAFETENSORS_PREFIX_BYTES, dataStart),
    )
  } catch (cause) {
    throw malformed('The header is not valid UTF-8.', cause)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw malformed(`The header is not valid JSON (${(cause as Error).message}).`, cause)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw malformed('The header must be a JSON object of tensors.')
  // JSON.parse keeps the last of two equal keys: find doubles in the text itself.
  const keys = topLevelKeys(text)
  const seen = new Set<string>()
  for (const key of keys) {
    if (seen.has(key))
      throw new ModelFormatError(
        `The safetensors header names tensor ${JSON.stringify(key)} twice.`,
        {
          code: 'DUPLICATE_TENSOR',
          details: 'The file is corrupt; re-save it (each tensor once).',
        },
      )
    seen.add(key)
  }
  if (keys.length > SAFETENSORS_LIMITS.maxTensors + 1)
    throw new ModelFormatError(
      `The header lists ${keys.length} entries, over the cap of ${SAFETENSORS_LIMITS.maxTensors} tensors.`,
      {
        code: 'LIMIT_EXCEEDED',
        details: 'Split the checkpoint into several files with a model.safetensors.index.json.',
      },
    )

  const entries = json as Record<string, unknown>
  const metadata = readMetadata(entries.__metadata__)
  const tensors: SafetensorsTensor[] = []
  for (const name of keys) {
    if (name === '__metadata__') continue
    tensors.push(readTensorEntry(name, entries[name], dataStart))
  }
  tensors.sort((a, b) => a.start - b.start || a.end - b.end)
  // The data section must be exactly covered: each range starts where the last ended.
  let cursor = dataStart
  for (const tensor of tensors) {
    if (tensor.start < cursor) {
      const other = tensors.find(
        (t) => t !== tensor && t.start < tensor.end && tensor.start < t.end,
      )
      throw new ModelFormatError(
        `Tensor ${tensor.name}'s bytes overlap those of ${other?.name ?? 'another tensor'}.`,
        {
          code: 'BAD_TENSOR_RANGE',
          details: 'The file is corrupt; re-save it.',
        },
      )
    }
    if (tensor.start > cursor)
      throw new ModelFormatError(
        `Tensor ${tensor.name} starts at data offset ${tensor.start - dataStart}, leaving a gap after ${cursor - dataStart}.`,
        {
          code: 'BAD_TENSOR_RANGE',
          details: 'safetensors files have no holes; the file is corrupt, re-save it.',
        },
      )
    if (tensor.end > fileBytes)
      throw new ModelFormatError(
        `Tensor ${tensor.name} ends at byte ${tensor.end}, past the end of the ${fileBytes}-byte file.`,
        { code: 'BAD_TENSOR_RANGE', details: 'The file is truncated: download it again.' },
      )
    cursor = tensor.end
  }
  if (cursor !== fileBytes)
    throw new ModelFormatError(
      `The file holds ${fileBytes - cursor} bytes after its last tensor.`,
      {
        code: 'BAD_TENSOR_RANGE',
        details: 'The file is corrupt or has data appended; re-save it.',
      },
    )
  return {
    headerBytes,
    dataStart,
    fileBytes,
    tensors: new Map(tensors.map((t) => [t.name, t])),
    metadata,
  }
}

/** A tensor's values, as Tabswarm holds them: f32, or f16 as its 16-bit patterns. */
export type SafetensorsData =
  | { dtype: 'float32'; data: Float32Array<ArrayBuffer> }
  | { dtype: 'float16'; data: Uint16Array<ArrayBuffer> }

/**
 * Decode one tensor's bytes (exactly its `[start, end)` range, e.g. fetched alone) into
 * a typed array. The bytes are copied, so the result is aligned and owns its buffer.
 * safetensors is little-endian, as is every host WebGPU runs on.
 *
 * @throws {ModelFormatError} `SIZE_MISMATCH` if `bytes` is not the tensor's length.
 */
export function decodeSafetensorsTensor(
  tensor: SafetensorsTensor,
  bytes: Uint8Array,
): SafetensorsData {
  if (bytes.length !== tensor.end - tensor.start)
    throw new ModelFormatError(
      `Tensor ${tensor.name} is ${tensor.end - tensor.start} bytes; ${bytes.length} were given.`,
      { code: 'SIZE_MISMATCH', details: 'Pass exactly the tensor’s byte range.' },
    )
  const copy = bytes.slice()
  if (tensor.dtype === 'F32') return { dtype: 'float32', data: new Float32Array(copy.buffer) }
  const bits = new Uint16Array(copy.buffer)
  if (tensor.dtype === 'F16') return { dtype: 'float16', data: bits }
  // BF16 is the high 16 bits of an f32: widening is exact.
  const widened = new Uint32Array(bits.length)
  for (let i = 0; i < bits.length; i++) widened[i] = (bits[i] as number) << 16
  return { dtype: 'float32', data: new Float32Array(widened.buffer) }
}

/**
 * Read tensor `name` out of a whole file (or any prefix of it long enough).
 *
 * @throws {ModelFormatError} `MISSING_TENSOR` if the header has no such tensor,
 *   `BAD_TENSOR_RANGE` if `file` ends before the tensor does.
 */
export function readSafetensorsTensor(
  header: SafetensorsHeader,
  file: Uint8Array,
  name: string,
): SafetensorsData {
  const tensor = header.tensors.get(name)
  if (tensor === undefined)
    throw new ModelFormatError(`The safetensors file has no tensor ${name}.`, {
      code: 'MISSING_TENSOR',
      details: 'Check the name against the header (or the index, for a multi-file checkpoint).',
    })
  if (file.length < tensor.end)
    throw new ModelFormatError(
      `Tensor ${name} ends at byte ${tensor.end}; only ${file.length} bytes were given.`,
      {
        code: 'BAD_TENSOR_RANGE',
        details: 'Read the file up to the tensor’s end.',
      },
    )
  return decodeSafetensorsTensor(tensor, file.subarray(tensor.start, tensor.end))
}

function readTensorEntry(name: string, entry: unknown, dataStart: number): SafetensorsTensor {
  const fail = (problem: string) =>
    new ModelFormatError(`Tensor ${name}: ${problem}.`, {
      code: 'MALFORMED_HEADER',
      details:
        'Each entry must be { dtype, shape: [int...], data_offsets: [begin, end] }; the file is corrupt.',
    })
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw fail('the entry is not an object')
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>
  if (typeof dtype !== 'string') throw fail('dtype is not a string')
  if (!Object.hasOwn(DTYPE_BYTES, dtype))
    throw new ModelFormatError(
      `Tensor ${name} has dtype ${JSON.stringify(dtype).slice(0, 40)}, which Tabswarm does not read.`,
      {
        code: 'UNSUPPORTED_DTYPE',
        details:
          'Supported: F32, F16 and BF16 (read as f32). Convert the checkpoint, e.g. model.half().save_pretrained(dir).',
      },
    )
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw fail('shape is not a list of non-negative integers')
  if (shape.length > SAFETENSORS_LIMITS.maxRank)
    throw new ModelFormatError(
      `Tensor ${name} has ${shape.length} dimensions, over the cap of ${SAFETENSORS_LIMITS.maxRank}.`,
      {
        code: 'LIMIT_EXCEEDED',
        details: 'Decoder weights have at most 2 dimensions; the file is not a supported model.',
      },
    )
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  )
    throw fail('data_offsets is not [begin, end] with 0 <= begin <= end')
  const bytesPer = DTYPE_BYTES[dtype as SafetensorsDtype]
  const elements = elementCount(shape)
  const expected = elements * bytesPer
  const actual = offsets[1] - offsets[0]
  if (!Number.isSafeInteger(expected) || expected !== actual)
    throw new ModelFormatError(
      `Tensor ${name} (${dtype}, shape [${shape}]) needs ${expected} bytes but data_offsets span ${actual}.`,
      {
        code: 'SIZE_MISMATCH',
        details: 'The header disagrees with itself; the file is corrupt, re-save it.',
      },
    )
  return {
    name,
    dtype: dtype as SafetensorsDtype,
    shape: [...shape],
    start: dataStart + offsets[0],
    end: dataStart + offsets[1],
  }
}

function readMetadata(value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {}
  if (value === undefined) return metadata
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed('__metadata__ must be an object of strings.')
  let bytes = 0
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw malformed(`__metadata__.${key} must be a string.`)
    bytes += key.length + entry.length
    metadata[key] = entry
  }
  if (bytes > SAFETENSORS_LIMITS.maxMetadataBytes)
    throw new ModelFormatError(
      `__metadata__ holds ${bytes} characters, over the cap of ${SAFETENSORS_LIMITS.maxMetadataBytes}.`,
      {
        code: 'LIMIT_EXCEEDED',
        details: 'Keep metadata small; it is not where weights go.',
      },
    )
  return metadata
}

/**
 * The keys of a JSON object's top level, in order and with repeats, read from valid
 * JSON text (so strings are well formed and brackets balance).
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = []
  let depth = 0
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string)
      expectKey = false
      i = j
    } else if (ch === '{' || ch === '[') {
      depth++
      expectKey = depth === 1 && ch === '{'
    } else if (ch === '}' || ch === ']') {
      depth--
    } else if (ch === ',' && depth === 1) {
      expectKey = true
    }
  }
  return keys
}

function malformed(message: string, cause?: unknown): ModelFormatError {
  return new ModelFormatError(`Malformed safetensors header: ${message}`, {
    code: 'MALFORMED_HEADER',
    details: 'The file is corrupt or not safetensors.',
    cause,
  })
}
