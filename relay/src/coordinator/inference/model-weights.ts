import {
  checkDecoderTensors,
  type DecoderConfig,
  decoderTensorNames,
  ModelFormatError,
  type ModelRef,
  parseSafetensorsHeader,
  SAFETENSORS_PREFIX_BYTES,
  safetensorsHeaderLength,
} from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import { CoordinatorError } from '../coordinator-error.ts'

/**
 * One weight tensor of a model as a task names it: a byte range of the blob of the
 * safetensors file it is stored in. Its own sha-256 (of exactly that range) is worked out
 * once per job, on the first lease that names it, and registered as a job part so the
 * relay's blob protocol serves it by that hash (`inference-leases.ts`).
 */
export interface WeightRange {
  /** Canonical name (`decoderTensorNames`). */
  name: string
  dtype: 'float32' | 'float16'
  shape: number[]
  /** The blob of the safetensors file that holds it. */
  blob: string
  byteOffset: number
  byteLength: number
  /** Layer it belongs to; null for the embeddings, final norm and LM head. */
  layer: number | null
}

/** A model's weights, checked against its config, each as a byte range of a stored blob. */
export interface ModelWeights {
  config: DecoderConfig
  /** By canonical name, in `decoderTensorNames` order. */
  tensors: Map<string, WeightRange>
  /** The stored dtype of every tensor (a model mixing f32 and f16 is refused). */
  dtype: 'float32' | 'float16'
  /** Parameters, over every tensor: what a token costs (≈ 2 flops each). */
  parameters: number
  /** The files' bytes by blob hash, read once per job (tasks' weights are views of them). */
  files: Map<string, Uint8Array>
}

const refuse = (message: string) => new CoordinatorError('INVALID_JOB', message)

/**
 * Reads each file's safetensors header from the blob store and checks the tensors against
 * `model.config`: every tensor the architecture needs, with its shape, none it does not
 * use, stored as F32 or F16 throughout. Refuses naming the file or tensor: a BF16 model is
 * refused with the fix (convert to f16), a mismatch with the tensor and both shapes.
 *
 * @example
 * const weights = readModelWeights(spec.model, blobs)
 * weights.tensors.get('model.layers.0.self_attn.q_proj.weight')
 */
export function readModelWeights(model: ModelRef, blobs: BlobStore): ModelWeights {
  const { config } = model
  const located = new Map<string, { blob: string; start: number; end: number; dtype: string }>()
  const shapes = new Map<string, readonly number[]>()
  const files = new Map<string, Uint8Array>()
  model.files.forEach(({ blob }, i) => {
    const where = `model.files.${i}`
    const bytes = blobs.get(blob)
    if (bytes == null)
      throw new CoordinatorError('BLOB_NOT_FOUND', `${where}: no blob ${blob}; upload it first`)
    let header: ReturnType<typeof parseSafetensorsHeader>
    try {
      if (bytes.byteLength < SAFETENSORS_PREFIX_BYTES) safetensorsHeaderLength(bytes)
      header = parseSafetensorsHeader(bytes)
    } catch (err) {
      if (err instanceof ModelFormatError)
        throw refuse(`${where} (blob ${blob.slice(0, 12)}…): ${err.message}`)
      throw err
    }
    files.set(blob, bytes)
    for (const tensor of header.tensors.values()) {
      if (located.has(tensor.name))
        throw refuse(`${where}: tensor ${tensor.name} is stored in two files; keep one copy`)
      located.set(tensor.name, { blob, start: tensor.start, end: tensor.end, dtype: tensor.dtype })
      shapes.set(tensor.name, tensor.shape)
    }
  })
  let byCanonical: Map<string, string>
  try {
    byCanonical = checkDecoderTensors(config, shapes)
  } catch (err) {
    if (err instanceof ModelFormatError) throw refuse(`model: ${err.message}`)
    throw err
  }
  const tensors = new Map<string, WeightRange>()
  let dtype: 'float32' | 'float16' | undefined
  let parameters = 0
  for (const spec of decoderTensorNames(config)) {
    const stored = byCanonical.get(spec.name)!
    const at = located.get(stored)!
    if (at.dtype === 'BF16')
      throw refuse(
        `model: tensor ${stored} is BF16, which contributors do not run; convert the model to f16 (or f32) first`,
      )
    const tensorDtype = at.dtype === 'F16' ? 'float16' : 'float32'
    if (dtype != null && tensorDtype !== dtype)
      throw refuse(
        `model: tensor ${stored} is ${at.dtype} but earlier tensors are ${dtype === 'float16' ? 'F16' : 'F32'}; store every tensor in one dtype`,
      )
    dtype = tensorDtype
    const elements = spec.shape.reduce((a, b) => a * b, 1)
    parameters += elements
    tensors.set(spec.name, {
      name: spec.name,
      dtype: tensorDtype,
      shape: spec.shape,
      blob: at.blob,
      byteOffset: at.start,
      byteLength: at.end - at.start,
      layer: spec.layer,
    })
  }
  return { config, tensors, dtype: dtype ?? 'float32', parameters, files }
}

/** Parameters of a model of `config`, from its architecture alone (no blob read). */
export function modelParameters(config: DecoderConfig): number {
  let parameters = 0
  for (const spec of decoderTensorNames(config)) parameters += spec.shape.reduce((a, b) => a * b, 1)
  return parameters
}

/** The canonical tensors layers `fromLayer … toLayer − 1` bind, in forward-pass order. */
export function stageTensorNames(
  config: DecoderConfig,
  fromLayer: number,
  toLayer: number,
): string[] {
  const last = toLayer === config.layers
  const names: string[] = []
  for (const spec of decoderTensorNames(config)) {
    if (spec.layer != null) {
      if (spec.layer >= fromLayer && spec.layer < toLayer) names.push(spec.name)
    } else if (spec.role === 'token-embedding') {
      // The first stage embeds; a tied LM head is the token embedding, so the last binds it too.
      if (fromLayer === 0 || (last && config.tiedEmbeddings)) names.push(spec.name)
    } else if (spec.role === 'position-embedding') {
      if (fromLayer === 0) names.push(spec.name)
    } else if (last) names.push(spec.name)
  }
  return names
}
