import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import { ABSOLUTE_FLOOR } from '../compare/tolerance-model.ts'
import type { EmbeddingRequest } from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

/**
 * Embedding lookup on the CPU. A gather copies values, so the only slack is for
 * subnormals a GPU may flush to zero on the way through an f32 register.
 */
export function embeddingReference(request: EmbeddingRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { dim, ids } = request
  const table = floatValues(request.table, dtype)
  const expected = new Float64Array(ids.length * dim)
  for (let t = 0; t < ids.length; t++) {
    const row = (ids[t] as number) * dim
    expected.set(table.subarray(row, row + dim), t * dim)
  }
  const tolerance = new Float64Array(expected.length).fill(ABSOLUTE_FLOOR[dtype])
  return { expected, tolerance }
}
