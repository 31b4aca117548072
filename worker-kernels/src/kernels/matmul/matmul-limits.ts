import { assertBufferFits, type BufferLimits } from '../../host/buffer-limits.ts'

/**
 * Check, before anything is allocated, that A, B and C each fit one storage binding on
 * this device. Throws `KernelLimitError` naming the operand, its size and the limit.
 * Shapes must already be valid (`assertMatmulShape`). `bytes` is the element size of A
 * and B (C is computed in f32 whatever they are). With `splits` > 1 (split-K) the
 * scratch of partial products, `splits` f32 copies of C, must fit as well.
 */
export function assertMatmulFitsLimits(
  {
    m,
    k,
    n,
    batch = 1,
    bytes = 4,
    broadcastB = false,
    splits = 1,
  }: {
    m: number
    k: number
    n: number
    batch?: number
    bytes?: number
    broadcastB?: boolean
    splits?: number
  },
  limits: BufferLimits,
): void {
  const b = batch === 1 ? '' : `${batch}*`
  const bB = broadcastB ? '' : b
  assertBufferFits('A', `${b}m*k*${bytes} = ${b}${m}*${k}*${bytes}`, batch * m * k * bytes, limits)
  assertBufferFits(
    'B',
    `${bB}k*n*${bytes} = ${bB}${k}*${n}*${bytes}`,
    (broadcastB ? 1 : batch) * k * n * bytes,
    limits,
  )
  assertBufferFits('C', `${b}m*n*4 = ${b}${m}*${n}*4`, batch * m * n * 4, limits)
  if (splits > 1) {
    assertBufferFits(
      'The split-K scratch (partial sums)',
      `splits*${b}m*n*4 = ${splits}*${b}${m}*${n}*4`,
      splits * batch * m * n * 4,
      limits,
    )
  }
}
