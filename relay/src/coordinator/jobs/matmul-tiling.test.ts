import { describe, expect, it } from 'vitest'
import {
  autoTileEdge,
  groupedTileOrder,
  MAX_TILE_EDGE,
  planMatmulTiles,
  TILE_GROUP_BANDS,
} from './matmul-tiling.ts'

const MAX_INPUT = 63 * 1024 ** 2
const seconds = (edge: number, k: number, gflops: number) => (2 * edge * edge * k) / (gflops * 1e9)

describe('autoTileEdge', () => {
  it('sizes a tile to about a second of the speed it is sized for, never over 5 s', () => {
    for (const gflops of [2, 20, 200, 2000])
      for (const k of [4096, 16_384, 65_536]) {
        const edge = autoTileEdge({ m: 1 << 16, n: 1 << 16, k, gflops, maxInputBytes: 2 ** 40 })
        const t = seconds(edge, k, gflops)
        const why = `${gflops} GFLOP/s, k ${k}: edge ${edge}, ${t.toFixed(3)} s`
        expect(edge % 16, why).toBe(0)
        expect(t, why).toBeLessThanOrEqual(5)
        // Unless even the largest tile is quicker (a fast device, a short k: see below).
        if (edge < MAX_TILE_EDGE) expect(t, why).toBeGreaterThan(0.8)
        else expect(seconds(MAX_TILE_EDGE, k, gflops), why).toBeLessThan(1)
      }
  })

  it('makes tiles smaller to keep every contributor busy, but never under 0.2 s', () => {
    const job = { m: 4096, n: 4096, k: 4096, gflops: 20, maxInputBytes: MAX_INPUT }
    const alone = autoTileEdge(job)
    expect(seconds(alone, 4096, 20)).toBeGreaterThan(0.8)
    expect(seconds(alone, 4096, 20)).toBeLessThan(1.2)
    const shared = autoTileEdge({ ...job, contributors: 50 })
    expect(shared).toBeLessThan(alone)
    expect(seconds(shared, 4096, 20)).toBeGreaterThanOrEqual(0.2)
    expect(planMatmulTiles(4096, 4096, shared, shared).length).toBeGreaterThan(
      planMatmulTiles(4096, 4096, alone, alone).length,
    )
    // A big job has two tiles per contributor at about a second anyway.
    expect(autoTileEdge({ ...job, m: 65_536, n: 65_536, contributors: 4 })).toBe(alone)
  })

  it('stays inside the bounds that no timing can move', () => {
    // A short k: even the largest tile (a 16 MiB result) is quicker than 0.2 s.
    const short = { m: 1 << 16, n: 1 << 16, k: 8, gflops: 20, maxInputBytes: MAX_INPUT }
    expect(autoTileEdge(short)).toBe(MAX_TILE_EDGE)
    // A long k: the inputs of one task must fit a message.
    const long = { m: 8192, n: 8192, k: 1 << 18, gflops: 2000, maxInputBytes: MAX_INPUT }
    expect(autoTileEdge(long)).toBe(16)
    expect(2 * 16 * (1 << 18) * 4).toBeLessThanOrEqual(MAX_INPUT)
    // A very slow device on a long k: one workgroup tile at least.
    const slow = { m: 64, n: 64, k: 1 << 24, gflops: 0.001, maxInputBytes: 2 ** 40 }
    expect(autoTileEdge(slow)).toBe(16)
  })
})

describe('groupedTileOrder', () => {
  it('leases every tile once, in groups whose tiles share a few bands of A and B', () => {
    // 10×13 tiles, ragged at both edges.
    const [m, n, edge] = [10 * 16 - 5, 13 * 16 - 3, 16]
    const tiles = planMatmulTiles(m, n, edge, edge)
    const order = groupedTileOrder(m, n, edge, edge)
    expect([...order].sort((x, y) => x - y)).toEqual(tiles.map((_, i) => i))
    const g = TILE_GROUP_BANDS
    // Any g² consecutive leases read at most 3g row bands and 3g column bands (a window may
    // straddle a full group and the narrow ones at the ragged edge), where row-major order
    // reads as many column bands as a row is wide (13 here).
    const distinct = (o: number[], of: (t: (typeof tiles)[number]) => number, start: number) =>
      new Set(o.slice(start, start + g * g).map((i) => of(tiles[i]!))).size
    const rowMajorOrder = tiles.map((_, i) => i)
    let grouped = 0
    let plain = 0
    for (let start = 0; start + g * g <= order.length; start++) {
      expect(distinct(order, (t) => t.row0, start)).toBeLessThanOrEqual(3 * g)
      expect(distinct(order, (t) => t.col0, start)).toBeLessThanOrEqual(3 * g)
      grouped += distinct(order, (t) => t.row0, start) + distinct(order, (t) => t.col0, start)
      plain +=
        distinct(rowMajorOrder, (t) => t.row0, start) +
        distinct(rowMajorOrder, (t) => t.col0, start)
    }
    // Over all windows, fewer bands than row-major order.
    expect(grouped).toBeLessThan(0.8 * plain)
    // The first group exactly: g row bands × g column bands, in diagonal waves of g tiles
    // that share no band (contributors that lease together never want the same band), each
    // later wave reading only bands the first one fetched.
    const first = order.slice(0, g * g).map((i) => tiles[i]!)
    expect(new Set(first.map((t) => t.row0)).size).toBe(g)
    expect(new Set(first.map((t) => t.col0)).size).toBe(g)
    for (let wave = 0; wave < g; wave++) {
      const tilesOfWave = first.slice(wave * g, (wave + 1) * g)
      expect(new Set(tilesOfWave.map((t) => t.row0)).size).toBe(g)
      expect(new Set(tilesOfWave.map((t) => t.col0)).size).toBe(g)
    }
    const rowMajor = tiles.slice(0, g * g)
    expect(new Set(rowMajor.map((t) => t.col0)).size).toBeGreaterThan(g)
  })

  it('takes diagonal waves in a group narrower than g', () => {
    // 4 row bands × 2 column bands: wave 0 is (r, r mod 2), wave 1 (r, r+1 mod 2).
    expect(groupedTileOrder(64, 32, 16, 16)).toEqual([0, 3, 4, 7, 1, 2, 5, 6])
  })
})
