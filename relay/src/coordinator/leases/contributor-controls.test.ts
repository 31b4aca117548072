import type { CustomJobSpec } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { caps, make, matrices, submitHonest } from '../testing/coordinator-fixture.ts'

// A contributor's own controls, honoured by capability matching: an opt-out from
// researchers' custom kernels, and a memory cap; and the job's facts each lease carries.

/** A custom job of `tasks` tasks, each 1024 float32 in and out: 8 KiB of buffers per task. */
function customSpec(blobs: BlobStore, tasks = 1, name?: string): CustomJobSpec {
  const x = blobs.put(new Uint8Array(4096)).hash
  return {
    kernel: 'custom',
    ...(name != null ? { name } : {}),
    program: {
      wgsl: '@compute @workgroup_size(1) fn main() {}',
      inputs: [{ name: 'x', dtype: 'float32' }],
      outputs: [{ name: 'y', dtype: 'float32' }],
    },
    tasks: Array.from({ length: tasks }, () => ({
      inputs: [{ blob: x, dtype: 'float32' as const, shape: [1024] }],
      outputs: [{ shape: [1024], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    })),
    verification: { replication: 1, canaries: 0 },
  }
}

describe('coordinator: contributor controls and job facts', () => {
  it('never leases a custom task to a tab that opted out of custom kernels, and still leases it matmul', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, tileSize: 2 })
    await c.submit(customSpec(blobs, 4), { account: 'r' })
    c.registerContributor('opted-out', { ...caps, kernels: ['matmul'] })
    c.registerContributor('opted-in', caps)
    expect(c.lease('opted-out')).toBeUndefined()
    // With a matmul job beside it, the opted-out tab gets matmul tiles only, however many.
    c.submitMatmul(matrices(4, 2, 4))
    for (let i = 0; i < 4; i++) expect(c.lease('opted-out')?.program.kind).toBe('matmul')
    expect(c.lease('opted-out')).toBeUndefined()
    expect(c.lease('opted-in')?.program.kind).toBe('wgsl')
    // A tab that opts out later says hello again: from then on it gets no custom task.
    c.registerContributor('opted-in', { ...caps, kernels: ['matmul'] })
    expect(c.lease('opted-in')).toBeUndefined()
  })

  it('never leases a task whose buffers exceed a memory cap, sent as limits or as memoryCapBytes', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    await c.submit(customSpec(blobs), { account: 'r' })
    // 4 KiB in + 4 KiB out: one byte less than 8 KiB is too little, 8 KiB is enough.
    c.registerContributor('capped', { ...caps, memoryCapBytes: 8191 })
    c.registerContributor('per-buffer', {
      ...caps,
      limits: { maxBufferSize: 4095, maxStorageBufferBindingSize: 4095 },
    })
    c.registerContributor('roomy', { ...caps, memoryCapBytes: 8192 })
    expect(c.lease('capped')).toBeUndefined()
    expect(c.lease('per-buffer')).toBeUndefined()
    expect(c.lease('roomy')?.program.kind).toBe('wgsl')
  })

  it('holds a matmul tile to the cap too: both bands and the output tile', () => {
    const c = make({ tileSize: 64 })
    c.submitMatmul(matrices(128, 1024, 128))
    // A 64-row band of A, a 64-column band of B (256 KiB each) and a 64×64 tile (16 KiB).
    const tile = 4 * (64 * 1024 * 2 + 64 * 64)
    c.registerContributor('small', { ...caps, memoryCapBytes: tile - 1 })
    c.registerContributor('fits', { ...caps, memoryCapBytes: tile })
    expect(c.lease('small')).toBeUndefined()
    expect(c.lease('fits')?.program).toEqual({ kind: 'matmul', m: 64, k: 1024, n: 64 })
  })

  it('tells each lease its job’s name, kernel and progress', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, tileSize: 2 })
    await c.submit(customSpec(blobs, 2, 'protein folding'), { account: 'r' })
    c.registerContributor('w', caps)
    const first = c.lease('w')!
    expect(first.job).toEqual({
      name: 'protein folding',
      kernel: 'custom',
      tasksAccepted: 0,
      tasksTotal: 2,
    })
    const zeros = { shape: [1024], dtype: 'float32' as const, bytes: new Uint8Array(4096) }
    expect(c.submitResult('w', first.leaseId, [zeros]).outcome).toBe('accepted')
    expect(c.lease('w')!.job).toMatchObject({ tasksAccepted: 1, tasksTotal: 2 })
    // A job without a name: no name, not an empty one.
    const matmul = make({ tileSize: 2 })
    matmul.submitMatmul(matrices(4, 2, 4))
    matmul.registerContributor('w', caps)
    const tile = matmul.lease('w')!
    expect(tile.job).toEqual({ kernel: 'matmul', tasksAccepted: 0, tasksTotal: 4 })
    expect(submitHonest(matmul, 'w', tile).outcome).toBe('accepted')
    expect(matmul.lease('w')!.job.tasksAccepted).toBe(1)
  })
})
