import type { Capabilities } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { sha256HexSync } from '../blobs/sha256-hex.ts'
import { type CoordinatorOptions, createCoordinator } from './coordinator.ts'
import { grantInputs } from './in-process-inputs.ts'

const caps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

/** An 8×5 · 5×n product in 2×2 tiles (4 row bands), with every peer in `peers` online. */
function setup(peers: string[], options: CoordinatorOptions = {}, n = 8) {
  const c = createCoordinator({ welcomeCredits: 1_000_000_000n, tileSize: 2, ...options })
  const [m, k] = [8, 5]
  const a = Float32Array.from({ length: m * k }, (_, i) => i + 1)
  const b = Float32Array.from({ length: k * n }, (_, i) => -i)
  const job = c.submitMatmul({ a, b, m, k, n })
  for (const p of peers) c.registerContributor(p, caps)
  return { c, job, a, b, m, k, n }
}

describe('lease inputs by content address', () => {
  it('names A’s row band by its hash and its range of A’s blob, and B’s column band by hash', () => {
    const { c, a, b, k, n } = setup(['p'])
    const grant = c.lease('p')!
    expect(grant.program).toEqual({ kind: 'matmul', m: 2, k, n: 2 })
    const [refA, refB] = grant.inputs
    const aBand = new Uint8Array(a.buffer, 0, 2 * k * 4)
    expect(refA).toEqual({
      name: 'a',
      dtype: 'float32',
      shape: [2, k],
      sha256: sha256HexSync(aBand),
      byteLength: 2 * k * 4,
      range: { blob: sha256HexSync(new Uint8Array(a.buffer)), byteOffset: 0 },
    })
    const bBand = Float32Array.from(
      { length: k * 2 },
      (_, i) => b[Math.floor(i / 2) * n + (i % 2)]!,
    )
    expect(refB).toEqual({
      name: 'b',
      dtype: 'float32',
      shape: [k, 2],
      sha256: sha256HexSync(new Uint8Array(bBand.buffer)),
      byteLength: k * 2 * 4,
    })
    // The coordinator holds exactly those bytes under those hashes.
    const [gotA, gotB] = grantInputs(c, grant)
    expect(sha256HexSync(gotA!)).toBe(refA!.sha256)
    expect(sha256HexSync(gotB!)).toBe(refB!.sha256)
    // A later row band: its offset in A's blob.
    const later = [c.lease('p')!, c.lease('p')!, c.lease('p')!, c.lease('p')!, c.lease('p')!]
    const second = later.find((g) => g.inputs[0]!.sha256 !== refA!.sha256)!
    expect(second.inputs[0]!.range).toEqual({ blob: refA!.range!.blob, byteOffset: 2 * k * 4 })
  })

  it('leases tiles in groups that share bands, and forgets a job’s parts when it ends', async () => {
    // 4 row bands × 8 column bands: row-major order would read 2 row bands and all 8
    // column bands in its first 16 leases.
    const { c, job } = setup(['p'], { maxLeasesPerPeer: 100 }, 16)
    const grants = Array.from({ length: 16 }, () => c.lease('p')!)
    // Grouped: 4 row bands × 4 column bands, each band hashed once and read by four tiles.
    const aHashes = new Set(grants.map((g) => g.inputs[0]!.sha256))
    const bHashes = new Set(grants.map((g) => g.inputs[1]!.sha256))
    expect(aHashes.size).toBe(4)
    expect(bHashes.size).toBe(4)
    // Diagonal waves inside the group: four leases taken together share no band, so none
    // waits on another's fetch; the next wave reads only bands the first one fetched.
    const wave = grants.slice(0, 4)
    expect(new Set(wave.map((g) => g.inputs[0]!.sha256)).size).toBe(4)
    expect(new Set(wave.map((g) => g.inputs[1]!.sha256)).size).toBe(4)
    for (const g of grants.slice(4, 8)) {
      expect(wave.map((w) => w.inputs[0]!.sha256)).toContain(g.inputs[0]!.sha256)
      expect(wave.map((w) => w.inputs[1]!.sha256)).toContain(g.inputs[1]!.sha256)
    }
    expect(c.parts.size).toBe(8)
    await c.cancel(job.id)
    expect(c.parts.size).toBe(0)
    expect(c.inputBytes(grants[0]!.inputs[1]!.sha256)).toBeUndefined()
  })

  it('names peers that announced an input as its providers, never the requester, and forgets leavers', () => {
    const { c } = setup(['p1', 'p2', 'p3'])
    const first = c.lease('p1')!
    const hashes = first.inputs.map((r) => r.sha256)
    // p1 announces what it fetched; p2 too, later.
    expect(c.lease('p1', hashes)).toBeDefined()
    c.lease('p2', hashes)
    // The first leases go to tiles that share no band (a diagonal wave): p3 leases until
    // one of its tiles reads a band p1 and p2 hold.
    let third = c.lease('p3', [])!
    while (!third.inputs.some((r) => hashes.includes(r.sha256))) third = c.lease('p3', [])!
    const shared = third.inputs.filter((r) => hashes.includes(r.sha256))
    expect(shared.length).toBeGreaterThan(0)
    for (const ref of shared) expect(ref.providers).toEqual(['p2', 'p1'])
    // p1 asks again, holding the same: never named as its own provider.
    const again = c.lease('p1', hashes)!
    for (const ref of again.inputs.filter((r) => hashes.includes(r.sha256)))
      expect(ref.providers).toEqual(['p2'])
    // p2 leaves: no longer a provider.
    c.contributorLeft('p2')
    const after = c.lease('p3')!
    for (const ref of after.inputs.filter((r) => hashes.includes(r.sha256)))
      expect(ref.providers ?? []).not.toContain('p2')
  })

  it('names no providers with peer inputs off', () => {
    const { c } = setup(['p1', 'p2'], { peerInputs: false })
    const first = c.lease('p1')!
    const hashes = first.inputs.map((r) => r.sha256)
    c.lease('p1', hashes)
    for (let g = c.lease('p2', []); g != null; g = c.lease('p2', []))
      for (const ref of g.inputs) expect(ref.providers).toBeUndefined()
  })

  it('names a serving peer as the provider of the inputs of a task it returned, before it asks again', () => {
    const { c } = setup(['p1', 'p2'])
    // p1 serves peers (it announced, an empty cache) and returns its first task.
    const first = c.lease('p1', [])!
    c.submitResult('p1', first.leaseId, [
      { shape: [2, 2], dtype: 'float32', bytes: new Uint8Array(16) },
    ])
    const hashes = first.inputs.map((r) => r.sha256)
    let next = c.lease('p2', [])!
    while (!next.inputs.some((r) => hashes.includes(r.sha256))) next = c.lease('p2', [])!
    for (const ref of next.inputs.filter((r) => hashes.includes(r.sha256)))
      expect(ref.providers).toEqual(['p1'])
  })
})
