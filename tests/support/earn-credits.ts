import { multiaddr } from '@multiformats/multiaddr'
import { bindWallet, runContributor } from '@tabswarm/sdk/contributor'
import type { LocalAccount } from 'viem'
import { cpuMatmulRunner } from './cpu-matmul-runner.ts'
import type { InProcessRelay } from './in-process-relay.ts'
import { createNodeSwarmClient } from './node-swarm-client.ts'
import { randomMatrix } from './random-matrix.ts'

/**
 * A small matmul job the relay's local user submits, to be computed by whoever is in the
 * swarm; resolves with its id once the job has completed (its contributors are then paid:
 * their pending credit became earned). `seed` varies the matrices.
 */
export async function completeSmallMatmul(
  relay: InProcessRelay,
  options: {
    seed?: number
    signal?: AbortSignal
    /**
     * `[m, k, n]`. The default pays 1 credit; a site's share (10%, rounded down) needs a job
     * worth 10 or more, e.g. `[256, 128, 192]` (13 credits).
     */
    shape?: [number, number, number]
  } = {},
): Promise<string> {
  const signal = options.signal ?? AbortSignal.timeout(120_000)
  const seed = options.seed ?? 1
  const [m, k, n] = options.shape ?? [16, 8, 16]
  const { coordinator } = relay.running
  const job = coordinator.submitMatmul({
    a: randomMatrix(m, k, seed),
    b: randomMatrix(k, n, seed + 1),
    m,
    k,
    n,
  })
  for (;;) {
    const { status } = await coordinator.getJob(job.id)
    if (status === 'completed') return job.id
    if (status !== 'running')
      throw new Error(`job ${job.id} ended ${status}, not completed: see the relay's log`)
    if (signal.aborted)
      throw new Error(`job ${job.id} is still ${status}: is a contributor in the swarm?`, {
        cause: signal.reason,
      })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Earns credits for `wallet` for real: a contributor in this process (real libp2p, a CPU
 * matmul runner) binds the wallet in its hello and computes a small job until it completes,
 * so the coordinator's ledger pays the wallet as it pays any contributor. Resolves with what
 * the wallet earned, in ledger credits.
 */
export async function earnCredits(
  relay: InProcessRelay,
  wallet: LocalAccount,
  options: { seed?: number; signal?: AbortSignal } = {},
): Promise<bigint> {
  const signal = options.signal ?? AbortSignal.timeout(120_000)
  const { coordinator } = relay.running
  const before = (await coordinator.account(wallet.address)).earned
  const node = await createNodeSwarmClient()
  const stop = new AbortController()
  const contributing = runContributor({
    node,
    relay: multiaddr(relay.running.multiaddrs[0]!),
    signal: AbortSignal.any([signal, stop.signal]),
    gflops: false,
    wallet: bindWallet(wallet),
    capabilities: {
      adapter: { vendor: 'cpu', architecture: '', device: '', description: 'earns credits' },
      features: [],
      limits: {},
      kernels: ['matmul'],
      agent: 'tests/support/earn-credits',
    },
    executor: cpuMatmulRunner(),
  })
  try {
    await completeSmallMatmul(relay, { ...options, signal })
  } finally {
    stop.abort(new Error('the job completed'))
    await contributing.catch(() => undefined)
    await node.stop()
  }
  const earned = (await coordinator.account(wallet.address)).earned - before
  if (earned <= 0n) throw new Error(`${wallet.address} earned nothing by computing the job`)
  return earned
}
