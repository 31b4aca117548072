/**
 * Multi-file checkpoints: `model.safetensors.index.json` maps each tensor name to the
 * file that holds it (`{ metadata?: {...}, weight_map: { name: file } }`). This module
 * answers "which file holds which tensor" and checks that the files' own headers agree,
 * so a loader fetches only the files a shard's layers live in.
 */
import { ModelFormatError } from './model-format-error.ts'
import type { SafetensorsHeader, SafetensorsTensor } from './safetensors.ts'
import { SAFETENSORS_LIMITS } from './safetensors.ts'

/** The conventional name of a multi-file checkpoint's index. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json'

/** Files one index may name. */
export const MAX_SAFETENSORS_FILES = 4096

/** A checked `model.safetensors.index.json`. */
export type SafetensorsIndex = {
  /** Tensor name → file name (a bare name in the model directory). */
  weightMap: Map<string, string>
  /** The files named, in first-mention order. */
  files: string[]
}

/** A tensor of a multi-file checkpoint and the file that holds it. */
export type LocatedTensor = { file: string; tensor: SafetensorsTensor }

/** A file name an index may name: bare (no directories), ending in `.safetensors`. */
const SAFE_FILE = /^[A-Za-z0-9_.-]{1,200}\.safetensors$/

/**
 * Parse a `model.safetensors.index.json` (already `JSON.parse`d). File names must be bare
 * `*.safetensors` names: an index is untrusted and must not point outside the model
 * directory (`../`, absolute paths).
 *
 * @throws {ModelFormatError} `MALFORMED_HEADER` or `LIMIT_EXCEEDED`.
 */
export function parseSafetensorsIndex(json: unknown): SafetensorsIndex {
  const fail = (problem: string) =>
    new ModelFormatError(`${SAFETENSORS_INDEX_FILE}: ${problem}.`, {
      code: 'MALFORMED_HEADER',
      details:
        'The index must be { "weight_map": { "tensor name": "model-00001-of-00002.safetensors", ... } }.',
    })
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw fail('not a JSON object')
  const map = (json as Record<string, unknown>).weight_map
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw fail('weight_map is not an object')
  const entries = Object.entries(map)
  if (entries.length > SAFETENSORS_LIMITS.maxTensors)
    throw new ModelFormatError(
      `${SAFETENSORS_INDEX_FILE} lists ${entries.length} tensors, over the cap of ${SAFETENSORS_LIMITS.maxTensors}.`,
      {
        code: 'LIMIT_EXCEEDED',
        details: 'The model is larger than Tabswarm runs.',
      },
    )
  const weightMap = new Map<string, string>()
  const files: string[] = []
  for (const [name, file] of entries) {
    if (typeof file !== 'string' || !SAFE_FILE.test(file) || file.startsWith('.'))
      throw fail(
        `tensor ${name} maps to ${JSON.stringify(file)}, not a bare *.safetensors file name`,
      )
    weightMap.set(name, file)
    if (!files.includes(file)) {
      if (files.length === MAX_SAFETENSORS_FILES)
        throw new ModelFormatError(
          `${SAFETENSORS_INDEX_FILE} names over ${MAX_SAFETENSORS_FILES} files.`,
          {
            code: 'LIMIT_EXCEEDED',
            details: 'Re-shard the checkpoint into fewer, larger files.',
          },
        )
      files.push(file)
    }
  }
  return { weightMap, files }
}

/**
 * Join an index with the headers of its files: every tensor, with the file it lies in.
 * The index and the headers must agree exactly: each tensor in the file the index names,
 * no tensor in two files, no file tensor the index omits.
 *
 * @param headers File name → its parsed header, for every file in `index.files`.
 * @throws {ModelFormatError} `MISSING_TENSOR`, `UNEXPECTED_TENSOR` or `DUPLICATE_TENSOR`.
 */
export function locateSafetensors(
  index: SafetensorsIndex,
  headers: ReadonlyMap<string, SafetensorsHeader>,
): Map<string, LocatedTensor> {
  const located = new Map<string, LocatedTensor>()
  for (const file of index.files) {
    const header = headers.get(file)
    if (header === undefined)
      throw new ModelFormatError(
        `${SAFETENSORS_INDEX_FILE} names ${file}, whose header was not given.`,
        {
          code: 'MISSING_TENSOR',
          details: `Read ${file} from the model directory (it may be missing: download it).`,
        },
      )
    for (const tensor of header.tensors.values()) {
      const earlier = located.get(tensor.name)
      if (earlier !== undefined)
        throw new ModelFormatError(
          `Tensor ${tensor.name} is in both ${earlier.file} and ${file}.`,
          {
            code: 'DUPLICATE_TENSOR',
            details: 'The checkpoint is corrupt; re-save it.',
          },
        )
      if (index.weightMap.get(tensor.name) !== file)
        throw new ModelFormatError(
          `Tensor ${tensor.name} is in ${file}, but ${SAFETENSORS_INDEX_FILE} says ${index.weightMap.get(tensor.name) ?? 'nothing'}.`,
          {
            code: 'UNEXPECTED_TENSOR',
            details: 'The index does not match the files; re-save the checkpoint.',
          },
        )
      located.set(tensor.name, { file, tensor })
    }
  }
  for (const [name, file] of index.weightMap)
    if (!located.has(name))
      throw new ModelFormatError(
        `${SAFETENSORS_INDEX_FILE} puts tensor ${name} in ${file}, whose header lacks it.`,
        {
          code: 'MISSING_TENSOR',
          details: 'The index does not match the files; re-download or re-save the checkpoint.',
        },
      )
  return located
}
