import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError, WORK_PROTOCOL } from '@tabswarm/protocol'
import type { ContributorEvent } from '@tabswarm/sdk/contributor'
import { runHeadlessWorker } from '@tabswarm/sdk/worker'
import type { KernelHost } from '@tabswarm/worker-kernels'
import { afterEach, describe, expect, it } from 'vitest'
import { cpuMatmulRunner } from '../support/cpu-matmul-runner.ts'
import { startForeignRelay } from '../support/foreign-relay.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'

/** A CPU stand-in for the dawn host: the protocol is under test here, not the GPU. */
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
 * A relay that does not speak this build's work protocol is a refusal for good: the worker
 * stops with a `RelayRefusalError` that says which versions meet and what to update (before,
 * the negotiation failure was a relay error, retried every 30 s forever). A relay restarting
 * is still ridden out. Real libp2p on both sides.
 */
describe('a relay of another work protocol version', () => {
  const started: Libp2p[] = []
  let relay: InProcessRelay | undefined
  afterEach(async () => {
    await Promise.all(started.splice(0).map((node) => node.stop()))
    await relay?.stop()
    relay = undefined
  })

  async function workAgainst(relayNode: Libp2p) {
    started.push(relayNode)
    const node = await createNodeSwarmClient()
    started.push(node)
    const events: ContributorEvent[] = []
    const outcome = await runHeadlessWorker({
      relay: relayNode.getMultiaddrs(),
      node,
      kernelHost: cpuHost,
      signal: AbortSignal.timeout(20_000),
      onEvent: (e) => events.push(e),
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    return { err: outcome as RelayRefusalError, events }
  }

  it('an older relay: the worker stops, naming both versions', async () => {
    const { err, events } = await workAgainst(await startForeignRelay(['/tabswarm/work/1.0.0']))
    expect(err).toBeInstanceOf(RelayRefusalError)
    expect(err).toMatchObject({ code: 'WORK_PROTOCOL_UNSUPPORTED', permanent: true })
    expect(err.shortMessage).toContain(
      `the relay speaks work protocol /tabswarm/work/1.0.0; this contributor speaks ${WORK_PROTOCOL}`,
    )
    expect(events.at(-1)).toMatchObject({ type: 'refused', code: 'WORK_PROTOCOL_UNSUPPORTED' })
    // At most one retry: before identify has told the worker what the relay speaks.
    expect(events.filter((e) => e.type === 'relay-error').length).toBeLessThanOrEqual(1)
  })

  it('a relay that speaks no work protocol: the worker stops after three refusals, saying it could not learn a version', async () => {
    const { err, events } = await workAgainst(await startForeignRelay([]))
    expect(err).toMatchObject({ code: 'WORK_PROTOCOL_UNSUPPORTED', permanent: true })
    expect(err.shortMessage).toMatch(/does not say which version it speaks/)
    expect(events.filter((e) => e.type === 'relay-error')).toHaveLength(2)
  })

  it('a relay restarting is still retried: the worker carries on across restarts', async () => {
    relay = await startInProcessRelay()
    const node = await createNodeSwarmClient()
    started.push(node)
    const events: ContributorEvent[] = []
    const stop = new AbortController()
    const worker = runHeadlessWorker({
      relay: [multiaddr(relay.running.multiaddrs[0]!)],
      node,
      kernelHost: cpuHost,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    })
    const connected = () => events.filter((e) => e.type === 'connected').length
    await expect.poll(connected, { timeout: 10_000 }).toBe(1)
    for (let i = 2; i <= 3; i++) {
      await relay.restart()
      await expect.poll(connected, { timeout: 20_000, interval: 100 }).toBe(i)
    }
    stop.abort()
    await expect(worker).resolves.toMatchObject({ tasks: 0 })
    expect(events.filter((e) => e.type === 'refused')).toEqual([])
  }, 60_000)
})
