import { multiaddr } from '@multiformats/multiaddr'
import type { Capabilities } from '@tabswarm/protocol'
import {
  type ContributorEvent,
  type ContributorSummary,
  delay,
  runContributor,
} from '@tabswarm/sdk/contributor'
import { matmulReference } from '@tabswarm/worker-kernels'
import { cpuMatmulRunner } from '../../tests/support/cpu-matmul-runner.ts'
import { createNodeSwarmClient } from '../../tests/support/node-swarm-client.ts'

/** What a simulated contributor returns for a tile, given the right product. */
export type TileAnswer = (
  right: Float32Array,
  tile: { a: Float32Array; b: Float32Array; m: number; k: number; n: number },
) => Float32Array | Promise<Float32Array>

export const honestAnswer: TileAnswer = (right) => right

export interface SimContributor {
  peerId: string
  events: ContributorEvent[]
  /** True between a task's start and its end. */
  busy(): boolean
  /** Leaves at once: the task in flight is aborted and its lease handed back (a tab closing). */
  stop(): Promise<ContributorSummary | undefined>
  /** Leaves without a word: the connection drops, nothing is handed back (a crash, a lost link). */
  vanish(): Promise<void>
}

const SIM_CAPABILITIES: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'cpu', device: '', description: 'simulated (CPU)' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'bench/reliability sim-contributor',
}

/**
 * A CPU-only contributor that runs the real contributor loop over a real libp2p connection
 * to the relay: honest with `honestAnswer`, a saboteur with any other `answer`. Adds volume
 * to the suites without a GPU process per contributor.
 */
export async function startSimContributor(options: {
  relayAddr: string
  answer?: TileAnswer
  /** Simulated compute time of one tile, drawn per task. @default none */
  taskMs?: () => number
  /** Longest wait between retries while the relay is down. @default 1_000 */
  maxBackoffMs?: number
  label?: string
}): Promise<SimContributor> {
  const node = await createNodeSwarmClient()
  const controller = new AbortController()
  const events: ContributorEvent[] = []
  const answer = options.answer ?? honestAnswer
  let inFlight = 0
  const done = runContributor({
    // Inputs come from the relay's blob protocol (the loop's default with `node` and `relay`).
    node,
    relay: multiaddr(options.relayAddr),
    signal: controller.signal,
    capabilities: { ...SIM_CAPABILITIES, agent: options.label ?? SIM_CAPABILITIES.agent },
    gflops: false,
    maxBackoffMs: options.maxBackoffMs ?? 1_000,
    requestTimeoutMs: 10_000,
    executor: cpuMatmulRunner(async (operands, { signal }) => {
      inFlight++
      try {
        if (options.taskMs != null) await delay(options.taskMs(), signal)
        const { a, b, m, k, n } = operands
        return await answer(matmulReference(a, b, m, k, n), operands)
      } finally {
        inFlight--
      }
    }),
    onEvent: (event) => events.push(event),
  }).catch(() => undefined)
  let stopped = false
  return {
    peerId: node.peerId.toString(),
    events,
    busy: () => {
      const last = events.findLast((e) => e.type === 'task-started' || e.type === 'task-finished')
      return inFlight > 0 || last?.type === 'task-started'
    },
    async stop() {
      if (stopped) return undefined
      stopped = true
      controller.abort()
      const summary = await done
      await node.stop()
      return summary
    },
    async vanish() {
      if (stopped) return
      stopped = true
      // The node goes first, so the loop cannot hand anything back.
      await node.stop()
      controller.abort()
      await done
    },
  }
}
