import { describe, expect, it } from 'vitest'
import { autoTileEdge, MAX_TILE_EDGE, planMatmulTiles } from './matmul-tiling.ts'

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
