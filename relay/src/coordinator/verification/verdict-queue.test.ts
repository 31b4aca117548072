import { describe, expect, it } from 'vitest'
import { createVerdictQueue, decideReplicas } from './verdict-queue.ts'

describe('verdict queue', () => {
  it('keeps verdicts per online peer, oldest first, and hands out at most `max` per take', () => {
    const online = new Set(['a', 'b'])
    const q = createVerdictQueue({ online: (p) => online.has(p) })
    q.decide('a', 't1', 'accepted')
    q.decide('b', 't2', 'rejected')
    q.decide('a', 't3', 'rejected')
    q.decide('gone', 't4', 'accepted')
    expect(q.take('a', 1)).toEqual([{ taskId: 't1', outcome: 'accepted' }])
    expect(q.take('a', 64)).toEqual([{ taskId: 't3', outcome: 'rejected' }])
    expect(q.take('a', 64)).toEqual([])
    // A peer that is not online has nothing kept for it.
    expect(q.take('gone', 64)).toEqual([])
    q.forget('b')
    expect(q.take('b', 64)).toEqual([])
    expect(q.dropped).toBe(0)
  })

  it('drops the oldest past its cap, and counts them', () => {
    const q = createVerdictQueue({ online: () => true, maxPerPeer: 3 })
    for (let i = 0; i < 5; i++) q.decide('a', `t${i}`, 'accepted')
    expect(q.dropped).toBe(2)
    expect(q.take('a', 64).map((v) => v.taskId)).toEqual(['t2', 't3', 't4'])
  })

  it('owes no verdict to a reopened trusted answer, nor to whoever `outcome` skips', () => {
    const q = createVerdictQueue({ online: () => true })
    const replica = (peerId: string, reopened?: true) => ({
      leaseId: `l-${peerId}`,
      peerId,
      payee: `peer:${peerId}`,
      outputs: [],
      ...(reopened ? { reopened } : {}),
    })
    decideReplicas(q, 't', [replica('a'), replica('b', true), replica('c')], (r) =>
      r.peerId === 'c' ? undefined : 'accepted',
    )
    expect(q.take('a', 64)).toEqual([{ taskId: 't', outcome: 'accepted' }])
    expect(q.take('b', 64)).toEqual([])
    expect(q.take('c', 64)).toEqual([])
  })
})
