import type { Verdict, WorkResponse } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import type { ContributorEvent } from './contributor-events.ts'
import { runContributor } from './contributor-loop.ts'
import { fakeInputs, matmulLease, matmulOperands, matmulRunner } from './testing/fake-work.ts'
import type { WorkChannel } from './work-channel.ts'

const capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: 'fake' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

const job = { name: 'protein folding', kernel: 'matmul' as const, tasksAccepted: 3, tasksTotal: 9 }

/**
 * A relay that leases task-1 (with its job's facts) and task-2 (without), acknowledges
 * both `pending`, and sends verdicts on the ack of task-2 and on the no-work after it.
 */
function scriptedRelay(verdicts: { onSecondAck: Verdict[]; onNoWork: Verdict[] }): WorkChannel {
  let leased = 0
  let acks = 0
  let idles = 0
  const answer = (header: WorkResponse, payload: Uint8Array = new Uint8Array()) => ({
    header,
    payload,
  })
  return {
    peerId: 'peer-test',
    relay: '/memory/relay',
    async exchange(request) {
      switch (request.type) {
        case 'hello':
          return answer({ type: 'hello-ack', peerId: 'peer-test' })
        case 'lease-request': {
          if (leased < 2) {
            const n = ++leased
            const lease = await matmulLease({
              leaseId: `lease-${n}`,
              taskId: `task-${n}`,
              expiresInMs: 60_000,
            })
            return answer(n === 1 ? { ...lease.header, job } : lease.header, lease.payload)
          }
          const due = idles++ === 0 ? verdicts.onNoWork : []
          return answer({
            type: 'no-work',
            retryAfterMs: 10,
            ...(due.length > 0 ? { verdicts: due } : {}),
          })
        }
        case 'result': {
          const due = ++acks === 2 ? verdicts.onSecondAck : []
          return answer({
            type: 'result-ack',
            leaseId: request.leaseId,
            outcome: 'pending',
            ...(due.length > 0 ? { verdicts: due } : {}),
          })
        }
        default:
          throw new Error(`unexpected ${request.type}`)
      }
    },
  }
}

describe('runContributor: job facts and verdicts', () => {
  it('puts the lease’s job on task-started, and emits one task-verdict per result it was told was pending', async () => {
    const channel = scriptedRelay({
      // task-1's verdict, one for a task never reported pending here, and task-2's own,
      // on the very ack that reports task-2 pending.
      onSecondAck: [
        { taskId: 'task-1', outcome: 'accepted' },
        { taskId: 'ghost', outcome: 'accepted' },
        { taskId: 'task-2', outcome: 'rejected' },
      ],
      // A repeat: already decided, so ignored.
      onNoWork: [{ taskId: 'task-2', outcome: 'accepted' }],
    })
    const stop = new AbortController()
    const events: ContributorEvent[] = []
    let idles = 0
    const summary = await runContributor({
      channel,
      inputs: fakeInputs(matmulOperands).source,
      capabilities,
      executor: matmulRunner(async () => new Float32Array([6])),
      gflops: false,
      signal: stop.signal,
      onEvent: (event) => {
        events.push(event)
        if (event.type === 'idle' && ++idles === 2) stop.abort()
      },
    })
    const told = events.filter((e) =>
      ['task-started', 'task-finished', 'task-verdict'].includes(e.type),
    )
    expect(told).toEqual([
      { type: 'task-started', taskId: 'task-1', jobId: 'job-1', flops: 2, job },
      expect.objectContaining({ type: 'task-finished', taskId: 'task-1', outcome: 'pending' }),
      { type: 'task-started', taskId: 'task-2', jobId: 'job-1', flops: 2 },
      expect.objectContaining({ type: 'task-finished', taskId: 'task-2', outcome: 'pending' }),
      { type: 'task-verdict', taskId: 'task-1', outcome: 'accepted' },
      { type: 'task-verdict', taskId: 'task-2', outcome: 'rejected' },
    ])
    expect(summary).toMatchObject({ tasks: 2, accepted: 1, rejected: 1 })
  })

  it('takes verdicts from a no-work answer too', async () => {
    const channel = scriptedRelay({
      onSecondAck: [],
      onNoWork: [
        { taskId: 'task-2', outcome: 'accepted' },
        { taskId: 'task-1', outcome: 'rejected' },
      ],
    })
    const stop = new AbortController()
    const events: ContributorEvent[] = []
    await runContributor({
      channel,
      inputs: fakeInputs(matmulOperands).source,
      capabilities,
      executor: matmulRunner(async () => new Float32Array([6])),
      gflops: false,
      signal: stop.signal,
      onEvent: (event) => {
        events.push(event)
        if (event.type === 'idle') stop.abort()
      },
    })
    expect(events.filter((e) => e.type === 'task-verdict')).toEqual([
      { type: 'task-verdict', taskId: 'task-2', outcome: 'accepted' },
      { type: 'task-verdict', taskId: 'task-1', outcome: 'rejected' },
    ])
  })
})
