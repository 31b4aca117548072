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

/**
 * Edge of square output tiles so one tile takes about `targetSeconds` on a contributor
 * measured at `gflops`: 2·T²·k flops each. A multiple of 16 (the kernels' workgroup tile),
 * at least 16, at most 2048, and small enough that a tile's inputs (2·T·k floats) fit
 * `maxInputBytes`.
 */
export function autoTileEdge(
  k: number,
  gflops: number,
  targetSeconds: number,
  maxInputBytes: number,
): number {
  const ideal = Math.sqrt((gflops * 1e9 * targetSeconds) / (2 * k))
  const byBytes = maxInputBytes / (2 * k * 4)
  const edge = Math.floor(Math.min(ideal, byBytes, 2048) / 16) * 16
  return Math.max(16, edge)
}
