import type { VerificationPolicy } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator.ts'
import type { LeaseGrant } from '../coordinator-api.ts'
import { caps, make } from '../testing/coordinator-fixture.ts'

// Verdicts of results acknowledged `pending`: decided later, queued for their contributor,
// and taken for its next answer, once each.

const program = {
  wgsl: '@compute @workgroup_size(1) fn main() {}',
  inputs: [{ name: 'x', dtype: 'float32' as const }],
  outputs: [{ name: 'y', dtype: 'float32' as const }],
}
const f32 = (value: number) => new Uint8Array(new Float32Array([value]).buffer)

async function customJob(c: Coordinator, blobs: BlobStore, verification: VerificationPolicy) {
  return c.submit(
    {
      kernel: 'custom',
      name: 'verdicts',
      program,
      tasks: [
        {
          inputs: [{ blob: blobs.put(f32(1)).hash, dtype: 'float32', shape: [1] }],
          outputs: [{ shape: [1], dtype: 'float32' }],
          workgroups: [1, 1, 1],
        },
      ],
      verification: { canaries: 0, ...verification },
    },
    { account: 'r' },
  )
}

/** A coordinator with one custom job and contributors at distinct addresses. */
async function setup(verification: VerificationPolicy, peers: string[], maxReplicas = 8) {
  const blobs = createMemoryBlobStore()
  const c = make({ blobs, maxReplicas })
  const job = await customJob(c, blobs, verification)
  peers.forEach((peer, i) => {
    c.registerContributor(peer, { capabilities: caps, address: `10.0.0.${i + 1}` })
  })
  const submit = (peer: string, grant: LeaseGrant, value: number) =>
    c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes: f32(value) }])
  return { c, job, submit }
}

describe('coordinator: verdicts of pending results', () => {
  it('tells the first contributor `accepted` once a second replica agrees, and the second nothing more', async () => {
    const { c, submit } = await setup({}, ['a', 'b'])
    const first = c.lease('a')!
    expect(submit('a', first, 2).outcome).toBe('pending')
    expect(c.takeVerdicts('a', 64)).toEqual([])
    const second = c.lease('b')!
    expect(second.taskId).toBe(first.taskId)
    expect(submit('b', second, 2).outcome).toBe('accepted')
    expect(c.takeVerdicts('a', 64)).toEqual([{ taskId: first.taskId, outcome: 'accepted' }])
    // Taken once: the next answer carries none.
    expect(c.takeVerdicts('a', 64)).toEqual([])
    // The second heard `accepted` in its own acknowledgement.
    expect(c.takeVerdicts('b', 64)).toEqual([])
  })

  it('tells an outvoted contributor `rejected`, and the agreeing ones `accepted`', async () => {
    const { c, job, submit } = await setup({ replication: 2 }, ['a', 'cheat', 'b'])
    const first = c.lease('a')!
    expect(submit('a', first, 2).outcome).toBe('pending')
    expect(submit('cheat', c.lease('cheat')!, 9).outcome).toBe('pending')
    expect(submit('b', c.lease('b')!, 2).outcome).toBe('accepted')
    expect(c.takeVerdicts('a', 64)).toEqual([{ taskId: first.taskId, outcome: 'accepted' }])
    expect(c.takeVerdicts('cheat', 64)).toEqual([{ taskId: first.taskId, outcome: 'rejected' }])
    expect(c.takeVerdicts('b', 64)).toEqual([])
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect((await c.account('peer:cheat')).earned).toBe(0n)
  })

  it('tells every contributor of a round that ends without agreement `rejected`', async () => {
    const { c, submit } = await setup({ replication: 2 }, ['a', 'b'], 2)
    const first = c.lease('a')!
    expect(submit('a', first, 1).outcome).toBe('pending')
    const second = c.lease('b')!
    const answer = submit('b', second, 2)
    // Its own acknowledgement says the round ended; its verdict follows with the others'.
    expect(answer).toMatchObject({ outcome: 'pending', reason: /no 2 credible agreement/ })
    expect(c.takeVerdicts('a', 64)).toEqual([{ taskId: first.taskId, outcome: 'rejected' }])
    expect(c.takeVerdicts('b', 64)).toEqual([{ taskId: first.taskId, outcome: 'rejected' }])
  })

  it('tells a contributor `rejected` when the job ends before its result is agreed, and forgets a peer that left', async () => {
    const { c, job, submit } = await setup({ replication: 3 }, ['a', 'b'])
    const first = c.lease('a')!
    expect(submit('a', first, 2).outcome).toBe('pending')
    expect(submit('b', c.lease('b')!, 2).outcome).toBe('pending')
    c.contributorLeft('b')
    await c.cancel(job.id)
    expect(c.takeVerdicts('a', 64)).toEqual([{ taskId: first.taskId, outcome: 'rejected' }])
    expect(c.takeVerdicts('b', 64)).toEqual([])
  })
})
