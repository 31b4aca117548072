import type { CustomJobSpec, JobView } from '@tabswarm/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator.ts'
import type { JobEvent } from '../coordinator-api.ts'
import { caps, make, matrices } from '../testing/coordinator-fixture.ts'

// What a running job waits for (`JobView.waiting`), worked out by a real coordinator from
// the contributors online, their devices, the leases and the replicas; and the progress
// event its listeners get when that changes.

const f32 = (value: number) => new Uint8Array(new Float32Array([value]).buffer)

/** A custom job of `tasks` one-element tasks under the default policy: newcomers' results are voted on. */
function customSpec(blobs: BlobStore, tasks: number): CustomJobSpec {
  return {
    kernel: 'custom',
    program: {
      wgsl: '@compute @workgroup_size(1) fn main() {}',
      inputs: [{ name: 'x', dtype: 'float32' }],
      outputs: [{ name: 'y', dtype: 'float32' }],
    },
    tasks: Array.from({ length: tasks }, (_, i) => ({
      inputs: [{ blob: blobs.put(f32(i)).hash, dtype: 'float32' as const, shape: [1] }],
      outputs: [{ shape: [1], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    })),
    verification: { canaries: 0 },
  }
}

const coordinators: Coordinator[] = []
afterEach(() => {
  for (const c of coordinators.splice(0)) c.close()
})

function open(options: Parameters<typeof make>[0] = {}) {
  const blobs = createMemoryBlobStore()
  const c = make({ blobs, tileSize: 2, ...options })
  coordinators.push(c)
  return { c, blobs }
}

const waitingOf = async (c: Coordinator, id: string) => (await c.getJob(id)).waiting

describe('coordinator: what a running job waits for', () => {
  it('no contributors online: says so, for every unfinished task', async () => {
    const { c } = open()
    const job = c.submitMatmul(matrices(4, 2, 4))
    expect(job.tasks.total).toBe(4)
    // Told at submit, and on every read after.
    expect(job.waiting?.reason).toBe('no-contributors')
    expect(await waitingOf(c, job.id)).toEqual({
      reason: 'no-contributors',
      tasks: 4,
      contributorsOnline: 0,
      message: 'no contributors online; the job waits for one to join',
    })
    // A finished job waits for nothing.
    const cancelled = await c.cancel(job.id)
    expect(cancelled.waiting).toBeUndefined()
    expect(await waitingOf(c, job.id)).toBeUndefined()
  })

  it('one contributor and a custom job needing two agreeing newcomers: a second opinion nobody may give', async () => {
    const { c, blobs } = open()
    const job = await c.submit(customSpec(blobs, 3), { account: 'r' })
    c.registerContributor('only', { capabilities: caps, address: '10.0.0.1' })
    for (let i = 0; i < 3; i++) {
      const grant = c.lease('only')!
      const out = c.submitResult('only', grant.leaseId, [
        { shape: [1], dtype: 'float32', bytes: f32(7) },
      ])
      expect(out.outcome).toBe('pending')
    }
    // Its own replicas are all it could run: nothing more for it.
    expect(c.lease('only')).toBeUndefined()
    const view = await c.getJob(job.id)
    expect(view.tasks.accepted).toBe(0)
    expect(view.waiting).toEqual({
      reason: 'second-opinion',
      tasks: 3,
      contributorsOnline: 1,
      message:
        '3 tasks await a second opinion from a different contributor (results from newcomers are checked by replication); 1 contributor online, who computed them',
    })
    // A second contributor joins: it may give them, so the job is no longer stalled.
    c.registerContributor('second', { capabilities: caps, address: '10.0.0.2' })
    expect((await waitingOf(c, job.id))?.reason).toBe('computing')
    const grant = c.lease('second')!
    expect(await waitingOf(c, job.id)).toMatchObject({
      reason: 'computing',
      tasks: 1,
      contributorsOnline: 2,
      message: '1 task being computed by 1 contributor',
    })
    c.submitResult('second', grant.leaseId, [{ shape: [1], dtype: 'float32', bytes: f32(7) }])
    expect((await c.getJob(job.id)).tasks.accepted).toBe(1)
  })

  it('contributors whose devices cannot run the job: no capable contributors, naming why', async () => {
    const { c, blobs } = open()
    const job = await c.submit(customSpec(blobs, 2), { account: 'r' })
    c.registerContributor('opted-out', { ...caps, kernels: ['matmul'] })
    c.registerContributor('small', { ...caps, memoryCapBytes: 4 })
    expect(c.lease('opted-out')).toBeUndefined()
    expect(c.lease('small')).toBeUndefined()
    expect(await waitingOf(c, job.id)).toEqual({
      reason: 'no-capable-contributors',
      tasks: 2,
      contributorsOnline: 2,
      message:
        "2 contributors online, none of whom can run this job's tasks (does not run custom kernels); the job waits for one that can",
    })
  })

  it('contributors all busy with a higher-priority job: contributors busy', async () => {
    const { c } = open()
    const urgent = c.submitMatmul(matrices(2, 2, 2))
    c.registerContributor('p1', caps)
    const grant = c.lease('p1')!
    expect(grant.jobId).toBe(urgent.id)
    const later = c.submitMatmul(matrices(4, 2, 4))
    expect(await waitingOf(c, later.id)).toEqual({
      reason: 'contributors-busy',
      tasks: 4,
      contributorsOnline: 1,
      message: '1 contributor online, busy with other jobs',
    })
    expect(await waitingOf(c, urgent.id)).toMatchObject({
      reason: 'computing',
      tasks: 1,
      message: '1 task being computed by 1 contributor',
    })
    // An incapable contributor beside it changes nothing but the count.
    c.registerContributor('no-matmul', { ...caps, kernels: ['custom'] })
    expect(await waitingOf(c, later.id)).toMatchObject({
      reason: 'contributors-busy',
      contributorsOnline: 2,
      message: '2 contributors online; the one who can run this job is busy with other jobs',
    })
  })

  it('tasks leased: computing, counting the tasks and the contributors on them', async () => {
    const { c } = open()
    const job = c.submitMatmul(matrices(4, 2, 4))
    for (const peer of ['a', 'b']) c.registerContributor(peer, caps)
    expect(await waitingOf(c, job.id)).toMatchObject({
      reason: 'computing',
      tasks: 0,
      message: '4 tasks queued for 2 contributors online who can run them',
    })
    c.lease('a')
    c.lease('a')
    c.lease('b')
    expect(await waitingOf(c, job.id)).toEqual({
      reason: 'computing',
      tasks: 3,
      contributorsOnline: 2,
      message: '3 tasks being computed by 2 contributors',
    })
    // Listed jobs carry it too.
    const [listed] = (await c.listJobs({ idPrefix: job.id })).jobs
    expect(listed?.waiting?.message).toBe('3 tasks being computed by 2 contributors')
  })

  it('sends a progress event when what the job waits for changes, and none while it does not', async () => {
    const { c } = open({ watchIntervalMs: 10 })
    const job = c.submitMatmul(matrices(4, 2, 4))
    const seen: JobView[] = []
    c.subscribe(job.id, (event: JobEvent) => {
      if (event.type === 'progress') seen.push(event.job)
    })
    // Nothing changes: no event, however many looks.
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(seen).toEqual([])

    c.registerContributor('p1', caps)
    c.lease('p1')
    await expect.poll(() => seen.at(-1)?.waiting?.reason, { timeout: 2_000 }).toBe('computing')
    expect(seen.at(-1)?.waiting).toMatchObject({ tasks: 1, contributorsOnline: 1 })
    const told = seen.length
    // One look per change, not one per look: the state holds still, so does the stream.
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(seen.length).toBe(told)
    c.contributorLeft('p1')
    await expect
      .poll(() => seen.at(-1)?.waiting?.reason, { timeout: 2_000 })
      .toBe('no-contributors')
  })
})
