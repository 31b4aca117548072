import { matmulReference } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import type { Capabilities } from '../protocol/index.ts'
import { createCoordinator } from './coordinator.ts'

const caps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

function fakeClock(start = 1_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

function matrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) - 5)
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3)
  return { a, b, m, k, n }
}

function honestResult(
  grant: NonNullable<ReturnType<ReturnType<typeof createCoordinator>['lease']>>,
) {
  const [a, b] = grant.inputs
  return matmulReference(a!.data, b!.data, grant.args.m, grant.args.k, grant.args.n)
}

describe('coordinator', () => {
  it('tiles a matmul, accepts verified tiles and assembles the product', () => {
    const coordinator = createCoordinator({ tileSize: 4 })
    const spec = matrices(10, 3, 7)
    const job = coordinator.submitMatmul(spec)
    expect(job.tasks.total).toBe(3 * 2)
    coordinator.registerContributor('p1', caps)
    for (let grant = coordinator.lease('p1'); grant; grant = coordinator.lease('p1')) {
      expect(
        coordinator.submitResult('p1', grant.leaseId, honestResult(grant), [
          grant.args.m,
          grant.args.n,
        ]).outcome,
      ).toBe('accepted')
    }
    expect(coordinator.getJob(job.id).status).toBe('completed')
    expect(coordinator.jobOutput(job.id)).toEqual(matmulReference(spec.a, spec.b, 10, 3, 7))
  })

  it('rejects a wrong tile, never offers that task to the same peer again, and gives it to another', () => {
    const coordinator = createCoordinator({ tileSize: 8 })
    const job = coordinator.submitMatmul(matrices(4, 4, 4))
    const bad = coordinator.lease('saboteur')!
    const wrong = honestResult(bad)
    wrong[5]! += 1
    expect(coordinator.submitResult('saboteur', bad.leaseId, wrong, [4, 4])).toMatchObject({
      outcome: 'rejected',
    })
    expect(coordinator.lease('saboteur')).toBeUndefined()
    const good = coordinator.lease('honest')!
    expect(good.taskId).toBe(bad.taskId)
    expect(
      coordinator.submitResult('honest', good.leaseId, honestResult(good), [4, 4]).outcome,
    ).toBe('accepted')
    expect(coordinator.getJob(job.id)).toMatchObject({
      status: 'completed',
      tasks: { rejectedResults: 1 },
    })
  })

  it('rejects an output of the wrong shape without running the verifier', () => {
    let verified = 0
    const coordinator = createCoordinator({
      tileSize: 8,
      verifier: () => {
        verified++
        return { ok: true }
      },
    })
    coordinator.submitMatmul(matrices(4, 4, 4))
    const grant = coordinator.lease('p')!
    expect(coordinator.submitResult('p', grant.leaseId, new Float32Array(16), [2, 8]).outcome).toBe(
      'rejected',
    )
    expect(verified).toBe(0)
  })

  it('returns an expired lease to the queue and refuses the late result', () => {
    const clock = fakeClock()
    const coordinator = createCoordinator({ clock, leaseMs: 1_000, tileSize: 8 })
    coordinator.submitMatmul(matrices(4, 4, 4))
    const slow = coordinator.lease('slow')!
    expect(coordinator.lease('fast')).toBeUndefined()
    clock.advance(1_001)
    const fast = coordinator.lease('fast')!
    expect(fast.taskId).toBe(slow.taskId)
    expect(coordinator.submitResult('slow', slow.leaseId, honestResult(slow), [4, 4]).outcome).toBe(
      'stale',
    )
    expect(coordinator.submitResult('fast', fast.leaseId, honestResult(fast), [4, 4]).outcome).toBe(
      'accepted',
    )
  })

  it('requeues the tasks of a contributor that leaves', () => {
    const coordinator = createCoordinator({ tileSize: 8 })
    coordinator.submitMatmul(matrices(4, 4, 4))
    coordinator.registerContributor('gone', caps)
    const grant = coordinator.lease('gone')!
    coordinator.contributorLeft('gone')
    expect(coordinator.lease('other')?.taskId).toBe(grant.taskId)
  })

  it('fails a job whose task keeps failing verification', () => {
    const coordinator = createCoordinator({ tileSize: 8, maxTaskFailures: 2 })
    const job = coordinator.submitMatmul(matrices(4, 4, 4))
    for (const peer of ['s1', 's2']) {
      const grant = coordinator.lease(peer)!
      coordinator.submitResult(peer, grant.leaseId, new Float32Array(16).fill(9), [4, 4])
    }
    expect(coordinator.getJob(job.id)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/failed verification 2 times/),
    })
    expect(() => coordinator.jobOutput(job.id)).toThrow(/failed, not completed/)
  })

  it('cancels a job: its leases become stale and nothing more is handed out', () => {
    const coordinator = createCoordinator({ tileSize: 2 })
    const job = coordinator.submitMatmul(matrices(4, 4, 4))
    const grant = coordinator.lease('p')!
    const events: string[] = []
    coordinator.subscribe(job.id, (e) => events.push(e.type))
    expect(coordinator.cancel(job.id).status).toBe('cancelled')
    expect(events).toEqual(['cancelled'])
    expect(coordinator.submitResult('p', grant.leaseId, honestResult(grant), [2, 2]).outcome).toBe(
      'stale',
    )
    expect(coordinator.lease('p')).toBeUndefined()
  })

  it('refuses inconsistent job specs with a message naming the problem', () => {
    const coordinator = createCoordinator()
    expect(() => coordinator.submitMatmul({ ...matrices(2, 2, 2), m: 3 })).toThrow(
      /A has 4 elements, expected m·k = 3·2/,
    )
    expect(() => coordinator.submitMatmul({ ...matrices(2, 2, 2), n: 0 })).toThrow(
      /n must be a positive integer/,
    )
    expect(() => coordinator.getJob('missing')).toThrow(/no job with id missing/)
    const small = createCoordinator({ tileSize: 4, maxTaskInputBytes: 1024 })
    expect(() => small.submitMatmul(matrices(4, 64, 4))).toThrow(
      /k = 64 is too long: .* 2048 input bytes, max 1024/,
    )
  })
})
