import type { TopLogitsResult } from './decoder-stage.ts'

/**
 * The `count` largest of `logits`, largest first, ties to the lower id: what a last stage
 * returns and what the coordinator samples from. NaN logits are refused (the forward pass
 * diverged); `count` is capped at the vocabulary.
 *
 * @example
 * const { ids, logits: values } = topLogitsOf(logits, 64)
 */
export function topLogitsOf(logits: ArrayLike<number>, count: number): TopLogitsResult {
  if (!(Number.isInteger(count) && count >= 1))
    throw new RangeError(`count ${count} must be an integer ≥ 1`)
  const n = logits.length
  if (n === 0) throw new RangeError('no logits to choose from')
  const k = Math.min(count, n)
  // A sorted window of the k best so far: O(n·k) worst case, O(n) for the usual k ≪ n.
  const ids = new Int32Array(k)
  const values = new Float64Array(k).fill(-Infinity)
  let filled = 0
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number
    if (Number.isNaN(v)) throw new RangeError(`logit ${i} is NaN: the forward pass diverged`)
    // Strictly greater: an equal later id ranks after the earlier (lower) one.
    if (filled === k && !(v > (values[k - 1] as number))) continue
    let at = filled < k ? filled++ : k - 1
    while (at > 0 && v > (values[at - 1] as number)) {
      values[at] = values[at - 1] as number
      ids[at] = ids[at - 1] as number
      at--
    }
    values[at] = v
    ids[at] = i
  }
  return { ids, logits: Float32Array.from(values) }
}
