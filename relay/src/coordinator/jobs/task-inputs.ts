import { type InputRef, tensorByteLength } from '@tabswarm/protocol'
import type { InferenceInputs } from '../inference/inference-inputs.ts'
import { inferenceInputRefs } from '../inference/inference-lease.ts'
import type { JobParts } from './job-parts.ts'
import { bColumnBand, type CustomInputs, type MatmulInputs } from './job-runtime.ts'
import { rowBand } from './matmul-tiling.ts'
import { tensorBytes } from './tensor-bytes.ts'

/**
 * The inputs of task `index` by content address, without providers (the lease adds them):
 * the sha-256 of exactly the bytes the task reads, and where those bytes come from.
 *
 * - Inference: tokens or activations, a lazy replay prefix, and the weights as byte ranges
 *   of the model's blobs (`inference-lease.ts`).
 * - Custom jobs: each input is an uploaded blob, named by its own hash.
 * - Matmul: `a` is A's row band, a contiguous range of A's blob (`range`); `b` is B's
 *   column band, materialised once per band. Each band is hashed once per job, on the first
 *   lease that needs it, and registered in `parts` so the relay's blob protocol serves it.
 */
export function taskInputRefs(
  jobId: string,
  inputs: MatmulInputs | CustomInputs | InferenceInputs,
  index: number,
  parts: JobParts,
): InputRef[] {
  if (inputs.kind === 'inference') return inferenceInputRefs(jobId, inputs, index, parts)
  if (inputs.kind === 'custom') {
    const task = inputs.spec.tasks[index]!
    const program = inputs.spec.program
    return task.inputs.map((ref, j) => ({
      name: program.inputs[j]!.name,
      dtype: ref.dtype,
      shape: ref.shape,
      sha256: ref.blob,
      byteLength: tensorByteLength(ref.shape, ref.dtype),
    }))
  }
  const tile = inputs.tiles[index]!
  const { k } = inputs
  const hashOf = (key: string, bytes: () => Uint8Array) => {
    let hash = inputs.bandHashes.get(key)
    if (hash == null) {
      hash = parts.add(jobId, bytes())
      inputs.bandHashes.set(key, hash)
    }
    return hash
  }
  const aBytes = tile.rows * k * 4
  const bBytes = k * tile.cols * 4
  return [
    {
      name: 'a',
      dtype: 'float32',
      shape: [tile.rows, k],
      sha256: hashOf(`a:${tile.row0}`, () =>
        tensorBytes(rowBand(inputs.a, k, tile.row0, tile.rows)),
      ),
      byteLength: aBytes,
      range: { blob: inputs.blobs.a, byteOffset: tile.row0 * k * 4 },
    },
    {
      name: 'b',
      dtype: 'float32',
      shape: [k, tile.cols],
      sha256: hashOf(`b:${tile.col0}`, () =>
        tensorBytes(bColumnBand(inputs, tile.col0, tile.cols)),
      ),
      byteLength: bBytes,
    },
  ]
}
