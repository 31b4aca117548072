import type { JobSpec } from '@tabswarm/protocol'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator/coordinator.ts'
import {
  createDecoderContributor,
  type DecoderContributor,
} from '../coordinator/inference/testing/decoder-contributor.ts'
import { make } from '../coordinator/testing/coordinator-fixture.ts'
import { createLeaseLongPoll } from './lease-long-poll.ts'

const model = createTestModel({ family: 'llama', layers: 4, maxPositions: 32 })
const open = () => new AbortController().signal

/**
 * A two-stage pipeline of one prompt in which `a` holds stage 0 and `b` stage 1, after the
 * first step: `a`'s next step (stage 0) is queued, `b` has nothing to do until it is accepted.
 */
async function pipeline(stageHoldMs: number) {
  const blobs = createMemoryBlobStore()
  const c = make({ blobs, stageHoldMs })
  const a = await createDecoderContributor(c)
  const b = await createDecoderContributor(c)
  const spec: JobSpec = {
    kernel: 'inference',
    model: {
      name: 'test',
      config: model.config,
      files: [{ blob: blobs.put(model.safetensors).hash }],
    },
    mode: 'pipeline',
    stages: 2,
    prompts: [[5, 17, 42, 9]],
    maxNewTokens: 5,
    stop: [],
    verification: { replication: 1, spotCheck: 1 },
  }
  await c.submit(spec, { account: 'r' })
  expect(await a.step()).toBeDefined()
  expect(await b.step()).toBeDefined()
  expect(await b.step()).toBeUndefined()
  expect(c.retryAfterMs(b.peerId)).toBeDefined()
  return { c, a, b }
}

/** Times `c.submitResult`'s returns and counts `c.lease` calls, per peer. */
function watch(c: Coordinator) {
  const seen = { submittedAt: 0, leases: new Map<string, number>() }
  const { submitResult, lease } = c
  c.submitResult = (...args) => {
    const outcome = submitResult(...args)
    seen.submittedAt = performance.now()
    return outcome
  }
  c.lease = (peerId, holds) => {
    seen.leases.set(peerId, (seen.leases.get(peerId) ?? 0) + 1)
    return lease(peerId, holds)
  }
  return seen
}

const stagesOf = async (peer: DecoderContributor) => (await peer.step())?.grant.program

describe('a pipeline stage holder’s held lease request', () => {
  it('is answered with its step as soon as the stage before it is accepted, from one request', async () => {
    const { c, a, b } = await pipeline(1_000_000)
    const seen = watch(c)
    const poll = createLeaseLongPoll({ coordinator: c, maxWaitMs: 5_000 })
    let answeredAt = 0
    const held = poll.lease(b.peerId, undefined, open).then((grant) => {
      answeredAt = performance.now()
      return grant
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(answeredAt).toBe(0)
    // `a` runs stage 0 of step 1: its acceptance queues `b`'s stage 1.
    expect(await stagesOf(a)).toMatchObject({ kind: 'decoder-stage', start: 4 })
    const grant = await held
    expect(grant?.program).toMatchObject({ kind: 'decoder-stage', start: 4, rows: 1 })
    const latency = answeredAt - seen.submittedAt
    expect(latency).toBeGreaterThanOrEqual(0)
    // The old answer was a poll every 20 ms: the held request is answered in microtasks.
    expect(latency).toBeLessThan(10)
    // Leased on the ready signal: one look when the request came, one when the step was queued.
    expect(seen.leases.get(b.peerId)).toBe(2)
    c.close()
  })

  it('answers nothing once its wait is up, when no step came', async () => {
    const { c, b } = await pipeline(1_000_000)
    const poll = createLeaseLongPoll({ coordinator: c, maxWaitMs: 150 })
    const started = performance.now()
    expect(await poll.lease(b.peerId, undefined, open)).toBeUndefined()
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(145)
    expect(waited).toBeLessThan(1_000)
    c.close()
  })

  it('is let go at once when its request ends, the service stops or the peer asks again', async () => {
    const { c, b } = await pipeline(1_000_000)
    const poll = createLeaseLongPoll({ coordinator: c, maxWaitMs: 10_000 })
    const timed = async (answer: Promise<unknown>) => {
      const started = performance.now()
      expect(await answer).toBeUndefined()
      return performance.now() - started
    }

    const request = new AbortController()
    const aborted = poll.lease(b.peerId, undefined, () => request.signal)
    request.abort()
    expect(await timed(aborted)).toBeLessThan(50)

    // A second request of the same peer ends the first one's wait; it waits in its place.
    const first = poll.lease(b.peerId, undefined, open)
    const second = poll.lease(b.peerId, undefined, open)
    expect(await timed(first)).toBeLessThan(50)

    poll.stop()
    expect(await timed(second)).toBeLessThan(50)
    // Stopped: nobody waits any more.
    expect(await timed(poll.lease(b.peerId, undefined, open))).toBeLessThan(50)
    c.close()
  })

  it('wakes when a stage’s hold ends, so another peer takes the step its holder left waiting', async () => {
    const { c, b } = await pipeline(300)
    const poll = createLeaseLongPoll({ coordinator: c, maxWaitMs: 5_000 })
    const started = performance.now()
    // `a` never asks: its step (stage 0) is held for it until the hold ends, then is `b`'s.
    const grant = await poll.lease(b.peerId, undefined, open)
    expect(grant?.program).toMatchObject({ kind: 'decoder-stage', start: 4 })
    expect(performance.now() - started).toBeLessThan(1_000)
    c.close()
  })

  it('does not wait for a peer that holds no stage: it is answered at once', async () => {
    const { c } = await pipeline(1_000_000)
    const idle = await createDecoderContributor(c)
    const poll = createLeaseLongPoll({ coordinator: c, maxWaitMs: 5_000 })
    let asked = 0
    const started = performance.now()
    expect(
      await poll.lease(idle.peerId, undefined, () => {
        asked++
        return open()
      }),
    ).toBeUndefined()
    expect(performance.now() - started).toBeLessThan(50)
    // Nothing was set up for it: no signal was even made.
    expect(asked).toBe(0)
    c.close()
  })
})
