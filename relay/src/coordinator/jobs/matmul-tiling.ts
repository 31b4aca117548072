/**
 * Splits C = A·B (A is m×k, B is k×n, row-major) into independent output tiles. Each task
 * needs a band of A's rows and a band of B's columns, nothing else.
 */
export interface MatmulTile {
  row0: number
  rows: number
  col0: number
  cols: number
}

export function planMatmulTiles(
  m: number,
  n: number,
  tileRows: number,
  tileCols: number,
): MatmulTile[] {
  const tiles: MatmulTile[] = []
  for (let row0 = 0; row0 < m; row0 += tileRows) {
    for (let col0 = 0; col0 < n; col0 += tileCols) {
      tiles.push({
        row0,
        rows: Math.min(tileRows, m - row0),
        col0,
        cols: Math.min(tileCols, n - col0),
      })
    }
  }
  return tiles
}

/** Row bands and column bands a group of the lease order spans (see `groupedTileOrder`). */
export const TILE_GROUP_BANDS = 4

/**
 * The order in which a job's tiles are first leased: groups of `group` row bands by `group`
 * column bands, groups in row-major order, and inside a group diagonal waves: wave `w`
 * holds tile (r, c) with c = r + w (mod the group's width). Tile indices stay row-major
 * (`planMatmulTiles`); only the queue is ordered.
 *
 * Contributors that lease at the same moment take one wave: tiles with no band in common,
 * so none of them waits on, or duplicates, another's fetch from the relay. Every later wave
 * of the group reads only bands an earlier wave fetched, which the contributors that hold
 * them serve over peer links: a group of `group²` tiles reads `group` bands of each matrix
 * from the relay, where row-major order reads one A band and as many B bands as the row is
 * wide, and leases that start together all want the same A band at once.
 */
export function groupedTileOrder(
  m: number,
  n: number,
  tileRows: number,
  tileCols: number,
  group = TILE_GROUP_BANDS,
): number[] {
  const rowBands = Math.ceil(m / tileRows)
  const colBands = Math.ceil(n / tileCols)
  const order: number[] = []
  for (let r0 = 0; r0 < rowBands; r0 += group)
    for (let c0 = 0; c0 < colBands; c0 += group) {
      const rows = Math.min(group, rowBands - r0)
      const cols = Math.min(group, colBands - c0)
      for (let wave = 0; wave < cols; wave++)
        for (let r = 0; r < rows; r++) order.push((r0 + r) * colBands + c0 + ((r + wave) % cols))
    }
  return order
}

/** Rows [row0, row0+rows) of a row-major matrix with `width` columns: a view, no copy. */
export function rowBand(
  matrix: Float32Array,
  width: number,
  row0: number,
  rows: number,
): Float32Array {
  return matrix.subarray(row0 * width, (row0 + rows) * width)
}

/** Columns [col0, col0+cols) of a row-major `height`×`width` matrix, copied to row-major. */
export function columnBand(
  matrix: Float32Array,
  height: number,
  width: number,
  col0: number,
  cols: number,
): Float32Array {
  const band = new Float32Array(height * cols)
  for (let r = 0; r < height; r++) {
    band.set(matrix.subarray(r * width + col0, r * width + col0 + cols), r * cols)
  }
  return band
}

/** Writes a rows×cols tile into a row-major output with `width` columns. */
export function writeTile(
  out: Float32Array,
  width: number,
  tile: MatmulTile,
  data: Float32Array,
): void {
  for (let r = 0; r < tile.rows; r++) {
    out.set(data.subarray(r * tile.cols, (r + 1) * tile.cols), (tile.row0 + r) * width + tile.col0)
  }
}

/** What `autoTileEdge` sizes a tile for. */
export interface TileSizing {
  /** Rows of C, columns of C, and the inner dimension. */
  m: number
  n: number
  k: number
  /** Measured speed of the contributor the tile is sized for (the median online), GFLOP/s. */
  gflops: number
  /** GPU time one tile should take at that speed. @default 1 */
  targetSeconds?: number
  /** Shortest worthwhile tile: below it the lease round trip outweighs the work. @default 0.2 */
  minSeconds?: number
  /** Longest tile: a slower device than this takes longer only when nobody faster is around. @default 5 */
  maxSeconds?: number
  /** Largest input payload of one task (A's band and B's band). */
  maxInputBytes: number
  /**
   * Contributors to keep busy: tiles shrink, never below `minSeconds`, until there are
   * about two per contributor. @default 1
   */
  contributors?: number
}

/** Most output elements one tile holds along an edge: 2048² floats are a 16 MiB result. */
export const MAX_TILE_EDGE = 2048

/**
 * Edge of square output tiles: one takes 2·T²·k flops, so at `gflops` it takes
 * `targetSeconds` at T = √(gflops·1e9·targetSeconds / 2k), inside [minSeconds, maxSeconds].
 * Smaller, down to `minSeconds`, when the job would otherwise have fewer than two tiles per
 * contributor. Then rounded down to a multiple of 16 (the kernels' workgroup tile), at least
 * 16, at most `MAX_TILE_EDGE`, and small enough that a tile's inputs (2·T·k floats) fit
 * `maxInputBytes`.
 *
 * The window holds unless a bound gets in the way: a job smaller than one tile is one tile
 * (it takes what it takes); with a short k even a 2048² tile is quicker than `minSeconds`
 * (at 20 GFLOP/s, for k below about 240); with a long k the input cap may shorten it.
 */
export function autoTileEdge(sizing: TileSizing): number {
  const { m, n, k, gflops, maxInputBytes } = sizing
  const edgeFor = (seconds: number) => Math.sqrt((gflops * 1e9 * seconds) / (2 * k))
  const target = Math.min(
    Math.max(edgeFor(sizing.targetSeconds ?? 1), edgeFor(sizing.minSeconds ?? 0.2)),
    edgeFor(sizing.maxSeconds ?? 5),
  )
  // About two tiles per contributor, if tiles of at least `minSeconds` allow it.
  const parallel = Math.sqrt((m * n) / (2 * Math.max(1, sizing.contributors ?? 1)))
  const wanted = Math.min(target, Math.max(parallel, edgeFor(sizing.minSeconds ?? 0.2)))
  const byBytes = maxInputBytes / (2 * k * 4)
  const cap = Math.min(byBytes, MAX_TILE_EDGE)
  let edge = Math.floor(Math.min(wanted, cap) / 16) * 16
  // Rounding down must not take a tile under the floor when a bigger one fits.
  if (edge < edgeFor(sizing.minSeconds ?? 0.2) && edge + 16 <= cap) edge += 16
  return Math.max(16, edge)
}
