import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError } from '@tabswarm/protocol'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { runHeadlessWorker } from '@tabswarm/sdk/worker'
import type { KernelHost } from '@tabswarm/worker-kernels'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpuMatmulRunner } from '../support/cpu-matmul-runner.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startSaboteur } from '../support/saboteur.ts'

/** A CPU stand-in for the dawn host: right products, for the honest side of the swarm. */
const cpuHost = {
  info: {
    vendor: 'cpu',
    architecture: '',
    device: '',
    description: 'cpu stand-in',
    features: [],
    limits: {},
  },
  ...cpuMatmulRunner(),
  destroy() {},
} as unknown as KernelHost

/**
 * A contributor the relay bans (for wrong results) hears why, as a typed refusal with the
 * relay's code, and stops: it neither polls for work that will never come nor says hello
 * every 30 s forever. Real libp2p, the in-process relay.
 */
describe('a banned contributor', () => {
  let relay: InProcessRelay
  beforeAll(async () => {
    relay = await startInProcessRelay({ tileSize: 8 })
  }, 30_000)
  afterAll(async () => {
    await relay?.stop()
  })

  it('stops with the relay’s reason, mid-session and at its next hello', async () => {
    relay.running.coordinator.submitMatmul({
      a: randomMatrix(64, 16, 3),
      b: randomMatrix(16, 64, 4),
      m: 64,
      k: 16,
      n: 64,
    })
    const saboteur = await startSaboteur(relay.running.multiaddrs[0]!)
    // Banned after its second wrong tile; its next lease request is refused, and it stops.
    await Promise.race([
      saboteur.done,
      new Promise((_, reject) => setTimeout(() => reject(new Error('still running')), 30_000)),
    ])
    expect(saboteur.refusal).toBeInstanceOf(RelayRefusalError)
    expect(saboteur.refusal).toMatchObject({ code: 'CONTRIBUTOR_BANNED', permanent: true })
    expect(saboteur.events.at(-1)).toMatchObject({ type: 'refused', code: 'CONTRIBUTOR_BANNED' })

    // The same peer as a headless worker: refused at hello, once, and the worker ends.
    const events: ContributorEvent[] = []
    const worker = runHeadlessWorker({
      relay: [multiaddr(relay.running.multiaddrs[0]!)],
      node: saboteur.node,
      kernelHost: cpuHost,
      signal: AbortSignal.timeout(20_000),
      onEvent: (e) => events.push(e),
    })
    await expect(worker).rejects.toMatchObject({
      name: 'RelayRefusalError',
      code: 'CONTRIBUTOR_BANNED',
      request: 'hello',
      permanent: true,
    })
    expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
    await saboteur.stop()

    // An honest newcomer is not affected.
    const node = await createNodeSwarmClient()
    try {
      const summary = await runContributor({
        node,
        relay: multiaddr(relay.running.multiaddrs[0]!),
        signal: AbortSignal.timeout(20_000),
        gflops: false,
        maxTasks: 1,
        capabilities: {
          adapter: { vendor: 'cpu', architecture: '', device: '', description: 'honest' },
          features: [],
          limits: {},
          kernels: ['matmul'],
          agent: 'tests/integration/banned-contributor',
        },
        executor: cpuHost,
      })
      expect(summary.tasks).toBe(1)
    } finally {
      await node.stop()
    }
  }, 90_000)
})
