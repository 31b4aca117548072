/** A grid of workgroups: `[x, y, z]` counts. */
export type Grid3 = readonly [number, number, number]

/** One `dispatchWorkgroups(...count)` covering part of a grid, shifted by `offset`. */
export type GridDispatch = {
  /** First workgroup of this dispatch within the whole grid, per axis. */
  offset: [number, number, number]
  count: [number, number, number]
}

/** Limits of `planGridDispatches`. */
export type GridLimits = {
  /** Most workgroups per axis in one dispatch (`maxComputeWorkgroupsPerDimension`). */
  maxPerDimension: number
  /**
   * Most workgroups in one dispatch, so no single dispatch runs long enough to trip a
   * GPU watchdog. @default Infinity
   */
  maxPerDispatch?: number
}

/**
 * Split a grid into dispatches that respect the per-axis limit and the per-dispatch
 * budget, covering every workgroup exactly once. Kernels add `offset` (passed in their
 * uniforms) to `workgroup_id`, so a split grid computes exactly what one dispatch would.
 *
 * @example
 * planGridDispatches([2 ** 19, 1, 1], { maxPerDimension: 65535 }).length // 9
 */
export function planGridDispatches(grid: Grid3, limits: GridLimits): GridDispatch[] {
  const { maxPerDimension } = limits
  const budget = limits.maxPerDispatch ?? Number.POSITIVE_INFINITY
  if (!Number.isSafeInteger(maxPerDimension) || maxPerDimension < 1) {
    throw new RangeError(`maxPerDimension must be a positive integer, got ${maxPerDimension}.`)
  }
  if (!(budget >= 1)) throw new RangeError(`maxPerDispatch must be >= 1, got ${budget}.`)
  for (const count of grid) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`grid counts must be non-negative integers, got [${grid.join(', ')}].`)
    }
  }
  const [gx, gy, gz] = grid
  if (gx === 0 || gy === 0 || gz === 0) return []
  const cx = Math.min(gx, maxPerDimension, Math.floor(budget))
  const cy = Math.min(gy, maxPerDimension, Math.max(1, Math.floor(budget / cx)))
  const cz = Math.min(gz, maxPerDimension, Math.max(1, Math.floor(budget / (cx * cy))))
  const dispatches: GridDispatch[] = []
  for (let z = 0; z < gz; z += cz) {
    for (let y = 0; y < gy; y += cy) {
      for (let x = 0; x < gx; x += cx) {
        dispatches.push({
          offset: [x, y, z],
          count: [Math.min(cx, gx - x), Math.min(cy, gy - y), Math.min(cz, gz - z)],
        })
      }
    }
  }
  return dispatches
}
