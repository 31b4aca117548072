import { multiaddr } from '@multiformats/multiaddr'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpuMatmulRunner } from '../support/cpu-matmul-runner.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'
import { randomMatrix } from '../support/random-matrix.ts'

/**
 * A contributor whose result the relay refuses as the wrong size for its task hears the
 * relay's code, reports the task as a task error, and takes the next task (before, the
 * refusal was a relay error: hello again, and the lease held until it expired). Real
 * libp2p, the in-process relay; the first product is one element too long or too short.
 */
describe('a result refused as malformed for its lease', () => {
  let relay: InProcessRelay
  beforeAll(async () => {
    relay = await startInProcessRelay({ tileSize: 8 })
  }, 30_000)
  afterAll(async () => {
    await relay?.stop()
  })

  it.each([
    ['MESSAGE_TOO_LARGE', 1],
    ['PAYLOAD_MISMATCH', -1],
  ] as const)(
    '%s: reported as a task error, then the next task is done',
    async (code, extra) => {
      relay.running.coordinator.submitMatmul({
        a: randomMatrix(16, 8, 5),
        b: randomMatrix(8, 16, 6),
        m: 16,
        k: 8,
        n: 16,
      })
      const node = await createNodeSwarmClient()
      const events: ContributorEvent[] = []
      let runs = 0
      try {
        const summary = await runContributor({
          node,
          relay: multiaddr(relay.running.multiaddrs[0]!),
          signal: AbortSignal.timeout(30_000),
          gflops: false,
          maxTasks: 2,
          capabilities: {
            adapter: { vendor: 'cpu', architecture: '', device: '', description: 'off by one' },
            features: [],
            limits: {},
            kernels: ['matmul'],
            agent: 'tests/integration/refused-result',
          },
          executor: cpuMatmulRunner(({ a, b, m, k, n }) => {
            const product = matmulReference(a, b, m, k, n)
            if (runs++ > 0) return product
            const wrong = new Float32Array(product.length + extra)
            wrong.set(product.subarray(0, wrong.length))
            return wrong
          }),
          onEvent: (e) => events.push(e),
        })
        expect(summary).toMatchObject({ failed: 1, tasks: 1 })
      } finally {
        await node.stop()
      }
      expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'result-refused', code, reason: expect.any(String) }),
      )
      const refusedAt = events.findIndex((e) => e.type === 'result-refused')
      expect(events.slice(refusedAt)).toContainEqual(
        expect.objectContaining({
          type: 'task-finished',
          outcome: expect.stringMatching(/accepted|pending/),
        }),
      )
      // The relay heard it as a task error carrying its own code.
      expect(
        relay.log.lines.some((l) => l.msg === 'task error reported' && l.fields.code === code),
      ).toBe(true)
    },
    60_000,
  )
})
