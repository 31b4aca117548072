import type { MatmulKernel } from './matmul-kernel.ts'

/** One `dispatchWorkgroups(countX, countY)` over the grid, shifted by the offsets. */
export type MatmulDispatch = {
  /** First workgroup column of this dispatch within the whole grid. */
  offsetX: number
  /** First workgroup row of this dispatch within the whole grid. */
  offsetY: number
  countX: number
  countY: number
}

/**
 * Cover C's `m×n` outputs with workgroups of `kernel.tileRows×kernel.tileCols`, split
 * into dispatches of at most `maxPerDimension` workgroups per axis. A single dispatch
 * past `maxComputeWorkgroupsPerDimension` is a validation error, and e.g. a 1×2²⁴
 * product in 32×32 tiles needs 2¹⁹ workgroups along x.
 *
 * @example
 * planMatmulDispatches(1, 1 << 24, { tileRows: 32, tileCols: 32 }, 65535).length // 9
 */
export function planMatmulDispatches(
  m: number,
  n: number,
  kernel: Pick<MatmulKernel, 'tileRows' | 'tileCols'>,
  maxPerDimension: number,
): MatmulDispatch[] {
  if (!Number.isSafeInteger(maxPerDimension) || maxPerDimension < 1) {
    throw new RangeError(`maxPerDimension must be a positive integer, got ${maxPerDimension}.`)
  }
  const groupsX = Math.ceil(n / kernel.tileCols)
  const groupsY = Math.ceil(m / kernel.tileRows)
  const dispatches: MatmulDispatch[] = []
  for (let offsetY = 0; offsetY < groupsY; offsetY += maxPerDimension) {
    for (let offsetX = 0; offsetX < groupsX; offsetX += maxPerDimension) {
      dispatches.push({
        offsetX,
        offsetY,
        countX: Math.min(maxPerDimension, groupsX - offsetX),
        countY: Math.min(maxPerDimension, groupsY - offsetY),
      })
    }
  }
  return dispatches
}
