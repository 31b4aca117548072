import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import {
  encodeFrame,
  encodeLengthPrefix,
  MAX_MESSAGE_BYTES,
  sendWorkRequest,
  WORK_PROTOCOL,
  type WorkRequest,
} from '@tabswarm/protocol'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'
import { randomMatrix } from '../support/random-matrix.ts'

const signal = () => AbortSignal.timeout(20_000)

const capabilities = (description: string) => ({
  adapter: { vendor: 'cpu', architecture: '', device: '', description },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'tests/integration/work-protocol-stall',
})

/** Elements of a float32 output that fills a whole message, less room for its header. */
const HUGE_ELEMENTS = Math.floor((MAX_MESSAGE_BYTES - 4096) / 4)

/**
 * Three peers try to stall the work protocol for everyone: each takes leases, then opens
 * as many work streams as the relay allows and declares, on each, a result that fills a
 * whole message, and never sends its bytes; a fourth declares its task's true size and
 * sends nothing either. Meanwhile an honest
 * contributor must still say hello, lease, renew and return in its usual time.
 */
describe('the work protocol under peers that pin the payload budget', () => {
  let relay: InProcessRelay
  const stallers: Libp2p[] = []

  beforeAll(async () => {
    relay = await startInProcessRelay({ tileSize: 16 })
  }, 30_000)
  afterAll(async () => {
    await Promise.all(stallers.map((node) => node.stop()))
    await relay?.stop()
  })

  const relayAddr = () => multiaddr(relay.running.multiaddrs[0]!)

  function submitJob() {
    const m = 64
    const k = 32
    const n = 64
    return relay.running.coordinator.submitMatmul({
      a: randomMatrix(m, k, 1),
      b: randomMatrix(k, n, 2),
      m,
      k,
      n,
    })
  }

  /** An honest contributor's time to its first finished task (hello, lease, run, result). */
  async function honestFirstTask(): Promise<{ ms: number; events: ContributorEvent[] }> {
    const node = await createNodeSwarmClient()
    const events: ContributorEvent[] = []
    const started = performance.now()
    try {
      await runContributor({
        node,
        relay: relayAddr(),
        signal: AbortSignal.timeout(40_000),
        gflops: false,
        maxTasks: 1,
        capabilities: capabilities('honest'),
        executor: { matmul: async ({ a, b, m, k, n }) => matmulReference(a, b, m, k, n) },
        onEvent: (e) => events.push(e),
      })
    } finally {
      await node.stop()
    }
    return { ms: performance.now() - started, events }
  }

  /** One staller: hello, two leases, then both work streams held by declared, unsent results. */
  async function stall(declare: 'whole-message' | 'right-size'): Promise<void> {
    const node = await createNodeSwarmClient()
    stallers.push(node)
    const ask = async (request: WorkRequest) =>
      sendWorkRequest(
        await node.dialProtocol(relayAddr(), WORK_PROTOCOL, { signal: signal() }),
        request,
        undefined,
        { signal: signal() },
      )
    await ask({ type: 'hello', capabilities: capabilities('staller') })
    const leases: string[] = []
    for (let i = 0; i < 2; i++) {
      const { header } = await ask({ type: 'lease-request' })
      if (header.type === 'lease') leases.push(header.leaseId)
    }
    expect(leases).toHaveLength(2)
    for (const leaseId of leases) {
      const elements = declare === 'whole-message' ? HUGE_ELEMENTS : 16 * 16
      const header = encodeFrame({
        type: 'result',
        leaseId,
        outputs: [
          {
            name: 'c',
            dtype: 'float32',
            shape: [elements],
            byteOffset: 0,
            byteLength: elements * 4,
          },
        ],
        sha256: '0'.repeat(64),
        elapsedMs: 1,
      })
      const stream = await node.dialProtocol(relayAddr(), WORK_PROTOCOL, { signal: signal() })
      stream.send(encodeLengthPrefix(header.byteLength + elements * 4))
      stream.send(header)
      // ...and not one byte of the payload.
    }
  }

  it('still serves an honest contributor in its usual time', async () => {
    submitJob()
    const baseline = await honestFirstTask()
    expect(baseline.events.some((e) => e.type === 'task-finished')).toBe(true)

    // Six results of a whole message each: more than the relay's whole budget.
    await Promise.all([stall('whole-message'), stall('whole-message'), stall('whole-message')])
    // And one that declares its task's true size but never sends it either.
    await stall('right-size')
    const attacked = await honestFirstTask()
    const finished = attacked.events.find((e) => e.type === 'task-finished')
    expect(finished).toMatchObject({ type: 'task-finished', outcome: 'accepted' })
    expect(attacked.events.filter((e) => e.type === 'relay-error')).toEqual([])
    // Its usual time, give or take a loaded CI machine: not the 30-60 s of a stalled relay.
    expect(attacked.ms).toBeLessThan(baseline.ms + 5_000)

    // A declared result over its task's size is refused unread; one that never comes is cut.
    await expect
      .poll(
        () =>
          relay.log.lines
            .filter((l) => l.msg === 'protocol violation')
            .map((l) => String(l.fields.code)),
        { timeout: 15_000, interval: 200 },
      )
      .toEqual(expect.arrayContaining(['MESSAGE_TOO_LARGE', 'STREAM_IDLE']))
    console.log(
      `honest first task: ${baseline.ms.toFixed(0)} ms alone, ${attacked.ms.toFixed(0)} ms with three stallers`,
    )
  }, 90_000)
})
