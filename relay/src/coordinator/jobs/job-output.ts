import type { TaskResultRecord } from '@tabswarm/protocol'
import { alignedViewAs } from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import type { StoredJob } from '../../store/coordinator-store.ts'
import { CoordinatorError } from '../coordinator-error.ts'
import { planMatmulTiles, writeTile } from './matmul-tiling.ts'

/**
 * C of a completed matmul job, row-major m×n, from its accepted tiles (each output a blob).
 * Throws `CoordinatorError('BLOB_NOT_FOUND')` when a tile's bytes are gone.
 */
export function assembleMatmulOutput(
  row: StoredJob,
  results: Iterable<TaskResultRecord>,
  blobs: BlobStore,
): Float32Array {
  if (row.spec.kernel !== 'matmul')
    throw new CoordinatorError(
      'INVALID_JOB',
      `job ${row.id} is a custom job: read its results instead`,
    )
  const m = row.spec.inputs.a.shape[0]!
  const n = row.spec.inputs.b.shape[1]!
  const tiles = planMatmulTiles(m, n, row.tileRows ?? 128, row.tileCols ?? 128)
  const out = new Float32Array(m * n)
  for (const result of results) {
    const bytes = blobs.get(result.outputs[0]!.blob)
    if (bytes == null)
      throw new CoordinatorError(
        'BLOB_NOT_FOUND',
        `job ${row.id}: the output of task ${result.index} is missing from the blob store`,
      )
    writeTile(out, n, tiles[result.index]!, alignedViewAs('float32', bytes))
  }
  return out
}
