import { describe, expect, it } from 'vitest'
import type { Replica } from '../jobs/job-runtime.ts'
import { createResultVerifier } from './result-verifier.ts'
import { cpuReferenceVerifier } from './tile-verifier.ts'

const verifier = createResultVerifier({
  random: () => 0.5,
  recompute: cpuReferenceVerifier,
  freivaldsRounds: 2,
  newcomerSpotChecks: 1,
  spotCheckRate: 0,
  spotCheckFlops: 2e8,
  targetErrorRate: 1e-4,
  maxReplicas: 4,
})

const replica = (peerId: string, value: number): Replica => ({
  leaseId: `lease-${peerId}`,
  peerId,
  payee: `peer:${peerId}`,
  outputs: [
    { shape: [1], dtype: 'float32', bytes: new Uint8Array(new Float32Array([value]).buffer) },
  ],
})
const newcomer = () => 0.8

describe('result verifier: votes', () => {
  it('by default accepts two agreeing contributors who outnumber the rest, and names the odd one out', () => {
    expect(verifier.vote([replica('a', 1)], {}, newcomer)).toEqual({
      kind: 'pending',
      exhausted: false,
    })
    const split = verifier.vote([replica('a', 1), replica('b', 2)], {}, newcomer)
    expect(split.kind).toBe('pending')
    const verdict = verifier.vote([replica('a', 1), replica('b', 2), replica('c', 1)], {}, newcomer)
    expect(verdict).toMatchObject({ kind: 'accept', method: 'replication' })
    if (verdict.kind !== 'accept') return
    expect(verdict.winners.map((r) => r.peerId)).toEqual(['a', 'c'])
    expect(verdict.losers.map((r) => r.peerId)).toEqual(['b'])
  })

  it('accepts one credible enough alone ("trusted"), and with maxErrorRate only on credibility', () => {
    expect(verifier.vote([replica('v', 1)], {}, () => 0.99999)).toMatchObject({
      kind: 'accept',
      method: 'trusted',
    })
    const pair = [replica('a', 1), replica('b', 1)]
    expect(verifier.vote(pair, { maxErrorRate: 1e-4 }, newcomer).kind).toBe('pending')
    expect(verifier.vote(pair, { replication: 3 }, newcomer).kind).toBe('pending')
    expect(verifier.vote([...pair, replica('c', 1)], { replication: 3 }, newcomer).kind).toBe(
      'accept',
    )
  })

  it('gives up a round at maxReplicas without agreement', () => {
    const all = ['a', 'b', 'c', 'd'].map((p, i) => replica(p, i))
    expect(verifier.vote(all, {}, newcomer)).toEqual({
      kind: 'pending',
      exhausted: true,
      reason: 'no credible agreement among 4 results',
    })
  })
})
